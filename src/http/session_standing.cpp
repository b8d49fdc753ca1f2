#include "http/session_standing.hpp"

#include "token/session_id.hpp"

namespace vwr::http {

SessionStanding StandingOf(store::RoomState& state, std::string_view jti) {
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  if (!token::ParseSessionId(jti, incarnation, ticket)) return SessionStanding::kNotASession;
  if (state.incarnation() == 0) return SessionStanding::kLive;
  if (incarnation != state.incarnation() || (ticket != 0 && state.SessionEnded(ticket))) {
    return SessionStanding::kEnded;
  }
  return SessionStanding::kLive;
}

}  // namespace vwr::http
