#include "core/room.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

namespace vwr::core {

std::string_view TicketStatusName(TicketStatus status) {
  switch (status) {
    case TicketStatus::kWaiting:
      return "waiting";
    case TicketStatus::kAdmitted:
      return "admitted";
    case TicketStatus::kExpired:
      return "expired";
    case TicketStatus::kRejected:
      return "rejected";
    case TicketStatus::kFull:
      return "full";
  }
  return "expired";
}

Instant Instant::From(const util::Clock& clock) {
  return Instant{clock.Now(), std::chrono::duration_cast<std::chrono::milliseconds>(
                                  clock.WallNow().time_since_epoch())
                                  .count()};
}

util::TimePoint Instant::MonoOf(std::int64_t at_unix_ms) const {
  return mono - std::chrono::milliseconds(std::max<std::int64_t>(0, unix_ms - at_unix_ms));
}

namespace {
// Wall time of a monotonic reading, as seen from `now`.
std::int64_t WallOf(util::TimePoint t, const Instant& now) {
  return now.unix_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now.mono - t).count();
}
}  // namespace

Room::Room(std::string id, const Policy& policy, std::uint64_t incarnation, util::TimePoint now)
    : id_(std::move(id)),
      configured_policy_(policy),
      policy_(policy),
      incarnation_(incarnation),
      budget_(policy.admit_rate, policy.burst, now),
      estimator_(policy.admit_rate),
      wait_model_(policy, now),
      last_tick_(now),
      attendance_(now) {
  attendance_.set_after_polls(policy.abandon_after_polls);
  // A new room is empty: whatever happens before the first tick is learned at it. (A replayed
  // room's history arrives through Apply, which makes the model start afresh instead.)
  wait_model_.Observe(now, policy_, Shape());
}

TicketOutcome Room::Join(std::string_view identity, const Instant& now) {
  if (!identity.empty()) {
    if (const std::optional<IdentityTickets::Held> place = identities_.Find(identity)) {
      TicketOutcome held = Resolve(place->ticket, place->frontier_at_join, now);
      if (held.status != TicketStatus::kExpired) {
        if (held.status != TicketStatus::kRejected) ++counters_.rejoins;
        return held;
      }
      // The old ticket is spent (Resolve forgot it); this join starts a new place in line.
    }
  }

  switch (policy_.mode) {
    case Mode::kReject:
      ++counters_.rejected;
      return TicketOutcome{.status = TicketStatus::kRejected};
    case Mode::kPassthrough:
      // Anyone still waiting from before the switch is called first, so the range stays whole.
      CallNext(waiting(), now);
      ++counters_.joins;
      return AdmitImmediately(identity, now);
    case Mode::kFifo:
      if (waiting() == 0) {
        budget_.Refill(now.mono, /*demand=*/false);
        if (budget_.Available() >= 1 && HasFreeSlot()) {
          budget_.Take(1);
          ++counters_.joins;
          return AdmitImmediately(identity, now);
        }
      }
      break;
    case Mode::kPause:
      break;
  }

  if (policy_.queue_limit > 0 && waiting() >= static_cast<std::uint64_t>(policy_.queue_limit)) {
    ++counters_.full;
    return TicketOutcome{.status = TicketStatus::kFull};
  }
  ++counters_.joins;
  const std::uint64_t number = IssueTicket(identity, frontier_);
  const std::optional<WaitEstimate> wait = EstimateWait(number - frontier_);
  attendance_.Expect(
      number, attendance_.PollDeadline(
                  now.mono, wait ? std::optional(wait->eta_seconds) : std::nullopt, policy_));
  return TicketOutcome{
      .status = TicketStatus::kWaiting, .ticket = number, .frontier_at_join = frontier_};
}

TicketOutcome Room::Admit(std::string_view identity, const Instant& now) {
  if (!identity.empty()) {
    if (auto held = bypass_sessions_.find(identity); held != bypass_sessions_.end()) {
      // Its session lives (an ended one is forgotten at its end): that one, not another.
      Session& session = sessions_.at(held->second);
      MarkSeen(session, now);
      return TicketOutcome{.status = TicketStatus::kAdmitted,
                           .ticket = session.ticket,
                           .frontier_at_join = session.ticket,
                           .session = &session};
    }
  }
  const std::uint64_t number = kBypassTicketBase + ++bypass_issued_;
  const Session& session = RestoreSession(number, now.unix_ms, now.mono, std::string(identity));
  RememberBypass(session);
  ++counters_.bypass;
  Emit(BypassAdmitted{number, now.unix_ms, session.identity});
  // Nobody is ahead of it: initialPosition (ticket - frontier_at_join) is 0, as for a join
  // admitted at once.
  return TicketOutcome{.status = TicketStatus::kAdmitted,
                       .ticket = number,
                       .frontier_at_join = number,
                       .session = &session};
}

TicketOutcome Room::Poll(std::uint64_t number, const Instant& now) {
  return Resolve(number, 0, now);
}

TicketOutcome Room::Resolve(std::uint64_t number, std::uint64_t frontier_at_join,
                            const Instant& now) {
  TicketOutcome out{.ticket = number, .frontier_at_join = frontier_at_join};
  if (number >= kBypassTicketBase) {
    // A bypass session was never in line: it is admitted while it lives, and that is all.
    if (auto it = sessions_.find(number); it != sessions_.end()) {
      if (PastSessionMax(it->second, now)) {
        EndAtSessionMax(it, now);
        out.status = TicketStatus::kExpired;
        return out;
      }
      MarkSeen(it->second, now);
      out.session = &it->second;
      out.status = TicketStatus::kAdmitted;
    } else {
      out.status = TicketStatus::kExpired;
    }
    return out;
  }
  if (number == 0 || number > last_issued_) {
    out.status = TicketStatus::kExpired;  // not from this room's life; cannot be honoured
    return out;
  }
  // The line is kept in places; the session, if any, under the ticket.
  const std::uint64_t place = PlaceOf(number);
  if (place > frontier_) {
    if (departed_.contains(place)) {
      out.status = TicketStatus::kExpired;  // given back: it is nobody's place any more
    } else {
      out.status = policy_.mode == Mode::kReject ? TicketStatus::kRejected : TicketStatus::kWaiting;
      const std::optional<WaitEstimate> wait = EstimateWait(place - frontier_);
      attendance_.NotePoll(place, now.mono, wait ? std::optional(wait->eta_seconds) : std::nullopt,
                           policy_);
    }
    return out;
  }
  if (place >= pending_base_) {
    Call& call = calls_[place - pending_base_];
    if (call.state == CallState::kUnclaimed) {
      if (PastGrace(call, now.mono)) {
        ExpireCall(call, place);
        out.status = TicketStatus::kExpired;
        return out;
      }
      call.state = CallState::kClaimed;
      --called_unclaimed_;
      out.session = CreateSession(number, now);
      out.status = TicketStatus::kAdmitted;
      return out;
    }
  }
  if (auto it = sessions_.find(number); it != sessions_.end()) {
    if (PastSessionMax(it->second, now)) {
      EndAtSessionMax(it, now);
      out.status = TicketStatus::kExpired;
      return out;
    }
    Session& session = it->second;
    MarkSeen(session, now);
    out.session = &session;
    out.status = TicketStatus::kAdmitted;
    return out;
  }
  ForgetIdentityOf(number);
  out.status = TicketStatus::kExpired;
  return out;
}

void Room::MarkSeen(Session& session, const Instant& now) {
  session.last_seen = now.mono;
  idle_order_.splice(idle_order_.end(), idle_order_, session.idle_position);
  // Expiry only needs to know activity to within a tenth of the timeout, so most heartbeats and
  // polls of admitted users change nothing durable.
  const util::Duration report_every =
      std::max<util::Duration>(std::chrono::seconds(1), policy_.session_timeout / 10);
  if (now.mono - session.last_reported >= report_every) {
    session.last_reported = now.mono;
    Emit(SessionSeen{session.ticket, now.unix_ms});
  }
}

bool Room::Heartbeat(std::uint64_t session_ticket, const Instant& now) {
  auto it = sessions_.find(session_ticket);
  if (it == sessions_.end()) return false;
  if (PastSessionMax(it->second, now)) {
    // However active, a session ends at its cap: no heartbeat buys more time inside.
    EndAtSessionMax(it, now);
    return false;
  }
  MarkSeen(it->second, now);
  return true;
}

bool Room::PastSessionMax(const Session& session, const Instant& now) const {
  return policy_.session_max.count() > 0 &&
         session.admitted_unix_ms + policy_.session_max.count() <= now.unix_ms;
}

void Room::EndAtSessionMax(std::unordered_map<std::uint64_t, Session>::iterator it,
                           const Instant& now) {
  Emit(SessionEnded{it->first, EndReason::kIdle, now.unix_ms});
  CountLength(it->second, now.unix_ms);
  EndSession(it);
  ++counters_.expired_sessions;
}

bool Room::Leave(std::uint64_t session_ticket, const Instant& now) {
  auto it = sessions_.find(session_ticket);
  if (it == sessions_.end()) return false;
  Emit(SessionEnded{session_ticket, EndReason::kLeave, now.unix_ms});
  CountLength(it->second, now.unix_ms);
  EndSession(it);
  ++counters_.leaves;
  return true;
}

std::uint64_t Room::LeaveAll(const Instant& now) {
  // A copy: each Leave takes its session out of the idle order.
  const std::vector<std::uint64_t> tickets(idle_order_.begin(), idle_order_.end());
  std::uint64_t ended = 0;
  for (const std::uint64_t ticket : tickets) ended += Leave(ticket, now) ? 1 : 0;
  return ended;
}

bool Room::Withdraw(std::uint64_t number) {
  const std::uint64_t place = PlaceOf(number);
  if (place > frontier_ && number <= last_issued_ && number < kBypassTicketBase) {
    if (!departed_.insert(place).second) return false;
    attendance_.Forget(place);  // not abandoned as well: it is counted once, as given back
  } else if (place >= pending_base_ && place <= frontier_) {
    Call& call = calls_[place - pending_base_];
    if (call.state != CallState::kUnclaimed) return false;
    call.state = CallState::kExpired;  // its slot returns at once: not a no-show
    --called_unclaimed_;
  } else {
    return false;
  }
  ForgetIdentityOf(number);
  ++counters_.withdrawn;
  Emit(TicketWithdrawn{number});
  return true;
}

bool Room::LeaveIdentity(std::string_view identity, const Instant& now) {
  const std::optional<IdentityTickets::Held> held = identities_.Find(identity);
  if (!held) return false;
  const std::uint64_t ticket = held->ticket;
  return sessions_.contains(ticket) ? Leave(ticket, now) : Withdraw(ticket);
}

TickReport Room::Tick(const Instant& now) {
  TickReport report;
  while (!idle_order_.empty()) {
    auto it = sessions_.find(idle_order_.front());
    if (it->second.last_seen + policy_.session_timeout > now.mono) break;
    Emit(SessionEnded{it->first, EndReason::kIdle, now.unix_ms});
    CountLength(it->second, now.unix_ms);
    EndSession(it);
    ++counters_.expired_sessions;
    ++report.expired_sessions;
  }
  // The cap on time inside, from admission (wall time, as tokens count it), however active.
  if (policy_.session_max.count() > 0) {
    while (!admission_order_.empty() &&
           admission_order_.begin()->first + policy_.session_max.count() <= now.unix_ms) {
      EndAtSessionMax(sessions_.find(admission_order_.begin()->second), now);
      ++report.expired_sessions;
    }
  }
  DropSettledCalls(now.mono, &report);
  if (attendance_.after_polls() > 0) {
    // Tickets not watched yet (a line restored by a restart) get a whole slowest poll interval
    // times N from now: nothing was recorded of their polls.
    const std::uint32_t grace = attendance_.DeadlineAfter(
        now.mono, static_cast<std::int64_t>(attendance_.after_polls()) * policy_.poll_max.count());
    report.abandoned = attendance_.Sweep(frontier_, last_issued_, attendance_.Coarse(now.mono),
                                         grace, kSweepBudget);
  }

  budget_.Refill(now.mono, /*demand=*/waiting() > 0);
  std::uint64_t advance = 0;
  if (policy_.mode == Mode::kFifo) {
    const std::int64_t free_slots =
        std::max<std::int64_t>(0, policy_.max_active - active() - called_unclaimed_);
    advance = std::min<std::uint64_t>(
        {static_cast<std::uint64_t>(std::max<std::int64_t>(0, budget_.Available())),
         static_cast<std::uint64_t>(free_slots), waiting()});
    budget_.Take(static_cast<std::int64_t>(advance));
  } else if (policy_.mode == Mode::kPassthrough) {
    advance = waiting();
  }
  CallNext(advance, now);
  report.called = advance;

  // People waited through the whole interval only if some were left waiting at the last tick
  // (the line shrinks only at ticks), so only then is the advance a measure of throughput.
  if (policy_.mode == Mode::kFifo && waiting_after_last_tick_ > 0) {
    estimator_.Observe(frontier_ - frontier_at_last_tick_, now.mono - last_tick_);
  }
  last_tick_ = now.mono;
  frontier_at_last_tick_ = frontier_;
  waiting_after_last_tick_ = waiting();
  wait_model_.Observe(now.mono, policy_, Shape());
  return report;
}

void Room::SetPolicy(const Policy& policy) {
  Emit(PolicyChanged{configured_policy_, policy});
  ApplyPolicy(policy);
}

bool Room::Draw(std::uint64_t first, std::vector<std::uint64_t> order) {
  std::optional<DrawnOrder> drawn = DrawnOrder::Make(first, std::move(order));
  if (!drawn) return false;
  auto shared = std::make_shared<const DrawnOrder>(std::move(*drawn));
  if (!UseDraw(shared, /*restoring=*/false)) return false;
  Emit(TicketsDrawn{shared->first(), shared->order()});
  return true;
}

bool Room::UseDraw(std::shared_ptr<const DrawnOrder> drawn, bool restoring) {
  if (drawn->last() > last_issued_) return false;
  // Nobody of the range may have been called: their calls are placed by number already. (A
  // snapshot's draw comes before its calls, which it places.)
  if (!restoring && drawn->first() <= frontier_) return false;
  if (drawn_ && drawn_->last() >= pending_base_) return false;  // the earlier one is in use
  drawn_ = std::move(drawn);
  // Places given back so far were recorded under their tickets' numbers: they move with them.
  std::vector<std::uint64_t> vacated, moved;
  for (auto it = departed_.lower_bound(drawn_->first());
       it != departed_.end() && *it <= drawn_->last();) {
    vacated.push_back(*it);
    moved.push_back(drawn_->PlaceOf(*it));
    it = departed_.erase(it);
  }
  departed_.insert(moved.begin(), moved.end());
  if (!restoring) {
    // Poll deadlines (and abandonment marks) were kept by number too: everyone in line gets a
    // whole slowest poll interval times n from the last tick, as when the policy changes n, and
    // the places given back move with their tickets.
    Policy slowest = policy_;
    slowest.abandon_after_polls = std::max<std::uint32_t>(policy_.abandon_after_polls, 1);
    const std::uint32_t deadline =
        attendance_.DeadlineAfter(last_tick_, SilenceAllowedMs(std::nullopt, slowest));
    attendance_.Pardon(frontier_, last_issued_, deadline);
    for (const std::uint64_t place : vacated) attendance_.Expect(place, deadline);
    for (const std::uint64_t place : moved) attendance_.Forget(place);
  }
  return true;
}

bool Room::Reconfigure(const Policy& policy) {
  if (policy == configured_policy_) return false;
  configured_policy_ = policy;
  const bool changed = !(policy == policy_);
  ApplyPolicy(policy);
  return changed;
}

void Room::ApplyPolicy(const Policy& policy) {
  if (policy.admit_rate != policy_.admit_rate) estimator_.Reset(policy.admit_rate);
  budget_.SetRate(policy.admit_rate, policy.burst);
  if (policy.abandon_after_polls != attendance_.after_polls()) {
    attendance_.set_after_polls(policy.abandon_after_polls);
    // Whoever was marked is present again, and everyone has n of the slowest poll intervals
    // from the last tick to poll in: deadlines set under another n are not what anyone was told.
    Policy slowest = policy;
    slowest.abandon_after_polls = std::max<std::uint32_t>(policy.abandon_after_polls, 1);
    attendance_.Pardon(
        frontier_, last_issued_,
        attendance_.DeadlineAfter(last_tick_, SilenceAllowedMs(std::nullopt, slowest)));
  }
  policy_ = policy;
}

const Session* Room::FindSession(std::uint64_t ticket) const {
  auto it = sessions_.find(ticket);
  return it == sessions_.end() ? nullptr : &it->second;
}

RoomShape Room::Shape() const {
  return RoomShape{.frontier = frontier_,
                   .last_issued = last_issued_,
                   .waiting = waiting(),
                   .active = active(),
                   .called_unclaimed = called_unclaimed_,
                   .counters = counters_};
}

std::optional<WaitEstimate> Room::NewcomerWait() const {
  if (policy_.mode == Mode::kFifo && waiting() == 0 && HasFreeSlot()) return WaitEstimate{};
  // A newcomer's place: behind everyone, places given back included (the model passes them).
  return EstimateWait(last_issued_ - frontier_ + 1);
}

std::optional<std::int64_t> Room::NewcomerWaitSeconds() const {
  const std::optional<WaitEstimate> wait = NewcomerWait();
  if (!wait) return std::nullopt;
  return wait->eta_seconds;
}

bool Room::HasFreeSlot() const { return active() + called_unclaimed_ < policy_.max_active; }

TicketOutcome Room::AdmitImmediately(std::string_view identity, const Instant& now) {
  // Nobody was waiting, so the frontier moves to this very ticket: it had nobody ahead of it.
  const std::uint64_t number = IssueTicket(identity, last_issued_ + 1);
  frontier_ = number;
  calls_.push_back(Call{now.mono, CallState::kClaimed});
  Emit(FrontierMoved{frontier_, now.unix_ms});
  ++counters_.immediate;
  return TicketOutcome{.status = TicketStatus::kAdmitted,
                       .ticket = number,
                       .frontier_at_join = number,
                       .session = CreateSession(number, now, /*immediate=*/true)};
}

std::uint64_t Room::IssueTicket(std::string_view identity, std::uint64_t frontier_at_join) {
  const std::uint64_t number = ++last_issued_;
  if (!identity.empty()) {
    identities_.Hold(identity, IdentityTickets::Held{number, frontier_at_join});
  }
  Emit(TicketIssued{number, frontier_at_join, std::string(identity)});
  return number;
}

bool Room::Step(util::TimePoint at) {
  ++frontier_;
  if (!departed_.empty() && *departed_.begin() == frontier_) {
    departed_.erase(departed_.begin());
    attendance_.Forget(frontier_);
    calls_.push_back(Call{at, CallState::kExpired});  // given back: passed over, no slot
    return false;
  }
  // Its mark is taken as the frontier passes: a poll from here on goes to the room. One that
  // came back before this kept its place and is called below.
  if (attendance_.Pass(frontier_) && attendance_.after_polls() > 0) {
    ++counters_.abandoned;
    Emit(TicketAbandoned{TicketOf(frontier_)});
    calls_.push_back(Call{at, CallState::kExpired});  // silent: passed over, no slot
    return false;
  }
  calls_.push_back(Call{at, CallState::kUnclaimed});
  ++called_unclaimed_;
  return true;
}

void Room::CallNext(std::uint64_t count, const Instant& now) {
  const std::uint64_t before = frontier_;
  std::uint64_t called = 0;
  // Places passed without a call are bounded per call, so that a flood of joins that never
  // polled costs one tick no more than the sweep's budget; the rest are passed at the next.
  std::uint64_t passed = 0;
  while (called < count && frontier_ < last_issued_ && passed < kSweepBudget) {
    if (Step(now.mono)) {
      ++called;
    } else {
      ++passed;
    }
  }
  // Places given back (or abandoned) right behind the frontier are passed over now: nobody waits
  // for them.
  while (frontier_ < last_issued_ && passed < kSweepBudget &&
         ((!departed_.empty() && *departed_.begin() == frontier_ + 1) ||
          attendance_.Abandoned(frontier_ + 1))) {
    Step(now.mono);
    ++passed;
  }
  if (frontier_ != before) Emit(FrontierMoved{frontier_, now.unix_ms});
}

const Session* Room::CreateSession(std::uint64_t number, const Instant& now, bool immediate) {
  auto [it, inserted] = sessions_.try_emplace(number);
  Session& session = it->second;
  if (inserted) {
    session.ticket = number;
    session.identity = identities_.IdentityOf(number);
    session.admitted_unix_ms = now.unix_ms;
    session.last_reported = now.mono;
    idle_order_.push_back(number);
    session.idle_position = std::prev(idle_order_.end());
    admission_order_.emplace(session.admitted_unix_ms, number);
    ++counters_.admissions;
    Emit(TicketClaimed{number, now.unix_ms, immediate});
  }
  session.last_seen = now.mono;
  return &session;
}

void Room::CountLength(const Session& session, std::int64_t ended_unix_ms) {
  counters_.session_lengths.Add(ended_unix_ms - session.admitted_unix_ms);
}

void Room::EndSession(std::unordered_map<std::uint64_t, Session>::iterator it) {
  idle_order_.erase(it->second.idle_position);
  admission_order_.erase({it->second.admitted_unix_ms, it->first});
  ForgetIdentityOf(it->first);
  if (it->first >= kBypassTicketBase && !it->second.identity.empty()) {
    auto held = bypass_sessions_.find(it->second.identity);
    if (held != bypass_sessions_.end() && held->second == it->first) bypass_sessions_.erase(held);
  }
  sessions_.erase(it);
}

void Room::RememberBypass(const Session& session) {
  if (session.ticket >= kBypassTicketBase && !session.identity.empty()) {
    bypass_sessions_[session.identity] = session.ticket;
  }
}

void Room::ForgetIdentityOf(std::uint64_t ticket) { identities_.ForgetTicket(ticket); }

bool Room::PastGrace(const Call& call, util::TimePoint now) const {
  return call.called_at + policy_.claim_grace <= now;
}

void Room::ExpireCall(Call& call, std::uint64_t place) {
  const std::uint64_t number = TicketOf(place);
  Emit(CallExpired{number});
  call.state = CallState::kExpired;
  --called_unclaimed_;
  ++counters_.no_shows;
  ForgetIdentityOf(number);
}

void Room::DropSettledCalls(util::TimePoint now, TickReport* report) {
  // Calls are in call order, so the oldest unclaimed call decides whether any later one expired.
  while (!calls_.empty()) {
    Call& call = calls_.front();
    if (call.state == CallState::kUnclaimed) {
      if (!PastGrace(call, now)) break;
      ExpireCall(call, pending_base_);
      ++report->no_shows;
    }
    calls_.pop_front();
    ++pending_base_;
  }
  // Every place of the draw is settled: tickets resolve by their sessions from here on.
  if (drawn_ && drawn_->last() < pending_base_) drawn_.reset();
}

Session& Room::RestoreSession(std::uint64_t number, std::int64_t admitted_unix_ms,
                              util::TimePoint last_seen, std::string identity) {
  auto [it, inserted] = sessions_.try_emplace(number);
  Session& session = it->second;
  if (inserted) {
    session.ticket = number;
    idle_order_.push_back(number);
    session.idle_position = std::prev(idle_order_.end());
  } else {
    idle_order_.splice(idle_order_.end(), idle_order_, session.idle_position);
    admission_order_.erase({session.admitted_unix_ms, number});
  }
  admission_order_.emplace(admitted_unix_ms, number);
  session.identity = std::move(identity);
  session.admitted_unix_ms = admitted_unix_ms;
  session.last_seen = last_seen;
  session.last_reported = last_seen;
  return session;
}

void Room::Apply(const RoomEvent& event, const Instant& now) {
  // Replaying must not report the changes again.
  RoomEventSink* const sink = std::exchange(sink_, nullptr);
  // Replayed counters are history, not the flow of one tick.
  wait_model_.Restart();
  const bool after_checkpoint = std::exchange(after_checkpoint_, false);
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, TicketIssued>) {
          if (e.number <= last_issued_) return;  // already known: nothing to redo
          last_issued_ = e.number;
          ++counters_.joins;
          if (!e.identity.empty()) {
            identities_.Hold(e.identity, IdentityTickets::Held{e.number, e.frontier_at_join});
          }
        } else if constexpr (std::is_same_v<E, FrontierMoved>) {
          const std::uint64_t target = std::min(e.frontier, last_issued_);
          if (target <= frontier_) return;
          const util::TimePoint at = now.MonoOf(e.at_unix_ms);
          while (frontier_ < target) Step(at);
        } else if constexpr (std::is_same_v<E, TicketClaimed>) {
          const std::uint64_t place = PlaceOf(e.number);
          if (place < pending_base_ || place > frontier_) return;
          Call& call = calls_[place - pending_base_];
          if (call.state != CallState::kUnclaimed) return;
          call.state = CallState::kClaimed;
          --called_unclaimed_;
          RestoreSession(e.number, e.at_unix_ms, now.MonoOf(e.at_unix_ms),
                         identities_.IdentityOf(e.number));
          ++counters_.admissions;
          if (e.immediate) ++counters_.immediate;
        } else if constexpr (std::is_same_v<E, SessionSeen>) {
          auto it = sessions_.find(e.number);
          if (it == sessions_.end()) return;
          const util::TimePoint at = now.MonoOf(e.at_unix_ms);
          if (at > it->second.last_seen) it->second.last_seen = at;
          it->second.last_reported = it->second.last_seen;
          idle_order_.splice(idle_order_.end(), idle_order_, it->second.idle_position);
        } else if constexpr (std::is_same_v<E, SessionEnded>) {
          auto it = sessions_.find(e.number);
          if (it == sessions_.end()) return;
          // A record from before ends were timed ends the session without measuring it.
          if (e.at_unix_ms != 0) CountLength(it->second, e.at_unix_ms);
          EndSession(it);
          ++(e.reason == EndReason::kIdle ? counters_.expired_sessions : counters_.leaves);
        } else if constexpr (std::is_same_v<E, CallExpired>) {
          const std::uint64_t place = PlaceOf(e.number);
          if (place < pending_base_ || place > frontier_) return;
          Call& call = calls_[place - pending_base_];
          if (call.state == CallState::kUnclaimed) ExpireCall(call, place);
        } else if constexpr (std::is_same_v<E, PolicyChanged>) {
          // An operator's change survives a restart only while the file still says what it
          // changed; a file edited since then wins.
          // A record whose abandon_after_polls are both 0 says nothing of abandonment: written
          // before the field existed, or under a file that turned it off. It keeps the file's.
          if (e.base.abandon_after_polls == 0 && e.policy.abandon_after_polls == 0) {
            Policy base = e.base;
            Policy policy = e.policy;
            base.abandon_after_polls = policy.abandon_after_polls =
                configured_policy_.abandon_after_polls;
            if (base == configured_policy_) ApplyPolicy(policy);
          } else if (e.base == configured_policy_) {
            ApplyPolicy(e.policy);
          }
        } else if constexpr (std::is_same_v<E, BypassAdmitted>) {
          // Numbers come in order; one already counted (a snapshot holds it) is not redone.
          if (e.number <= kBypassTicketBase + bypass_issued_) return;
          bypass_issued_ = e.number - kBypassTicketBase;
          ++counters_.bypass;
          RememberBypass(
              RestoreSession(e.number, e.at_unix_ms, now.MonoOf(e.at_unix_ms), e.identity));
        } else if constexpr (std::is_same_v<E, TicketWithdrawn>) {
          Withdraw(e.number);
        } else if constexpr (std::is_same_v<E, WithdrawnCheckpoint>) {
          counters_.withdrawn = e.withdrawn;
        } else if constexpr (std::is_same_v<E, TicketAbandoned>) {
          // The FrontierMoved that follows passes it, uncalled, as it did the first time.
          const std::uint64_t place = PlaceOf(e.number);
          if (place > frontier_ && e.number <= last_issued_ && departed_.insert(place).second) {
            ++counters_.abandoned;
          }
        } else if constexpr (std::is_same_v<E, AbandonedCheckpoint>) {
          counters_.abandoned = e.abandoned;
        } else if constexpr (std::is_same_v<E, BypassCheckpoint>) {
          bypass_issued_ = e.issued;
          counters_.bypass = e.bypass;
          after_checkpoint_ = after_checkpoint;  // still the snapshot's head: a draw may follow
        } else if constexpr (std::is_same_v<E, TicketsDrawn>) {
          // Checked as a live draw is (a forged or damaged record changes nothing), except that
          // a snapshot's draw may be partly called already.
          std::optional<DrawnOrder> drawn = DrawnOrder::Make(e.first, e.order);
          if (drawn)
            UseDraw(std::make_shared<const DrawnOrder>(std::move(*drawn)), after_checkpoint);
        } else if constexpr (std::is_same_v<E, RoomCheckpoint>) {
          last_issued_ = e.last_issued;
          frontier_ = std::min(e.frontier, e.last_issued);
          pending_base_ = e.pending_base;
          calls_.clear();
          called_unclaimed_ = 0;
          sessions_.clear();
          idle_order_.clear();
          admission_order_.clear();
          identities_.Clear();
          bypass_sessions_.clear();
          departed_.clear();
          attendance_.Clear();
          bypass_issued_ = 0;  // a BypassCheckpoint follows when there is anything to say
          drawn_.reset();      // and a TicketsDrawn, while a draw is in use
          after_checkpoint_ = true;
          counters_ = RoomCounters{.joins = e.joins,
                                   .rejected = e.rejected,
                                   .full = e.full,
                                   .admissions = e.admissions,
                                   .immediate = e.immediate,
                                   .no_shows = e.no_shows,
                                   .expired_sessions = e.expired_sessions,
                                   .leaves = e.leaves,
                                   .session_lengths = e.session_lengths};
        } else if constexpr (std::is_same_v<E, CallRestored>) {
          // Calls come in ticket order from pending_base; anything else is not ours to place.
          if (e.number != pending_base_ + calls_.size() || e.number > frontier_) return;
          const auto state = static_cast<CallState>(e.status);
          calls_.push_back(Call{now.MonoOf(e.called_unix_ms), state});
          if (state == CallState::kUnclaimed) ++called_unclaimed_;
        } else if constexpr (std::is_same_v<E, SessionRestored>) {
          RememberBypass(RestoreSession(e.number, e.admitted_unix_ms,
                                        now.MonoOf(e.last_seen_unix_ms), e.identity));
        } else if constexpr (std::is_same_v<E, IdentityRestored>) {
          identities_.Hold(e.identity, IdentityTickets::Held{e.number, e.frontier_at_join});
        }
      },
      event);
  sink_ = sink;
}

void Room::Snapshot(RoomEventSink& sink, const Instant& now) const {
  const RoomCounters& c = counters_;
  sink.OnEvent(RoomCheckpoint{last_issued_, frontier_, pending_base_, c.joins, c.rejected, c.full,
                              c.admissions, c.immediate, c.no_shows, c.expired_sessions, c.leaves,
                              c.session_lengths});
  if (bypass_issued_ > 0 || c.bypass > 0) sink.OnEvent(BypassCheckpoint{bypass_issued_, c.bypass});
  // Before the calls and places given back, which are placed by it.
  if (drawn_) sink.OnEvent(TicketsDrawn{drawn_->first(), drawn_->order()});
  std::uint64_t number = pending_base_;
  for (const Call& call : calls_) {
    sink.OnEvent(
        CallRestored{number++, WallOf(call.called_at, now), static_cast<CallStatus>(call.state)});
  }
  for (std::uint64_t ticket : idle_order_) {
    const Session& s = sessions_.at(ticket);
    sink.OnEvent(SessionRestored{ticket, s.admitted_unix_ms, WallOf(s.last_seen, now), s.identity});
  }
  identities_.ForEach([&](std::string_view identity, const IdentityTickets::Held& held) {
    sink.OnEvent(IdentityRestored{held.ticket, held.frontier_at_join, std::string(identity)});
  });
  for (const std::uint64_t given_back : departed_) {
    sink.OnEvent(TicketWithdrawn{TicketOf(given_back)});
  }
  if (c.withdrawn > 0) sink.OnEvent(WithdrawnCheckpoint{c.withdrawn});
  if (c.abandoned > 0) sink.OnEvent(AbandonedCheckpoint{c.abandoned});
  if (!(policy_ == configured_policy_)) sink.OnEvent(PolicyChanged{configured_policy_, policy_});
}

}  // namespace vwr::core
