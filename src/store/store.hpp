#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy.hpp"
#include "core/room.hpp"
#include "core/wait_model.hpp"

namespace vwr::store {

// A ticket's standing, as the API reports it. A plain value: nothing in it points into a store.
struct TicketAnswer {
  core::TicketStatus status = core::TicketStatus::kWaiting;
  std::uint64_t ticket = 0;            // 0 when none was issued
  std::uint64_t frontier_at_join = 0;  // initialPosition = ticket - frontier_at_join
  std::uint64_t position = 0;          // place in line: ticket - frontier (1: next to be called;
                                       // people ahead = position - 1); 0 unless waiting
  std::uint64_t queue_size = 0;        // people waiting in the room
  // Waiting (and full) answers: the estimated wait and its range, which holds the real wait
  // about eight times in ten (core::WaitModel). All three are set together, or none (paused,
  // closed); 0 s when nobody is ahead. eta_basis says whether sessions have been seen to end
  // yet (kObserved) or the policy and a guess stand in (kPolicy: the range is wide).
  std::optional<std::int64_t> eta_seconds;
  std::optional<std::int64_t> eta_low_seconds;
  std::optional<std::int64_t> eta_high_seconds;
  core::WaitBasis eta_basis = core::WaitBasis::kObserved;
  // When admitted: the session, from which the admission token is made.
  std::int64_t admitted_unix = 0;
  std::string identity;
  // Embedded store only: the journal record that makes this answer's change durable (see
  // EmbeddedStore::AwaitDurable); 0 when nothing changed. The asynchronous RoomState calls
  // answer only once that is done.
  std::uint64_t durable_lsn = 0;
};

// What a session operation did (embedded store, synchronous calls).
struct SessionChange {
  bool found = false;             // there was such a session
  std::uint64_t durable_lsn = 0;  // as in TicketAnswer
};

// Why a store could not do what it was asked. The request may be tried again.
enum class StoreError {
  kUnavailable = 1,  // the shared store cannot be reached (or answered too late)
  kNotDurable,       // the change could not be recorded
};
const boost::system::error_category& StoreCategory();
inline boost::system::error_code make_error_code(StoreError e) {  // NOLINT: found by ADL
  return {static_cast<int>(e), StoreCategory()};
}

}  // namespace vwr::store

template <>
struct boost::system::is_error_code_enum<vwr::store::StoreError> : std::true_type {};

namespace vwr::store {

// The completion of an asynchronous store call: runs exactly once, on any thread, once the
// change is safe (durable in the journal, or acknowledged by the shared store), or with an error.
template <typename T>
using Done = std::function<void(boost::system::result<T>)>;

// A room's live figures, for room info, metrics and operators.
struct RoomFigures {
  std::uint64_t frontier = 0;
  std::uint64_t last_issued = 0;
  std::uint64_t queue_size = 0;
  std::int64_t active = 0;
  std::int64_t called_unclaimed = 0;
  double advance_rate = 0.0;
  // What a newcomer would wait (0: let in at once), and its range, as in TicketAnswer.
  std::optional<std::int64_t> newcomer_eta_seconds;
  std::optional<std::int64_t> newcomer_eta_low_seconds;
  std::optional<std::int64_t> newcomer_eta_high_seconds;
  core::WaitBasis newcomer_eta_basis = core::WaitBasis::kObserved;
  core::RoomCounters counters;
  // Whose figures these are. The embedded store's are this node's; a shared store's are the
  // whole cluster's (every node reports the same values, refreshed at its tick), with the number
  // of nodes that ticked the room within the last three lease periods and the lease holder.
  bool cluster_wide = false;
  std::uint32_t nodes = 1;
  std::string tick_holder;
  // A shared store: the last ticket issued (in the whole cluster) when this node first read the
  // room back, at its first tick; tickets after it were issued while this node watched. 0
  // before that tick, and for the embedded store (which never reads back: last_issued is it).
  std::uint64_t first_read_last_issued = 0;
};

// Sets `answer`'s wait from `wait` (nullopt: none), as every store does for its answers.
void SetWait(TicketAnswer& answer, const std::optional<core::WaitEstimate>& wait,
             core::WaitBasis basis);
// The same for a room's figures (a newcomer's wait).
void SetNewcomerWait(RoomFigures& figures, const std::optional<core::WaitEstimate>& wait,
                     core::WaitBasis basis);

// The shared state of one room, whichever store holds it. Every method is thread-safe.
//
// StatusCached() is the hot path: an implementation answers a waiting ticket from values it
// already holds, without a lock shared by other rooms, without allocating and without disk or
// network I/O. Everything that changes state is asynchronous (Done), because a store may need
// a disk write or a network round trip before the change is safe to report.
class RoomState {
 public:
  virtual ~RoomState() = default;

  virtual const std::string& id() const = 0;
  // The identifier of this room's state lifetime; tickets carry it.
  virtual std::uint64_t incarnation() const = 0;
  // The policy in force. The reference stays valid for the life of the store.
  virtual const core::Policy& policy() const = 0;
  // What the API does when this store fails a join or a claim (RoomSpec::fail_open).
  virtual bool fail_open() const = 0;

  // A waiting ticket's standing, from what this node holds. False when the ticket is not
  // simply waiting (called, admitted, ended, unknown): then Status() decides, and may claim it.
  virtual bool StatusCached(std::uint64_t ticket, std::uint64_t frontier_at_join,
                            TicketAnswer& answer) = 0;
  // What StatusCached would tell a waiting ticket, without being its poll: an observer's read
  // (the traffic analysis judging the estimates) must not keep a silent ticket's place.
  virtual bool PeekWaiting(std::uint64_t ticket, TicketAnswer& answer) const = 0;
  virtual void Join(std::string identity, Done<TicketAnswer> done) = 0;
  virtual void Status(std::uint64_t ticket, std::uint64_t frontier_at_join,
                      Done<TicketAnswer> done) = 0;
  // The bool: whether there was such a session.
  virtual void Heartbeat(std::uint64_t session_ticket, Done<bool> done) = 0;
  virtual void Leave(std::uint64_t session_ticket, Done<bool> done) = 0;
  // Ends every session of the room, as Leave ends one (an operator's "end all sessions"): line
  // and bypass sessions alike; places in line and called tickets stay, and the freed slots go
  // to the line from the next tick. The count: how many sessions ended. A shared store ends
  // them in batches, so that Redis keeps serving other requests in between; a session that
  // begins while they end may be ended too.
  virtual void LeaveAll(Done<std::uint64_t> done) = 0;
  // Gives back ticket `ticket`'s place before its session begins (core::Room::Withdraw): a
  // waiting place leaves the line and takes no slot when the frontier passes it; a called one
  // gives its call up, and its slot returns at once. The bool: whether there was such a place.
  virtual void Withdraw(std::uint64_t ticket, Done<bool> done) = 0;
  // Gives up what `identity`'s place in line is (a TRACER check-out, on any node): its session
  // ends, or its waiting or called place is given back (Withdraw). The bool: whether there was
  // one. A bypass session (Admit) is not the identity's place and is not found this way.
  virtual void LeaveIdentity(std::string identity, Done<bool> done) = 0;
  virtual void SetPolicy(const core::Policy& policy, Done<void> done) = 0;
  virtual RoomFigures Figures() = 0;

  // Admits `identity` at once, without a place in line and whatever the room's limits: a holder
  // of a valid entry pass, or a caller on the room's allow list. The session is a real one (it
  // counts in `active`, takes heartbeats, ends by leave or idleness) and is counted in
  // RoomCounters::bypass; its ticket comes from the bypass range (core::kBypassTicketBase and up),
  // never from the line. The answer is kAdmitted with that ticket.
  virtual void Admit(std::string identity, Done<TicketAnswer> done) = 0;

  // Whether session `session_ticket` has ended (by leave, idleness or an operator), so that the
  // admission tokens naming it must no longer be honoured. The hot path of /api/v1/verify: no
  // I/O, no lock shared with other rooms. A shared store answers from what it has learned at its
  // ticks, so that a session ended on any node reads as ended on every node within a second.
  // Ticket 0 names no session (a fail_open token holds it): true on every store, so the caller
  // decides what such a token is worth before asking. Any other number that never named a
  // session: true on the embedded store, which knows every live session; false on a shared
  // store, which knows only the ends it has learned of (a token naming such a number cannot
  // exist: tokens are signed).
  virtual bool SessionEnded(std::uint64_t session_ticket) = 0;

  // Takes `key` once (a proof-of-work challenge; see api/challenge.hpp): true the first time,
  // false while an earlier taking is remembered. `keep`: how long to remember it, at least until
  // the key is refused anyway for its age (the rest of the challenge's lifetime). The embedded
  // store remembers in memory (a restart forgets: a challenge used before it may be used once
  // more within its lifetime); a shared store sets the key with SET NX PX in the room's hash
  // slot, so that a key taken on one node is refused on every node.
  virtual void ConsumeOnce(std::string key, std::chrono::milliseconds keep, Done<bool> done) = 0;

  // The opening draw (a schedule's shuffle, docs/control.md): the waiting tickets first..last
  // are called in `order` (order[i] is the ticket at place first + i) from now on, on every
  // node; a waiting ticket's position becomes its place - frontier. The bool: whether the room
  // took it (core::Room::Draw: a permutation of issued, still waiting tickets, at most
  // core::kMaxDrawnTickets, while no earlier draw is in use).
  virtual void Draw(std::uint64_t first, std::vector<std::uint64_t> order, Done<bool> done) = 0;
};

// A room as the configuration describes it.
struct RoomSpec {
  std::string id;
  core::Policy policy;
  // When the store cannot be reached: let people through (true) or keep them out (false).
  bool fail_open = false;
  // How long the room's admission tokens live (0: the policy's session_timeout). A shared store
  // remembers an ended session for at least this long, so that no token naming it verifies.
  std::chrono::seconds token_lifetime{0};
};

// What a Reconfigure changed, room ids in configuration order.
struct ReconfigureReport {
  std::vector<std::string> added;           // served from now on (new, or back after removal)
  std::vector<std::string> removed;         // no longer served; their state is kept
  std::vector<std::string> policy_changed;  // the policy in force changed, as the file's did
};

// All rooms of this node.
//
// The set of rooms served changes only when the configuration is reloaded (Reconfigure), which is
// rare, so it is published as an immutable version: Find() and Rooms() take no lock, and the
// pointers and the list they hand out stay valid for the store's life. A room taken out of the
// configuration is no longer served, but its state is kept (and stays durable), so that if it comes
// back its tickets are still valid and its numbering goes on: no ticket number is issued twice.
class Store {
 public:
  virtual ~Store() = default;
  // A room served now, or nullptr.
  virtual RoomState* Find(std::string_view room_id) = 0;
  // The rooms served now, in configuration order.
  virtual const std::vector<RoomState*>& Rooms() = 0;
  // Makes `rooms` the rooms served, in that order: adds the new ones, stops serving the ones left
  // out and applies each file policy through RoomState's rules (core::Room::Reconfigure). Ids are
  // unique (the configuration guarantees it). Call from one thread at a time.
  virtual ReconfigureReport Reconfigure(const std::vector<RoomSpec>& rooms) = 0;
  // One tick of every room: expiries, then the frontier. Called about every 100 ms.
  virtual void Tick() = 0;
  // False when the store cannot serve (for /readyz).
  virtual bool Ready() const = 0;
  // Makes everything durable and stops background work (shutdown). Blocking.
  virtual void Close() {}
};

}  // namespace vwr::store
