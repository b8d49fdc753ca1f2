#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace vwr::app {

// What a GET brought back.
struct HttpGetResult {
  unsigned status = 0;
  std::string body;
};

// Where a URL points: "https://login.example.com:8443/.well-known/jwks.json".
struct HttpUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;  // "443" / "80" when not given
  std::string target = "/";
};
// http:// or https://, a host, an optional port, a path and query; no user info or fragment.
boost::system::result<HttpUrl, std::string> ParseHttpUrl(std::string_view url);

// One HTTP/1.1 GET, blocking the calling thread for at most `timeout` in all (resolve, connect,
// TLS handshake with the system's CAs and host name check, request, answer). Bodies over
// `max_body_bytes` are refused. Redirects are not followed. For background threads only (never
// a worker or the control thread); thread-safe (each call has its own I/O context). The error
// says what failed. `bearer_token`, when not empty, is sent as `Authorization: Bearer <token>`.
boost::system::result<HttpGetResult, std::string> HttpGet(std::string_view url,
                                                          std::chrono::milliseconds timeout,
                                                          std::size_t max_body_bytes,
                                                          std::string_view bearer_token = {});

}  // namespace vwr::app
