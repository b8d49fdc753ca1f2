#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string_type.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "http/errors.hpp"
#include "http/http.hpp"

namespace vwr::server {

// What the server answers a request it cannot read, before closing the connection.
struct ReadRefusal {
  http::ApiError error;
  std::string message;  // no client-supplied text: safe to log as it is
};

// One HTTP/1.1 request off the wire: Beast's request parser with the listener's limits, and the
// rules Beast leaves to its user.
//
// - Every byte of a request that is not body data counts against header_limit_bytes: the
//   request line and header fields, the chunk extensions of all its chunks and its trailer
//   fields, together (431). Body data counts against body_limit_bytes (413). Beast holds an
//   unfinished chunk-size line, or an unfinished trailer section, in the caller's buffer until
//   its end comes, however long that is; Put() does not wait for more once such a part alone
//   is over header_limit_bytes. So a request never makes a connection keep more than
//   header_limit_bytes of it, plus what one read brings.
// - Framing that a proxy in front and this server could read two ways is refused (400): a
//   Transfer-Encoding other than just "chunked" (RFC 9112 6.3; Beast would read such a request
//   as having no body, and its body as the next request), more than one Transfer-Encoding
//   field, Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1), and Transfer-Encoding together with
//   Content-Length (which Beast refuses itself).
// - Trailer fields are counted and dropped, never merged into the header fields (RFC 9110
//   6.5.1): what a handler sees is what came before the body, where a proxy in front checked it.
//
// One per request, fed by one connection's thread; neither copied nor moved (Beast keeps a
// reference to the chunk-header callback inside).
class RequestParser {
 public:
  RequestParser(std::size_t header_limit_bytes, std::size_t body_limit_bytes);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses from `unparsed`, every byte the caller holds that no earlier call used; returns how
  // many it used (the caller drops them and keeps the rest for the next call). `ec`:
  // http::error::need_more when the request needs bytes still to come; another error when the
  // request is refused (Refusal() says how to answer); clear when is_done() or when the caller
  // is to call again with the rest.
  std::size_t Put(boost::asio::const_buffer unparsed, boost::beast::error_code& ec);

  // How to answer the error `ec` that Put() set (not need_more).
  ReadRefusal Refusal(boost::beast::error_code ec) const;

  bool got_some() const { return parser_.got_some(); }
  bool is_header_done() const { return parser_.is_header_done(); }
  bool is_done() const { return parser_.is_done(); }
  http::Request& get() { return parser_.get(); }
  const http::Request& get() const { return parser_.get(); }

 private:
  // The request's head is in: refuses framing it could be read two ways by.
  void CheckFraming(boost::beast::error_code& ec);
  // Counts a chunk's extensions; Beast calls it once per chunk-size line, the last one too.
  void OnChunkHeader(std::uint64_t size, boost::beast::string_view extensions,
                     boost::beast::error_code& ec);
  // The chunked body is in: counts its trailer fields and removes them from the request.
  void DropTrailer(boost::beast::error_code& ec);

  const std::size_t header_limit_bytes_;
  const std::size_t body_limit_bytes_;
  std::size_t used_bytes_ = 0;      // everything Put() used so far
  std::size_t non_body_bytes_ = 0;  // head, chunk extensions, trailer fields, so far
  // The header fields' elements, in address order, to tell trailer fields from them: Beast
  // inserts a trailer field next to a header field of the same name. Chunked requests only.
  std::vector<const void*> header_fields_;
  const char* framing_error_ = nullptr;  // why CheckFraming refused the request
  // Beast keeps a reference to this (it must outlive parser_, so it comes first).
  struct ChunkHeaderCallback {
    RequestParser* parser;
    void operator()(std::uint64_t size, boost::beast::string_view extensions,
                    boost::beast::error_code& ec) const {
      parser->OnChunkHeader(size, extensions, ec);
    }
  } on_chunk_header_{this};
  // Its fields' memory is recycled (http::Fields): see the comment there.
  boost::beast::http::request_parser<boost::beast::http::string_body, http::Fields::allocator_type>
      parser_;
};

}  // namespace vwr::server
