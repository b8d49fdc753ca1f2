#pragma once

#include <string_view>

#include "store/store.hpp"

namespace vwr::http {

// Whether the session an admission token names (its jti) may still be honoured in `state`.
// kEnded: it belongs to another lifetime of the room's state (a token from before the state was
// reset), or it has ended (leave, idleness, an operator). kLive otherwise, and also for ticket 0
// (a fail_open admission names no session: its expiry decides) and while a shared store has not
// been reached since the start (incarnation 0: nothing is known of the sessions). No I/O.
enum class SessionStanding { kLive, kEnded, kNotASession };
SessionStanding StandingOf(store::RoomState& state, std::string_view jti);

}  // namespace vwr::http
