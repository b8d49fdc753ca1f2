#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace vwr::api {

// A session's id, the admission token's jti: "<incarnation as 16 hex digits>.<ticket>", such as
// "00c0ffee00c0ffee.42". The incarnation says which lifetime of the room's state the session
// belongs to; ticket 0 names no session (an admission by fail_open).
std::string SessionId(std::uint64_t incarnation, std::uint64_t ticket);

// Reads a SessionId(); false for anything else.
bool ParseSessionId(std::string_view jti, std::uint64_t& incarnation, std::uint64_t& ticket);

// Whether the session an admission token names (its jti) may still be honoured in `state`.
// kEnded: it belongs to another lifetime of the room's state (a token from before the state was
// reset), or it has ended (leave, idleness, an operator). kLive otherwise, and also for ticket 0
// (a fail_open admission names no session: its expiry decides) and while a shared store has not
// been reached since the start (incarnation 0: nothing is known of the sessions). No I/O.
enum class SessionStanding { kLive, kEnded, kNotASession };
SessionStanding StandingOf(store::RoomState& state, std::string_view jti);

}  // namespace vwr::api
