#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>

namespace vwr::api {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What the server knows about the connection a request came on.
struct ConnectionInfo {
  boost::asio::ip::address peer;
};

// A response, and the state change it reports: the answer may only be sent once that change is
// durable (AwaitDurable); 0 when it reports none.
struct Reply {
  Reply(Response r, std::uint64_t lsn = 0) : response(std::move(r)), durable_lsn(lsn) {}  // NOLINT
  Response response;
  std::uint64_t durable_lsn = 0;
};

// Turns one request into one response. Called on a worker thread, concurrently from all
// workers; implementations are thread-safe and never throw for anything a client can send.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Reply Serve(const Request& request, const ConnectionInfo& connection) = 0;
  // Calls `done(true)` once change `durable_lsn` is durable, `done(false)` if it never will be;
  // `done` may run on any thread.
  virtual void AwaitDurable(std::uint64_t durable_lsn, std::function<void(bool ok)> done) {
    (void)durable_lsn;
    done(true);
  }
  // The response alone, for callers that do not send it anywhere (tests).
  Response Handle(const Request& request, const ConnectionInfo& connection) {
    return Serve(request, connection).response;
  }
};

}  // namespace vwr::api
