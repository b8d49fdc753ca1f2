#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/clock.hpp"

namespace vwr::control {

// An http:// or https:// URL as the probes need it.
struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, at least "/"

  static std::optional<Url> Parse(std::string_view text, std::string* error);
  // The URL without user info or query, for messages (a query may carry a token).
  std::string Shown() const;
};

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
  util::Duration elapsed{};  // from the start of the connection to the end of the body
};

struct HttpRequestSpec {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  util::Duration timeout = std::chrono::seconds(2);  // the whole exchange, DNS to last byte
  std::size_t body_limit = 4 << 20;
  bool verify_tls = true;  // check the certificate chain and the host name
};

// One HTTP/1.1 exchange on a connection of its own, blocking the calling thread (a probe
// thread, never a worker) for at most spec.timeout: a private io_context runs the resolve,
// connect, TLS handshake, write and read, and one deadline closes the socket when it passes,
// so a target that accepts and never answers costs the timeout and nothing more. Nullopt with
// `error` set on any failure. Thread-safe (nothing shared).
// `clock` measures the answer's elapsed time.
std::optional<HttpAnswer> HttpFetch(const Url& url, const HttpRequestSpec& spec,
                                    const util::Clock& clock, std::string* error);

}  // namespace vwr::control
