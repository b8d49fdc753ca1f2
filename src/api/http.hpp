#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace vwr::api {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What the server knows about the connection a request came on.
struct ConnectionInfo {
  boost::asio::ip::address peer;
};

// Turns one request into one response. Called on a worker thread, concurrently from all
// workers; implementations are thread-safe and never throw for anything a client can send.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Response Handle(const Request& request, const ConnectionInfo& connection) = 0;
};

}  // namespace vwr::api
