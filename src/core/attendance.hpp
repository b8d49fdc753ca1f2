#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::core {

// How long a waiting ticket answered with wait `eta_seconds` under `policy` may stay silent
// before it is abandoned: policy.abandon_after_polls times the longest pollAfterMs that answer
// can carry (the jitter's top), and a tenth of a second for the network; 0 when abandonment is
// off. The embedded room (Attendance) and the Redis store's nodes both use it.
std::int64_t SilenceAllowedMs(std::optional<std::int64_t> eta_seconds, const Policy& policy);

// Who of the people in line is still there: for each waiting ticket, the time by which its next
// poll is due (a coarse 4-byte time: tenths of a second since the room began). A poll moves its
// ticket's deadline on; a ticket whose deadline passes is marked abandoned at the next sweep and
// stops counting as waiting; the frontier passes an abandoned ticket without calling it. A ticket
// that polls again before the frontier reaches it loses its mark and keeps its place.
//
// Nothing here changes anyone's place: positions are `ticket - frontier` whatever the marks say,
// so a number never grows, and the frontier still passes tickets in order (FIFO).
//
// Layout. The deadlines sit in chunks of kChunk tickets, found through a fixed ring of kRing
// chunk pointers indexed by ticket / kChunk: a poll finds its deadline with two loads and no
// lock. Chunks are made (or recycled) by the writer as tickets are issued and given back to a
// free list once the frontier has passed all of them, so memory follows the line's length: 4
// bytes per waiting ticket, plus at most one partly used chunk at each end. A ticket with no
// chunk (more than kChunk * kRing tickets in line at once, or a line restored after a restart
// before the first sweep) is simply counted as present.
//
// A mark's transitions, each a single atomic step so that the count of abandoned tickets stays
// exact: deadline -> kAbandoned (the sweep, CAS; count + 1); kAbandoned -> deadline (a poll, CAS;
// count - 1); anything -> kPassed (the frontier or a withdrawal; count - 1 when it was
// kAbandoned). A poll never overwrites kPassed.
//
// Thread-safety: Renew() and abandoned() from any thread, lock-free and allocation-free; every
// other member from one thread at a time (the room's owner serialises them).
class Attendance {
 public:
  static constexpr std::size_t kChunk = 1 << 14;  // 64 KiB of deadlines
  static constexpr std::size_t kRing = 1 << 12;   // up to 64 M tickets in line are watched
  // Coarse time: tenths of a second.
  static constexpr std::int64_t kUnitMs = 100;
  static constexpr std::uint32_t kAbandoned = 0xFFFF'FFFF;
  static constexpr std::uint32_t kPassed = 0xFFFF'FFFE;

  explicit Attendance(util::TimePoint epoch);
  ~Attendance();
  Attendance(const Attendance&) = delete;
  Attendance& operator=(const Attendance&) = delete;

  // The coarse time of `now`, and of `now + after_ms` rounded up (a deadline is never early).
  std::uint32_t Coarse(util::TimePoint now) const;
  std::uint32_t DeadlineAfter(util::TimePoint now, std::int64_t after_ms) const;

  // What a poll of a waiting ticket found.
  enum class Renewal : std::uint8_t {
    kPresent,   // it was counted as present: its deadline moved on
    kReturned,  // it was marked abandoned: it is present again, with its place
    kPassed,    // the frontier has passed it (or it was given back): the room decides
    kUnknown,   // not watched: counted as present
  };
  // A poll of waiting `ticket`: its next poll is due by `deadline`. Any thread.
  Renewal Renew(std::uint64_t ticket, std::uint32_t deadline);
  // A poll of waiting `ticket` at `now`, answered with wait `eta_seconds` under `policy`: its
  // deadline becomes after_polls() times the longest pollAfterMs that answer can carry (the
  // jitter's top). Any thread.
  Renewal NotePoll(std::uint64_t ticket, util::TimePoint now,
                   std::optional<std::int64_t> eta_seconds, const Policy& policy);
  // The deadline NotePoll gives. Any thread.
  std::uint32_t PollDeadline(util::TimePoint now, std::optional<std::int64_t> eta_seconds,
                             const Policy& policy) const;
  // Whether `ticket` is marked abandoned now. Any thread.
  bool Abandoned(std::uint64_t ticket) const;

  // How many pollAfterMs of silence abandon a ticket (0: never). Set by the writer, read by any.
  std::uint32_t after_polls() const { return after_polls_.load(std::memory_order_relaxed); }
  void set_after_polls(std::uint32_t n) { after_polls_.store(n, std::memory_order_relaxed); }
  // Tickets above the frontier marked abandoned now. Any thread.
  std::uint64_t abandoned() const { return abandoned_.load(std::memory_order_acquire); }

  // Writer side. Ticket `ticket` was issued; its first poll is due by `deadline`.
  void Expect(std::uint64_t ticket, std::uint32_t deadline);
  // The frontier reaches `ticket`: true when it was abandoned (then it is passed without a call).
  // Called for every ticket the frontier passes, in order.
  bool Pass(std::uint64_t ticket);
  // Ticket `ticket` was given back: it leaves the count of abandoned tickets if it was in it.
  void Forget(std::uint64_t ticket);
  // Marks the tickets in (frontier, last_issued] whose deadline is before `now` as abandoned,
  // looking at no more than `budget` of them (the sweep goes on from there next time, and starts
  // over behind the frontier when it reaches the end). Watches tickets not watched yet (after a
  // restart), with `grace` as their deadline. Returns the tickets newly marked.
  std::uint64_t Sweep(std::uint64_t frontier, std::uint64_t last_issued, std::uint32_t now,
                      std::uint32_t grace, std::size_t budget);
  // Every ticket in (frontier, last_issued] is present and due by `deadline` (abandoning turned
  // on or off: nothing said before holds).
  void Pardon(std::uint64_t frontier, std::uint64_t last_issued, std::uint32_t deadline);
  // Forgets everything (a snapshot's events replace the room's state).
  void Clear();

  // Chunks held, in use or free (for tests of memory).
  std::size_t chunks() const { return all_.size(); }

 private:
  struct Chunk {
    std::atomic<std::uint64_t> id{0};  // IdOf its tickets; 0 while being set up
    std::array<std::atomic<std::uint32_t>, kChunk> marks;
  };

  static std::uint64_t IdOf(std::uint64_t ticket) { return ticket / kChunk + 1; }
  static std::uint64_t FirstOf(std::uint64_t ticket) { return ticket - ticket % kChunk; }
  static std::size_t SlotOf(std::uint64_t ticket) { return (ticket / kChunk) % kRing; }
  // The deadline of `ticket`, or nullptr when it is not watched. Any thread.
  std::atomic<std::uint32_t>* Find(std::uint64_t ticket) const;
  // The chunk holding `ticket`, made when missing, its marks set to `deadline`; nullptr when
  // its ring slot holds a chunk of other tickets still in line. Writer side.
  Chunk* Ensure(std::uint64_t ticket, std::uint32_t deadline);
  // Gives back the chunks wholly at or below `frontier`. Writer side.
  void Release(std::uint64_t frontier);

  // Lowers the count by one, never below 0 (a poll racing a Clear).
  void CountReturn();

  const util::TimePoint epoch_;
  std::atomic<std::uint32_t> after_polls_{0};  // a room is told (rooms[].abandon_after_polls)
  std::atomic<std::uint64_t> abandoned_{0};
  std::unique_ptr<std::atomic<Chunk*>[]> ring_;
  // Writer side only.
  std::vector<std::unique_ptr<Chunk>> all_;  // every chunk made; never freed while in use
  std::vector<Chunk*> free_;
  std::uint64_t sweep_next_ = 0;      // next ticket the sweep looks at
  std::uint64_t released_below_ = 0;  // chunks starting below this were released
};

}  // namespace vwr::core
