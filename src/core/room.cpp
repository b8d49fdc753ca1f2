#include "core/room.hpp"

#include <algorithm>
#include <utility>

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

Room::Room(std::string id, const Policy& policy, std::uint64_t incarnation, util::TimePoint now)
    : id_(std::move(id)),
      policy_(policy),
      incarnation_(incarnation),
      budget_(policy.admit_rate, policy.burst, now),
      estimator_(policy.admit_rate),
      last_tick_(now) {}

TicketOutcome Room::Join(std::string_view identity, const Instant& now) {
  if (!identity.empty()) {
    if (auto it = identities_.find(identity); it != identities_.end()) {
      TicketOutcome held = Resolve(it->second.ticket, it->second.frontier_at_join, now);
      if (held.status != TicketStatus::kExpired) {
        if (held.status != TicketStatus::kRejected) ++counters_.joins;
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
      CallNext(waiting(), now.mono);
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
  return TicketOutcome{
      .status = TicketStatus::kWaiting, .ticket = number, .frontier_at_join = frontier_};
}

TicketOutcome Room::Poll(std::uint64_t number, const Instant& now) {
  return Resolve(number, 0, now);
}

TicketOutcome Room::Resolve(std::uint64_t number, std::uint64_t frontier_at_join,
                            const Instant& now) {
  TicketOutcome out{.ticket = number, .frontier_at_join = frontier_at_join};
  if (number == 0 || number > last_issued_) {
    out.status = TicketStatus::kExpired;  // not from this room's life; cannot be honoured
    return out;
  }
  if (number > frontier_) {
    out.status = policy_.mode == Mode::kReject ? TicketStatus::kRejected : TicketStatus::kWaiting;
    return out;
  }
  if (number >= pending_base_) {
    Call& call = calls_[number - pending_base_];
    if (call.state == CallState::kUnclaimed) {
      if (PastGrace(call, now.mono)) {
        ExpireCall(call, number);
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
    Session& session = it->second;
    session.last_seen = now.mono;
    idle_order_.splice(idle_order_.end(), idle_order_, session.idle_position);
    out.session = &session;
    out.status = TicketStatus::kAdmitted;
    return out;
  }
  ForgetIdentityOf(number);
  out.status = TicketStatus::kExpired;
  return out;
}

bool Room::Heartbeat(std::uint64_t session_ticket, const Instant& now) {
  auto it = sessions_.find(session_ticket);
  if (it == sessions_.end()) return false;
  it->second.last_seen = now.mono;
  idle_order_.splice(idle_order_.end(), idle_order_, it->second.idle_position);
  return true;
}

bool Room::Leave(std::uint64_t session_ticket) {
  auto it = sessions_.find(session_ticket);
  if (it == sessions_.end()) return false;
  EndSession(it);
  ++counters_.leaves;
  return true;
}

TickReport Room::Tick(const Instant& now) {
  TickReport report;
  while (!idle_order_.empty()) {
    auto it = sessions_.find(idle_order_.front());
    if (it->second.last_seen + policy_.session_timeout > now.mono) break;
    EndSession(it);
    ++counters_.expired_sessions;
    ++report.expired_sessions;
  }
  DropSettledCalls(now.mono, &report);

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
  CallNext(advance, now.mono);
  report.called = advance;

  // People waited through the whole interval only if some were left waiting at the last tick
  // (the line shrinks only at ticks), so only then is the advance a measure of throughput.
  if (policy_.mode == Mode::kFifo && waiting_after_last_tick_ > 0) {
    estimator_.Observe(frontier_ - frontier_at_last_tick_, now.mono - last_tick_);
  }
  last_tick_ = now.mono;
  frontier_at_last_tick_ = frontier_;
  waiting_after_last_tick_ = waiting();
  return report;
}

void Room::SetPolicy(const Policy& policy) {
  if (policy.admit_rate != policy_.admit_rate) estimator_.Reset(policy.admit_rate);
  budget_.SetRate(policy.admit_rate, policy.burst);
  policy_ = policy;
}

const Session* Room::FindSession(std::uint64_t ticket) const {
  auto it = sessions_.find(ticket);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<std::int64_t> Room::NewcomerWaitSeconds() const {
  if (policy_.mode == Mode::kFifo && waiting() == 0 && HasFreeSlot()) return 0;
  return EstimateWaitSeconds(waiting() + 1, estimator_.rate(), policy_.mode);
}

bool Room::HasFreeSlot() const { return active() + called_unclaimed_ < policy_.max_active; }

TicketOutcome Room::AdmitImmediately(std::string_view identity, const Instant& now) {
  // Nobody was waiting, so the frontier moves to this very ticket: it had nobody ahead of it.
  const std::uint64_t number = IssueTicket(identity, last_issued_ + 1);
  frontier_ = number;
  calls_.push_back(Call{now.mono, CallState::kClaimed});
  ++counters_.immediate;
  return TicketOutcome{.status = TicketStatus::kAdmitted,
                       .ticket = number,
                       .frontier_at_join = number,
                       .session = CreateSession(number, now)};
}

std::uint64_t Room::IssueTicket(std::string_view identity, std::uint64_t frontier_at_join) {
  const std::uint64_t number = ++last_issued_;
  if (!identity.empty()) {
    identities_[std::string(identity)] = IdentityEntry{number, frontier_at_join};
    identity_of_ticket_.emplace(number, std::string(identity));
  }
  return number;
}

void Room::CallNext(std::uint64_t count, util::TimePoint now) {
  for (std::uint64_t i = 0; i < count; ++i) calls_.push_back(Call{now, CallState::kUnclaimed});
  frontier_ += count;
  called_unclaimed_ += static_cast<std::int64_t>(count);
}

const Session* Room::CreateSession(std::uint64_t number, const Instant& now) {
  auto [it, inserted] = sessions_.try_emplace(number);
  Session& session = it->second;
  if (inserted) {
    session.ticket = number;
    if (auto id = identity_of_ticket_.find(number); id != identity_of_ticket_.end()) {
      session.identity = id->second;
    }
    session.admitted_unix = now.unix_seconds;
    idle_order_.push_back(number);
    session.idle_position = std::prev(idle_order_.end());
    ++counters_.admissions;
  }
  session.last_seen = now.mono;
  return &session;
}

void Room::EndSession(std::unordered_map<std::uint64_t, Session>::iterator it) {
  idle_order_.erase(it->second.idle_position);
  ForgetIdentityOf(it->first);
  sessions_.erase(it);
}

void Room::ForgetIdentityOf(std::uint64_t ticket) {
  auto it = identity_of_ticket_.find(ticket);
  if (it == identity_of_ticket_.end()) return;
  auto entry = identities_.find(it->second);
  if (entry != identities_.end() && entry->second.ticket == ticket) identities_.erase(entry);
  identity_of_ticket_.erase(it);
}

bool Room::PastGrace(const Call& call, util::TimePoint now) const {
  return call.called_at + policy_.claim_grace <= now;
}

void Room::ExpireCall(Call& call, std::uint64_t number) {
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
}

}  // namespace vwr::core
