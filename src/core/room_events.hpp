#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/policy.hpp"
#include "core/room_counters.hpp"

namespace vwr::core {

// The state changes of a Room, as plain values. A Room reports each change it makes to its
// RoomEventSink; Room::Apply() makes the same change again. Replaying a room's events, in order,
// into a new Room with the same id and incarnation rebuilds its durable state, which is how the
// embedded store survives a restart (the journal is these events, encoded).
//
// Times are wall-clock milliseconds: the monotonic clock of one process means nothing to the next.
// Soft state is not recorded: the rate budget restarts full and the ETA estimate restarts from the
// configured rate.

// Ticket `number` was issued (always last_issued + 1). `identity` is the userId, or empty.
struct TicketIssued {
  std::uint64_t number = 0;
  std::uint64_t frontier_at_join = 0;
  std::string identity;
};
// The frontier moved forward to `frontier`; the tickets it passed were called at `at_unix_ms`.
struct FrontierMoved {
  std::uint64_t frontier = 0;
  std::int64_t at_unix_ms = 0;
};
// Called ticket `number` was claimed: its session exists from `at_unix_ms`.
struct TicketClaimed {
  std::uint64_t number = 0;
  std::int64_t at_unix_ms = 0;
  bool immediate = false;  // admitted at join, without waiting
};
// Session `number` was active at `at_unix_ms` (a heartbeat or poll). Reported at most once per
// tenth of the session timeout per session, which is all expiry needs.
struct SessionSeen {
  std::uint64_t number = 0;
  std::int64_t at_unix_ms = 0;
};
enum class EndReason : std::uint8_t { kLeave = 1, kIdle = 2 };
struct SessionEnded {
  std::uint64_t number = 0;
  EndReason reason = EndReason::kLeave;
  // When it ended, which with the session's admission gives its length (RoomCounters::
  // session_lengths); 0 in records written before the field existed: their length is unknown
  // (the journal keeps it only when above 0).
  std::int64_t at_unix_ms = 0;
};
// Called ticket `number` was not claimed in time (a no-show).
struct CallExpired {
  std::uint64_t number = 0;
};
// Session `number` (the next of the bypass range, kBypassTicketBase + n) was admitted without
// a place in line (Room::Admit) at `at_unix_ms`, for `identity` (the userId, or empty).
struct BypassAdmitted {
  std::uint64_t number = 0;
  std::int64_t at_unix_ms = 0;
  std::string identity;
};
// Ticket `number` was given back (Room::Withdraw): a waiting place whose holder left the line,
// or a called one given up before it was claimed. Also a snapshot's record of a place given back
// that the frontier has not reached yet.
struct TicketWithdrawn {
  std::uint64_t number = 0;
};
// RoomCounters::withdrawn as of the snapshot, written after its TicketWithdrawn records (which
// restore the places, not the count) when it is not 0.
struct WithdrawnCheckpoint {
  std::uint64_t withdrawn = 0;
};
// The frontier passed ticket `number` without calling it: it had stopped polling (abandoned).
// Written before the FrontierMoved that passes it, so that a replay passes it too.
struct TicketAbandoned {
  std::uint64_t number = 0;
};
// RoomCounters::abandoned as of the snapshot, when it is not 0.
struct AbandonedCheckpoint {
  std::uint64_t abandoned = 0;
};
// An operator changed the policy. `base` is the configured policy it replaced; on restart the
// change is kept only while the configuration still says `base` (an edited file wins).
struct PolicyChanged {
  Policy base;
  Policy policy;
};

// Snapshot events: the state of a room as a whole, written periodically so that replay need not
// start from the first event. A snapshot is one RoomCheckpoint followed by the restored parts.
struct RoomCheckpoint {
  std::uint64_t last_issued = 0;
  std::uint64_t frontier = 0;
  std::uint64_t pending_base = 1;  // the oldest call still tracked
  std::uint64_t joins = 0, rejected = 0, full = 0, admissions = 0, immediate = 0, no_shows = 0,
                expired_sessions = 0, leaves = 0;  // RoomCounters
  SessionLengths session_lengths{};                // RoomCounters::session_lengths
};
enum class CallStatus : std::uint8_t { kUnclaimed = 0, kClaimed = 1, kExpired = 2 };
struct CallRestored {
  std::uint64_t number = 0;
  std::int64_t called_unix_ms = 0;
  CallStatus status = CallStatus::kUnclaimed;
};
struct SessionRestored {
  std::uint64_t number = 0;
  std::int64_t admitted_unix_ms = 0;
  std::int64_t last_seen_unix_ms = 0;
  std::string identity;
};
struct IdentityRestored {
  std::uint64_t number = 0;
  std::uint64_t frontier_at_join = 0;
  std::string identity;
};
// The bypass range as of the snapshot, right after its RoomCheckpoint (which zeroes both): the
// bypass numbers issued and RoomCounters::bypass. Written only once the room has admitted
// anyone that way, so a snapshot of a room that never did reads as it did before bypass
// admissions existed. (Its sessions are SessionRestored like any other.)
struct BypassCheckpoint {
  std::uint64_t issued = 0;
  std::uint64_t bypass = 0;
};

// The tickets first .. first + order.size() - 1 are called in a drawn order from now on (a
// schedule's shuffle, at its opening): order[i] is the ticket at place first + i (Room::Draw).
// Also a snapshot's record of the draw while it is in use, right after its checkpoints. Events
// name tickets, except FrontierMoved, CallRestored and RoomCheckpoint, which name places in line;
// without a draw the two are the same numbers.
struct TicketsDrawn {
  std::uint64_t first = 0;
  std::vector<std::uint64_t> order;
};

using RoomEvent =
    std::variant<TicketIssued, FrontierMoved, TicketClaimed, SessionSeen, SessionEnded, CallExpired,
                 PolicyChanged, RoomCheckpoint, CallRestored, SessionRestored, IdentityRestored,
                 BypassAdmitted, BypassCheckpoint, TicketWithdrawn, WithdrawnCheckpoint,
                 TicketAbandoned, AbandonedCheckpoint, TicketsDrawn>;

// Receives a room's events as they happen (under whatever serialises access to the room).
class RoomEventSink {
 public:
  virtual ~RoomEventSink() = default;
  virtual void OnEvent(const RoomEvent& event) = 0;
};

}  // namespace vwr::core
