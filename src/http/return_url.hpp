#pragma once

#include <span>
#include <string>
#include <string_view>

namespace vwr::http {

// Where a visitor may be sent back to after the waiting room (the waiting page's ?return=, and
// anything else that redirects on a visitor's behalf): never to a site the operator did not name,
// so that a link to the waiting room cannot be turned into a redirect to an attacker's page.
//
// Accepted:
//   - a relative URL on this site: starts with exactly one "/" ("/shop?x=1"; not "//host" nor
//     "/\host", which browsers read as another host);
//   - an absolute http:// or https:// URL whose host (any port, no user info) matches one of
//     `match_hosts`, the room's match hosts (config RoomMatch::host): "shop.example.com" that
//     host exactly, "*.example.com" any host under example.com (not example.com itself). "*"
//     allows no absolute URL: a room for every host names no host to trust.
// Anything else (other schemes, control characters or spaces, backslashes, over 2048 bytes,
// empty) is refused. Host names compare case-insensitively; match hosts are lower case.
//
// Pure; thread-safe.
bool IsSafeReturnUrl(std::string_view url, std::span<const std::string> match_hosts);

// `url` when IsSafeReturnUrl, else "/".
std::string SafeReturnUrl(std::string_view url, std::span<const std::string> match_hosts);

inline constexpr std::size_t kMaxReturnUrlBytes = 2048;

}  // namespace vwr::http
