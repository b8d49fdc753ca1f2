#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::http {

// One `match` entry of a room (config::RoomMatch): `host` is "*" (any host), a host name, or
// "*.suffix" (any host under suffix, not suffix itself), in lower case; `path_prefix` starts
// with "/" and is compared as plain text against the start of the request's path.
struct RouteRule {
  std::string host = "*";
  std::string path_prefix = "/";

  bool operator==(const RouteRule&) const = default;
};

// A room and its match entries, in configuration order.
struct RoomRoute {
  std::string room;
  std::vector<RouteRule> match;

  bool operator==(const RoomRoute&) const = default;
};

// Which room a request of the protected site belongs to, from its host and path: how
// /api/v1/verify finds the room for nginx auth_request (X-Original-Host + X-Original-URI).
//
// Of all the rules that match, the one with the longest path prefix wins; between equally long
// prefixes an exact host beats "*.suffix", which beats "*"; then the room listed first in the
// configuration, and within a room its first rule. The rules are put in that order once, when
// built, so a lookup is one pass that stops at the first match.
//
// Host names compare case-insensitively and a port is ignored ("Shop.Example.com:8443" is
// shop.example.com; "[::1]:8080" is "::1", which only "*" matches). The path is the target's up
// to '?' or '#'; it is compared as sent (not percent-decoded, as nginx's $request_uri is).
//
// Immutable once built; Find neither allocates nor locks. Thread-safe.
class RoomRoutes {
 public:
  RoomRoutes() = default;
  explicit RoomRoutes(const std::vector<RoomRoute>& rooms);

  // The id of the room for a request to `host` (a Host header value) and `target` (a request
  // target: path and query, such as nginx's $request_uri); nullptr when no rule matches.
  // The pointer stays valid for the life of this object.
  const std::string* Find(std::string_view host, std::string_view target) const;

  // The match hosts of `room` (for return URL checks); empty when the room is unknown.
  const std::vector<std::string>& MatchHosts(std::string_view room) const;

  // The host of a Host header value: without a port, brackets of an IPv6 address removed.
  static std::string_view HostOf(std::string_view host_header);

 private:
  enum class HostKind : std::uint8_t { kExact = 0, kSuffix = 1, kAny = 2 };
  struct Rule {
    std::string path_prefix;
    std::string host;  // exact: the name; suffix: ".example.com" (with the dot); any: empty
    HostKind kind;
    std::size_t room;  // index into rooms_
  };
  struct Room {
    std::string id;
    std::vector<std::string> hosts;
  };

  static bool HostMatches(const Rule& rule, std::string_view host);

  std::vector<Rule> rules_;  // in the order of precedence
  std::vector<Room> rooms_;  // configuration order
};

}  // namespace vwr::http
