#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/decision.hpp"
#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::control {

// The auditable draw that shuffles the people who arrived before an opening.
//
// Before the opening the room publishes a commitment, SHA-256 of a secret 32-byte seed; after
// the opening it reveals the seed. Anyone can then check that the seed matches the commitment
// and recompute the order, so the operator could not have chosen it after seeing who came:
//
//   commitment = hex(SHA-256(seed))
//   key(t)     = SHA-256(seed ‖ room ‖ 0x00 ‖ decimal(t))     for each ticket t in first..last
//   order      = tickets sorted by key(t) as bytes, ascending (then by t)
//
// In Python:
//
//   import hashlib
//   def order(seed_hex, room, first, last):
//       seed = bytes.fromhex(seed_hex)
//       key = lambda t: (hashlib.sha256(seed + room.encode() + b"\0" + str(t).encode()).digest(),
//       t) return sorted(range(first, last + 1), key=key)
//   assert hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest() == commitment
//
// Pure functions; thread-safe.
struct Draw {
  static std::string Commitment(std::string_view seed);  // hex of SHA-256(seed)
  // The drawn order of tickets first..last (inclusive). Empty when last < first or the range is
  // larger than kMaxTickets.
  static std::vector<std::uint64_t> Order(std::string_view seed, std::string_view room,
                                          std::uint64_t first, std::uint64_t last);
  static constexpr std::uint64_t kMaxTickets = 10'000'000;
};

std::string ToHex(std::string_view bytes);
// An RFC 3339 time with its offset, as `opens_at` is written: 2027-03-01T20:00:00+09:00,
// 2027-03-01T11:00:00Z (seconds may have a fraction, which is dropped). Nullopt otherwise.
std::optional<util::WallTime> ParseTimestamp(std::string_view text);
std::optional<std::string> FromHex(std::string_view hex);

// An event in a room's calendar:
//
//   schedules:
//     - name: concert-sale
//       room: tickets
//       opens_at: 2027-03-01T20:00:00+09:00
//       prequeue: 30m            # mode pause from 19:30: people join and wait, nobody enters
//       open: { mode: fifo, max_active: 500, admit_rate: 50 }   # the policy at 20:00
//       shuffle: true            # who came before 20:00 enters in a drawn order
struct EventSpec {
  std::string name;
  std::string room;
  util::WallTime opens_at{};
  util::Duration prequeue{0};
  core::Mode open_mode = core::Mode::kFifo;
  std::optional<std::int64_t> open_max_active;
  std::optional<double> open_admit_rate;
  bool shuffle = false;
  // The secret seed for the draw (32 random bytes, made by the node at load, e.g. with
  // util::RandomBytes, or kept in a file so that a restart keeps the published commitment).
  std::string seed;

  bool operator==(const EventSpec&) const = default;
};

// The schedules of every room, evaluated by wall time at each control tick.
//
// Each event has two moments, each acted on once: at opens_at − prequeue the room goes to
// mode pause (if prequeue > 0); at opens_at it takes the opening policy, and, with shuffle, the
// opening decision carries a draw to be made over the tickets issued so far. A node that first
// sees a moment more than `catch_up` after it (started late, restarted) does not act on it: it
// would overrule what operators and the controller have done since. Not thread-safe.
class Schedule {
 public:
  static std::optional<Schedule> Build(std::vector<EventSpec> events,
                                       const std::vector<std::string>& rooms,
                                       std::vector<std::string>& problems,
                                       util::Duration catch_up = std::chrono::minutes(5));

  struct Step {
    Decision decision;
    bool draw = false;  // the caller now calls Drawn(event, first, last) with the tickets so far
    std::string event;
  };
  std::vector<Step> Evaluate(const std::string& room, util::WallTime now,
                             const core::Policy& policy);

  // The draw for `event` over tickets first..last, recorded for EventStatus. Empty when the event
  // has no shuffle or is unknown.
  std::vector<std::uint64_t> Drawn(const std::string& event, std::uint64_t first,
                                   std::uint64_t last);

  struct EventStatus {
    std::string name;
    std::string room;
    util::WallTime opens_at{};
    std::string phase;       // "scheduled", "prequeue", "open"
    std::string commitment;  // published from the start (shuffle only)
    std::string seed_hex;    // revealed once the draw is made
    std::optional<std::uint64_t> first_ticket, last_ticket;  // the drawn range
  };
  std::vector<EventStatus> Status() const;

 private:
  struct Event {
    EventSpec spec;
    std::string commitment;
    bool prequeue_done = false;
    bool open_done = false;
    bool drawn = false;
    std::uint64_t first = 0, last = 0;
  };
  std::vector<Event> events_;
  util::Duration catch_up_{};
};

}  // namespace vwr::control
