#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/room_routes.hpp"

// Which sites' pages may call an API from a browser (CORS). The TRACER API needs it: the legacy
// client script runs on the protected site's pages and calls VWR's host, another origin.
namespace vwr::tracer {

// An allow-list of web origins (RFC 6454), built once and read by every request.
//
// A pattern names the scheme(s) (http, https), a host (exact, or "*.suffix": any host under
// suffix, not suffix itself) and a port (one, or any). An Origin header matches when its
// scheme, host (case-insensitive) and port (the scheme's default when it names none) do.
// "null" (sandboxed frames, local files, requests redirected across origins: any page can make
// one) and anything that is not a plain "scheme://host[:port]" never match.
//
// Immutable once built; Allows neither allocates nor locks. Thread-safe.
class AllowedOrigins {
 public:
  struct Pattern {
    bool http = false;
    bool https = false;
    bool any_host_under = false;        // host is a suffix: "*.example.com" holds "example.com"
    std::string host;                   // lower case; an IPv6 address without brackets
    std::optional<std::uint16_t> port;  // nullopt: any port

    bool operator==(const Pattern&) const = default;
  };

  AllowedOrigins() = default;  // allows no origin
  explicit AllowedOrigins(std::vector<Pattern> patterns) : patterns_(std::move(patterns)) {}

  // The configured list (tracer.allowed_origins, checked when it was loaded): each entry is
  // "http(s)://host[:port]" or "http(s)://*.domain[:port]"; without a port, the scheme's
  // default. An entry that does not parse is left out (and named in `rejected`).
  static AllowedOrigins FromList(const std::vector<std::string>& origins,
                                 std::vector<std::string>* rejected = nullptr);
  // The default: every room's match hosts, over http and https, on any port. A host "*" adds
  // nothing (it would be every site).
  static AllowedOrigins FromRoomHosts(const std::vector<http::RoomRoute>& rooms);

  // Whether a browser page of `origin` (an Origin header's value) may call.
  bool Allows(std::string_view origin) const;

  bool empty() const { return patterns_.empty(); }
  const std::vector<Pattern>& patterns() const { return patterns_; }
  // For the log: "https://shop.example.com, http(s)://*.example.org (any port)".
  std::string Describe() const;

 private:
  std::vector<Pattern> patterns_;
};

// Whether `origin` (an Origin header's value) is the origin of the request's own host (`host`,
// its Host header), scheme aside: a browser sends Origin on a same-origin POST too.
bool IsSameOrigin(std::string_view origin, std::string_view host);

}  // namespace vwr::tracer
