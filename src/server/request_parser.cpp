#include "server/request_parser.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <functional>
#include <iterator>
#include <string_view>

namespace vwr::server {

namespace beast = boost::beast;

namespace {

// A Transfer-Encoding field value that is the chunked coding and nothing else.
bool IsChunkedAlone(std::string_view value) {
  constexpr std::string_view kSpace = " \t";
  const std::size_t first = value.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return false;
  value = value.substr(first, value.find_last_not_of(kSpace) - first + 1);
  return beast::iequals(value, "chunked");
}

}  // namespace

RequestParser::RequestParser(std::size_t header_limit_bytes, std::size_t body_limit_bytes)
    : header_limit_bytes_(header_limit_bytes), body_limit_bytes_(body_limit_bytes) {
  parser_.header_limit(static_cast<std::uint32_t>(header_limit_bytes));
  parser_.body_limit(body_limit_bytes);
  parser_.on_chunk_header(on_chunk_header_);
}

std::size_t RequestParser::Put(boost::asio::const_buffer unparsed, beast::error_code& ec) {
  const bool head_was_in = parser_.is_header_done();
  const std::size_t used = parser_.put(unparsed, ec);
  used_bytes_ += used;
  // Until the head is in, Beast keeps it under header_limit_bytes itself.
  if (!parser_.is_header_done()) return used;
  if (!head_was_in) {
    // put() stops right after the head (the parser is not eager): all it used so far is the
    // head. The body, if any, comes with the next call.
    non_body_bytes_ = used_bytes_;
    if (!ec) CheckFraming(ec);
    if (!ec && parser_.chunked()) {
      for (const auto& field : parser_.get()) header_fields_.push_back(&field);
      std::sort(header_fields_.begin(), header_fields_.end(), std::less<>());
    }
    return used;
  }
  if (ec == http::error::need_more) {
    // In the body, Beast uses nothing of a chunk-size line or of the trailer section until its
    // end has come: what it left is that line or section so far. Do not wait for more of it.
    if (unparsed.size() - used > header_limit_bytes_) ec = http::error::header_limit;
  } else if (!ec && parser_.is_done() && parser_.chunked()) {
    DropTrailer(ec);
  }
  return used;
}

ReadRefusal RequestParser::Refusal(beast::error_code ec) const {
  if (ec == http::error::body_limit) {
    return {http::ApiError::kPayloadTooLarge,
            "the request body is larger than " + std::to_string(body_limit_bytes_) + " bytes"};
  }
  // buffer_overflow: the connection's read buffer is full, which the limits here keep from
  // happening; it means the same.
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    const std::string limit = std::to_string(header_limit_bytes_) + " bytes";
    if (!parser_.is_header_done()) {
      return {http::ApiError::kHeadersTooLarge, "the request headers are larger than " + limit};
    }
    return {http::ApiError::kHeadersTooLarge,
            "the request's header fields, chunk extensions and trailer fields are larger than " +
                limit};
  }
  if (framing_error_ != nullptr) {
    return {http::ApiError::kBadRequest, std::string("malformed HTTP request: ") + framing_error_};
  }
  return {http::ApiError::kBadRequest, "malformed HTTP request: " + ec.message()};
}

void RequestParser::CheckFraming(beast::error_code& ec) {
  const http::Request& request = parser_.get();
  const auto [coding, end] = request.equal_range(http::field::transfer_encoding);
  // Without Transfer-Encoding the body is Content-Length long, or empty: Beast refuses a
  // Content-Length that is malformed, or given twice with different values.
  if (coding == end) return;
  if (std::next(coding) != end) {
    // Beast would join "gzip" and "chunked" on two lines into a list; a proxy may take either.
    framing_error_ = "more than one Transfer-Encoding field";
  } else if (request.version() < 11) {
    framing_error_ = "Transfer-Encoding in an HTTP/1.0 request";
  } else if (!IsChunkedAlone(coding->value()) || !parser_.chunked()) {
    // Not ending in chunked: the body's length cannot be known (RFC 9112 6.3). A coding before
    // chunked (gzip, chunked): a body this server does not decode.
    framing_error_ = "a Transfer-Encoding other than chunked alone";
  }
  if (framing_error_ != nullptr) ec = http::error::bad_transfer_encoding;
}

void RequestParser::OnChunkHeader(std::uint64_t /*size*/, beast::string_view extensions,
                                  beast::error_code& ec) {
  non_body_bytes_ += extensions.size();
  if (non_body_bytes_ > header_limit_bytes_) ec = http::error::header_limit;
}

void RequestParser::DropTrailer(beast::error_code& ec) {
  http::Request& request = parser_.get();
  for (auto field = request.begin(); field != request.end();) {
    if (std::binary_search(header_fields_.begin(), header_fields_.end(),
                           static_cast<const void*>(&*field), std::less<>())) {
      ++field;
      continue;
    }
    non_body_bytes_ += field->name_string().size() + field->value().size() + 4;  // ": ", CRLF
    field = request.erase(field);
  }
  if (non_body_bytes_ > header_limit_bytes_) ec = http::error::header_limit;
}

}  // namespace vwr::server
