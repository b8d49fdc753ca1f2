#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string_view>

#include "http/respond.hpp"
#include "http/stream.hpp"

namespace vwr::http {

// This folder's names stand beside Boost.Beast's HTTP vocabulary, so that `http::status::ok`,
// `http::verb::get` and `http::Request` read alike in every folder.
using namespace boost::beast::http;  // NOLINT(google-build-using-namespace)

using Request = http::request<http::string_body, Fields>;

// GET or HEAD: a request that only reads.
inline bool IsRead(const Request& request) {
  return request.method() == verb::get || request.method() == verb::head;
}

// The value of the first field named `name` (compared case-insensitively), or empty. For a name
// Beast has no http::field for (X-VWR-Ticket), on the hot path: the few fields a request has are
// walked with their lengths compared first, which costs a fraction of Beast's search of its
// tree by such a name (a case-insensitive comparison at every step).
std::string_view FieldValue(const Fields& fields, std::string_view name);

// What the server knows about the connection a request came on.
struct ConnectionInfo {
  boost::asio::ip::address peer;
  // Where an answer that goes on is opened (see StreamOpener); null: this connection cannot.
  StreamOpener* streams = nullptr;
};

// Turns one request into one response. Called on a worker thread, concurrently from all
// workers; implementations are thread-safe and never throw for anything a client can send.
//
// The answer may come at once (during Serve, the usual case: a poll answered from memory) or
// later from another thread (a change that must first be made durable, or a round trip to a
// shared store); the server writes it when it comes, serving its other connections meanwhile.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Serve(const Request& request, const ConnectionInfo& connection, Respond respond) = 0;
  // The response here, for callers that do not send it anywhere (tests, fuzzing): waits for it.
  Response Handle(const Request& request, const ConnectionInfo& connection);
};

}  // namespace vwr::http
