#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vwr::token {

// A session's id, the admission token's jti: "<incarnation as 16 hex digits>.<ticket>", such as
// "00c0ffee00c0ffee.42". The incarnation says which lifetime of the room's state the session
// belongs to; ticket 0 names no session (an admission by fail_open).
std::string SessionId(std::uint64_t incarnation, std::uint64_t ticket);

// Reads a SessionId(); false for anything else.
bool ParseSessionId(std::string_view jti, std::uint64_t& incarnation, std::uint64_t& ticket);

}  // namespace vwr::token
