#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "util/clock.hpp"

// Abuse protection for the public endpoints: repeated-request blocking per client IP and per
// verified identity, a limit on joins per client address, and the operators' lists (temporary
// block, join block, permanent block, unblock, allow). One Guard serves every room; each room
// has its own settings (rooms[].protection) and lists.
namespace vwr::guard {

enum class GuardAction : std::uint8_t {
  kPass,    // go on as usual
  kBlock,   // refuse: 429 with Retry-After and error code "blocked" (TRACER: NE, checkBotIp T)
  kBypass,  // on the allow list: admit at once (RoomState::Admit), counted as bypass
};

struct GuardVerdict {
  GuardAction action = GuardAction::kPass;
  // kBlock: how long until the block ends (Retry-After); 0 for a permanent block, which
  // answers with a long Retry-After.
  std::chrono::seconds retry_after{0};
  // Why, for logs and metrics: "rate_limit", "temporary_block", "permanent_block",
  // "join_limit" (this join crossed the address's join limit), "join_block" (joins from the
  // address are refused for now), "allow", "unblock" (exempt from limits), or "" when nothing
  // applied.
  std::string_view reason;
};

// What a request asks for, as far as the guard tells requests apart.
enum class GuardRequestKind : std::uint8_t {
  kOther,  // about a place held already (a status poll, a heartbeat, a leave) or none (room info)
  kJoin,   // a new place in line: a join, or a TRACER inputQueue.do for an identity without one
};

// What Check() is told about one request.
struct GuardRequest {
  std::string_view room;
  boost::asio::ip::address client_ip;  // from ClientIp(): never a client-reported field
  // Who the request is for: a ticket, a signed user identity, or a client-sent hint (userId,
  // TRACER loginId / wcCookie); empty when none.
  std::string_view identity;
  // Whether `identity` is proven: a ticket (signed by this service) or a user identity signed
  // by the platform. Only a verified identity is counted and blocked automatically; anyone
  // can send someone else's hint, and must not thereby lock its owner out. The operators'
  // list entries for an identity hold either way.
  bool identity_verified = false;
  // Joins are also counted per address against the room's join limit (joins_per_ip).
  GuardRequestKind kind = GuardRequestKind::kOther;
};

// Thread-safe; Check() is on the hot path of every public request (polls included): no I/O, no
// lock shared by all requests, no allocation in the common case. In shadow mode a room counts
// and reports what it would block but answers kPass.
class Guard {
 public:
  virtual ~Guard() = default;
  // Counts the request against its room's windows and says what to do with it.
  virtual GuardVerdict Check(const GuardRequest& request) = 0;
  // Whether `client_ip` is blocked in `room` now (any list or an active rate block), without
  // counting a request (TRACER checkBotIp.do). A join block is not one: the address's places
  // held go on.
  virtual bool IsBlocked(std::string_view room, const boost::asio::ip::address& client_ip) = 0;
};

}  // namespace vwr::guard
