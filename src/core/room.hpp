#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/attendance.hpp"
#include "core/drawn_order.hpp"
#include "core/identity_tickets.hpp"
#include "core/pacing.hpp"
#include "core/policy.hpp"
#include "core/rate_budget.hpp"
#include "core/room_counters.hpp"
#include "core/room_events.hpp"
#include "core/wait_model.hpp"
#include "util/clock.hpp"
#include "util/string_hash.hpp"

namespace vwr::core {

// What a ticket (or a join) amounts to right now.
enum class TicketStatus : std::uint8_t {
  kWaiting,   // in line; position > 0
  kAdmitted,  // claimed: a session exists
  kExpired,   // called but not claimed in time, or its session has ended
  kRejected,  // the room is closed (mode reject)
  kFull,      // queue_limit reached; no ticket was issued
};

std::string_view TicketStatusName(TicketStatus status);

// "Now" as the domain needs it: monotonic time for every decision, and wall-clock time for
// what outlives the process (a session's admission second becomes its token's iat; events carry
// wall time so that a restarted process can place them on its own monotonic clock).
struct Instant {
  util::TimePoint mono;
  std::int64_t unix_ms = 0;

  static Instant From(const util::Clock& clock);
  // This instant's monotonic reading of wall time `unix_ms` (never later than now).
  util::TimePoint MonoOf(std::int64_t at_unix_ms) const;
};

// An admitted user. Keyed by its ticket number: a ticket yields at most one session.
struct Session {
  std::uint64_t ticket = 0;
  std::string identity;               // the userId given at join, or empty
  std::int64_t admitted_unix_ms = 0;  // wall time of the claim
  util::TimePoint last_seen;          // activity (claim, heartbeat, poll) that keeps it alive
  util::TimePoint last_reported;      // when activity was last reported as an event
  std::list<std::uint64_t>::iterator idle_position;  // place in the idle order
};

// The answer to a join or a poll.
struct TicketOutcome {
  TicketStatus status = TicketStatus::kWaiting;
  std::uint64_t ticket = 0;            // 0 when none was issued (rejected, full)
  std::uint64_t frontier_at_join = 0;  // gives initialPosition = ticket - frontier_at_join
  const Session* session = nullptr;    // set when admitted; valid until the room next changes
};

// Tickets from here up name sessions admitted without a place in line (Room::Admit: an entry
// pass, an allow-listed caller). The line's own numbers never get this high.
inline constexpr std::uint64_t kBypassTicketBase = std::uint64_t{1} << 62;

// What one tick did.
struct TickReport {
  std::uint64_t called = 0;            // tickets the frontier passed
  std::uint64_t expired_sessions = 0;  // idle past session_timeout
  std::uint64_t no_shows = 0;          // called but unclaimed past claim_grace
  std::uint64_t abandoned = 0;         // waiting tickets newly marked abandoned (silent)
};

// One waiting room: the ticket line, the frontier, the admitted sessions. Pure logic, no I/O, no
// clock of its own: every call is told the time. Not thread-safe; the store serialises access.
//
// Ticketing. Every join that is not refused takes the next ticket number. The frontier is the
// highest number that has been called; it only moves forward. A ticket above the frontier is
// waiting, `ticket - frontier` places back. Waiting users cost no memory here: their place is the
// number in their signed ticket, and nothing is stored for them unless they gave a userId.
//
//   join:  if nobody waits and both budgets allow -> ticket = frontier = ++last_issued; claim now
//          else                                   -> ticket = ++last_issued (waiting)
//   tick:  expire idle sessions, sessions at session_max and no-shows, then
//          frontier += min(rate budget, max_active - active - called_unclaimed, waiting)
//   poll:  ticket > frontier -> waiting; called and unclaimed -> claim (create the session);
//          claimed and session alive -> the same session; otherwise -> expired
//   admit: session = kBypassTicketBase + ++bypass_issued, at once, whatever the limits; the
//          line is untouched (it takes a place in max_active like any session)
//
// Called tickets form the contiguous range (pending_base_ - 1, frontier]; each remembers when it
// was called and whether it was claimed, so a claim is O(1) and no-shows leave from the front in
// call order.
class Room {
 public:
  // Waiting tickets the abandonment sweep looks at per tick (a line longer than this is swept
  // over several ticks: 64 Ki per 100 ms covers a million in under two seconds).
  static constexpr std::size_t kSweepBudget = std::size_t{1} << 16;

  Room(std::string id, const Policy& policy, std::uint64_t incarnation, util::TimePoint now);

  // A join. A non-empty `identity` that already holds a live ticket gets that ticket back.
  TicketOutcome Join(std::string_view identity, const Instant& now);
  // Admits `identity` at once, without a place in line and whatever the policy says (mode,
  // max_active, queue_limit, rate): an entry pass holder, an allow-listed caller. The session
  // is a real one (it counts in active(), takes heartbeats, ends by Leave or idleness) named by
  // the next number of the bypass range (kBypassTicketBase + 1, + 2, ...: never reused). A
  // ticket the identity holds in line stays as it is, and a later Join by that identity is not
  // answered with this session. Always kAdmitted.
  //
  // One bypass session per identity at a time: while the session a non-empty `identity` was
  // admitted with lives, Admit(identity) answers with that session again (marked seen), not a
  // new one, so that replaying one entry pass (or one allow-listed identity) never adds a
  // second session to max_active. An empty identity always gets a new session.
  TicketOutcome Admit(std::string_view identity, const Instant& now);
  // A status poll of ticket `number`; claims it when it has been called. A bypass number is
  // admitted while its session lives and expired after.
  TicketOutcome Poll(std::uint64_t number, const Instant& now);
  // Keeps a session alive. False when there is no such session (ended or never existed), or
  // when it has reached session_max (it ends then).
  bool Heartbeat(std::uint64_t session_ticket, const Instant& now);
  // Ends a session and frees its slot at once. False when there was no such session.
  bool Leave(std::uint64_t session_ticket, const Instant& now);
  // Ends every session (from the line and bypass alike), each as Leave does and reported as its
  // own SessionEnded, least recently seen first; the line and the called tickets stay. Returns
  // how many ended.
  std::uint64_t LeaveAll(const Instant& now);
  // Gives back place `number` before its session begins: a waiting ticket leaves the line (it
  // no longer counts in waiting(), and the frontier passes it without calling it, so it takes
  // no slot), a called one gives its call up at once (its slot returns now, not after
  // claim_grace). The ticket is expired from then on, and its identity holds no place. False
  // when it is neither (admitted, spent, unknown, or given back already).
  bool Withdraw(std::uint64_t number);
  // What `identity`'s place is given up as: its session ends (Leave), or its waiting or called
  // place is given back (Withdraw). False when the identity holds no place.
  bool LeaveIdentity(std::string_view identity, const Instant& now);
  TickReport Tick(const Instant& now);
  // Takes effect from the next tick (and the next join).
  void SetPolicy(const Policy& policy);
  // The configuration file now says `policy` (a reload). When that differs from what the file
  // said before, it replaces the policy in force, an operator's runtime change included (as on
  // a restart, an edited file wins); otherwise nothing changes. Not reported as an event: a
  // restart reads the file again, and the runtime changes recorded so far are judged against it.
  // Returns whether the policy in force changed.
  bool Reconfigure(const Policy& policy);

  // The opening draw (a schedule's shuffle): from now on the waiting tickets first..last are
  // called in `order` (order[i] is the ticket at place first + i) instead of their number order.
  // The line counts places: a ticket's position is PlaceOf(ticket) - frontier(), and the
  // frontier, calls and places given back are places; sessions and identities keep their
  // tickets. Whoever had not polled for a while (abandonment) gets a fresh deadline, since the
  // poll deadlines told so far were for their old places. Refused (false, nothing changes)
  // unless `order` is a permutation of first..last (DrawnOrder::Make), every ticket of it is
  // issued and still waiting (frontier < first, last <= last_issued), and every place of an
  // earlier draw has been settled (called and claimed, or not), so that one draw is in use at a
  // time. Reported as TicketsDrawn.
  bool Draw(std::uint64_t first, std::vector<std::uint64_t> order);
  // Where ticket `ticket` stands in line (its number, outside a draw), and who stands at `place`.
  std::uint64_t PlaceOf(std::uint64_t ticket) const {
    return drawn_ ? drawn_->PlaceOf(ticket) : ticket;
  }
  std::uint64_t TicketOf(std::uint64_t place) const {
    return drawn_ ? drawn_->TicketOf(place) : place;
  }
  // The draw in use (nullptr: none, or every place of it has been settled). Immutable: a store
  // may hand it to its readers.
  const std::shared_ptr<const DrawnOrder>& drawn() const { return drawn_; }

  // Every change from now on is reported to `sink` (nullptr: none). The sink must outlive the
  // room or be reset first.
  void SetEventSink(RoomEventSink* sink) { sink_ = sink; }
  // Makes a change reported earlier (by this room's previous life) again, without reporting it.
  // Events must come in the order they were reported; a snapshot's events replace all state.
  void Apply(const RoomEvent& event, const Instant& now);
  // Reports the whole durable state as snapshot events (RoomCheckpoint first).
  void Snapshot(RoomEventSink& sink, const Instant& now) const;

  const std::string& id() const { return id_; }
  const Policy& policy() const { return policy_; }
  std::uint64_t incarnation() const { return incarnation_; }
  std::uint64_t frontier() const { return frontier_; }
  std::uint64_t last_issued() const { return last_issued_; }
  // People in line: tickets above the frontier, less the places given back among them and the
  // tickets marked abandoned (which may come back).
  std::uint64_t waiting() const {
    const std::uint64_t out = departed_.size() + attendance_.abandoned();
    const std::uint64_t line = last_issued_ - frontier_;
    return line > out ? line - out : 0;
  }
  // Tickets above the frontier marked abandoned now. A waiting ticket that has not polled for
  // policy().abandon_after_polls times the pollAfterMs it was last told (0: never) is marked at
  // a tick: it stops counting in waiting() (and so in queueSize and the wait model), and the
  // frontier passes it without calling it, so it takes no slot. A poll before the frontier
  // reaches it takes the mark away: its place is kept. Positions are not touched (ticket -
  // frontier), so nobody's number ever grows.
  std::uint64_t abandoned() const { return attendance_.abandoned(); }
  // Who of the people in line still polls. Its Renew / NotePoll (for a ticket the room answered
  // as waiting) may be called from any thread without the room's lock: the poll path.
  Attendance& attendance() { return attendance_; }
  // Places given back above the frontier (not reached yet).
  std::uint64_t departed() const { return departed_.size(); }
  // Bypass numbers issued so far: the last is kBypassTicketBase + bypass_issued().
  std::uint64_t bypass_issued() const { return bypass_issued_; }
  std::int64_t active() const { return static_cast<std::int64_t>(sessions_.size()); }
  std::int64_t called_unclaimed() const { return called_unclaimed_; }
  // The frontier's observed advance (an EWMA), for metrics; the waits come from wait_model().
  double advance_rate() const { return estimator_.rate(); }
  const RoomCounters& counters() const { return counters_; }
  const Session* FindSession(std::uint64_t ticket) const;
  // The figures the wait model learns from, as a shared store would report them.
  RoomShape Shape() const;
  // The model of the waits, refreshed at every tick; its curve() is what a store publishes.
  const WaitModel& wait_model() const { return wait_model_; }
  // The wait of a ticket `position` places behind the frontier (nullopt: paused or closed).
  std::optional<WaitEstimate> EstimateWait(std::uint64_t position) const {
    return wait_model_.Estimate(position, policy_.mode);
  }
  // What a newcomer would face: 0 when a join now would be admitted at once.
  std::optional<WaitEstimate> NewcomerWait() const;
  std::optional<std::int64_t> NewcomerWaitSeconds() const;

 private:
  enum class CallState : std::uint8_t { kUnclaimed, kClaimed, kExpired };
  struct Call {
    util::TimePoint called_at;
    CallState state;
  };
  bool HasFreeSlot() const;
  TicketOutcome AdmitImmediately(std::string_view identity, const Instant& now);
  std::uint64_t IssueTicket(std::string_view identity, std::uint64_t frontier_at_join);
  // Calls the next `count` places in line; places given back on the way, and right after, are
  // passed over (as expired calls) without counting.
  void CallNext(std::uint64_t count, const Instant& now);
  // The frontier's one step: calls ticket frontier_ + 1, or passes it over when given back.
  // Returns whether it was called.
  bool Step(util::TimePoint at);
  const Session* CreateSession(std::uint64_t number, const Instant& now, bool immediate = false);
  // Makes (or refreshes) session `number` as given: replay, snapshots, and Admit.
  Session& RestoreSession(std::uint64_t number, std::int64_t admitted_unix_ms,
                          util::TimePoint last_seen, std::string identity);
  // A bypass session restored with an identity becomes that identity's one bypass session.
  void RememberBypass(const Session& session);
  void EndSession(std::unordered_map<std::uint64_t, Session>::iterator it);
  void ForgetIdentityOf(std::uint64_t ticket);
  bool PastGrace(const Call& call, util::TimePoint now) const;
  void ExpireCall(Call& call, std::uint64_t number);
  void DropSettledCalls(util::TimePoint now, TickReport* report);
  void Emit(const RoomEvent& event) {
    if (sink_ != nullptr) sink_->OnEvent(event);
  }
  void MarkSeen(Session& session, const Instant& now);
  // Whether `session` has reached policy_.session_max (never, when it is 0).
  bool PastSessionMax(const Session& session, const Instant& now) const;
  // Ends session `it` because it reached session_max (reported like an idle end).
  void EndAtSessionMax(std::unordered_map<std::uint64_t, Session>::iterator it, const Instant& now);
  // Adds the length of `session`, ended at `ended_unix_ms`, to counters_.session_lengths
  // (wall time, as session_max and tokens count it).
  void CountLength(const Session& session, std::int64_t ended_unix_ms);
  void ApplyPolicy(const Policy& policy);
  TicketOutcome Resolve(std::uint64_t number, std::uint64_t frontier_at_join, const Instant& now);
  // Draw's checks and change, for a live draw and a replayed one (`restoring`: right after a
  // snapshot's checkpoint, when the range may already be partly called).
  bool UseDraw(std::shared_ptr<const DrawnOrder> drawn, bool restoring);

  std::string id_;
  Policy configured_policy_;  // as the file says; runtime changes are relative to it
  Policy policy_;
  RoomEventSink* sink_ = nullptr;
  std::uint64_t incarnation_;
  std::uint64_t last_issued_ = 0;
  std::uint64_t frontier_ = 0;
  std::uint64_t bypass_issued_ = 0;  // bypass numbers issued (Admit)

  std::uint64_t pending_base_ = 1;  // ticket number of calls_.front()
  std::deque<Call> calls_;          // tickets pending_base_ .. frontier_
  std::int64_t called_unclaimed_ = 0;

  std::unordered_map<std::uint64_t, Session> sessions_;
  std::list<std::uint64_t> idle_order_;  // session tickets, least recently seen first
  // (admitted_unix_ms, ticket) of every session, earliest first: the sessions policy_.session_max
  // ends, in the order it ends them.
  std::set<std::pair<std::int64_t, std::uint64_t>> admission_order_;

  // Places given back above the frontier: the frontier passes them without calling them.
  std::set<std::uint64_t> departed_;

  // Who holds which place in line (and which called ticket), by identity and by ticket.
  IdentityTickets identities_;
  // identity -> its live bypass session (Admit); the session holds the identity too.
  std::unordered_map<std::string, std::uint64_t, util::StringHash, std::equal_to<>>
      bypass_sessions_;

  RateBudget budget_;
  AdvanceRateEstimator estimator_;
  WaitModel wait_model_;
  util::TimePoint last_tick_;
  std::uint64_t frontier_at_last_tick_ = 0;
  std::uint64_t waiting_after_last_tick_ = 0;
  RoomCounters counters_;
  Attendance attendance_;

  // The opening draw in use (Draw), or nullptr; dropped once its places are all settled.
  std::shared_ptr<const DrawnOrder> drawn_;
  // Apply: the last event was a snapshot's checkpoint (its draw may follow).
  bool after_checkpoint_ = false;
};

}  // namespace vwr::core
