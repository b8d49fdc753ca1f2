#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/http.hpp"
#include "http/request_parts.hpp"

namespace vwr::admin {

// What an operator may do. Each role may do everything the one before it may:
//   viewer    reads everything, changes nothing
//   operator  also the rooms' limits and modes, page messages, protection lists, ending sessions
//   admin     also the token keys, the operators, rules and signals (and any route not named
//             below: a new change route is admin-only until it is given a role here)
enum class Role : std::uint8_t { kViewer = 0, kOperator = 1, kAdmin = 2 };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);
inline bool Allows(Role have, Role need) {
  return static_cast<std::uint8_t>(have) >= static_cast<std::uint8_t>(need);
}

// The role an admin API request needs (the path's segments: "admin", "api", "v1", ...):
// viewer to read (GET/HEAD), except the operators (admin only); operator to change a room's
// policy, message, lists, sessions or automatic control (control/{room}); admin for every
// other change (rules among them).
Role RequiredRole(http::verb method, const http::PathSegments& parts);

// Whether `name` may name an operator: 1 to 64 characters of [A-Za-z0-9._@-], starting with a
// letter or digit. Nothing in it can break a log line, a CSV cell or a URL path segment.
bool IsOperatorName(std::string_view name);

// What is kept of a token: lower-case hex of its SHA-256. Tokens are long random strings (the
// API makes 256-bit ones), so a plain hash cannot be reversed by guessing.
std::string TokenHash(std::string_view token);

// A new operator token: "vwr_" and 43 characters of base64url (256 random bits).
std::string NewOperatorToken();

}  // namespace vwr::admin
