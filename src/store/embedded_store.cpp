#include "store/embedded_store.hpp"

#include "core/pacing.hpp"
#include "util/random.hpp"

namespace vwr::store {

EmbeddedRoom::EmbeddedRoom(const RoomSpec& spec, std::uint64_t incarnation,
                           const util::Clock& clock)
    : id_(spec.id),
      incarnation_(incarnation),
      clock_(clock),
      room_(spec.id, spec.policy, incarnation, clock.Now()) {
  std::lock_guard lock(mu_);
  policies_.push_back(spec.policy);
  Publish();
}

const core::Policy& EmbeddedRoom::policy() const {
  return *policy_.load(std::memory_order_acquire);
}

core::Instant EmbeddedRoom::Now() const { return core::Instant::From(clock_); }

TicketAnswer EmbeddedRoom::Join(std::string_view identity) {
  std::lock_guard lock(mu_);
  const core::TicketOutcome outcome = room_.Join(identity, Now());
  Publish();
  return Answer(outcome);
}

TicketAnswer EmbeddedRoom::Status(std::uint64_t ticket, std::uint64_t frontier_at_join) {
  // Fast path: a ticket above the frontier is waiting; everything needed is published.
  const std::uint64_t frontier = frontier_.load(std::memory_order_acquire);
  const std::uint64_t last = last_issued_.load(std::memory_order_acquire);
  if (ticket > frontier && ticket <= last) {
    const core::Policy& p = policy();
    TicketAnswer a;
    a.ticket = ticket;
    a.frontier_at_join = frontier_at_join;
    a.queue_size = last - frontier;
    if (p.mode == core::Mode::kReject) {
      a.status = core::TicketStatus::kRejected;
      return a;
    }
    a.status = core::TicketStatus::kWaiting;
    a.position = ticket - frontier;
    a.eta_seconds = core::EstimateWaitSeconds(
        a.position, advance_rate_.load(std::memory_order_relaxed), p.mode);
    return a;
  }
  std::lock_guard lock(mu_);
  core::TicketOutcome outcome = room_.Poll(ticket, Now());
  outcome.frontier_at_join = frontier_at_join;
  Publish();
  return Answer(outcome);
}

bool EmbeddedRoom::Heartbeat(std::uint64_t session_ticket) {
  std::lock_guard lock(mu_);
  return room_.Heartbeat(session_ticket, Now());
}

bool EmbeddedRoom::Leave(std::uint64_t session_ticket) {
  std::lock_guard lock(mu_);
  const bool left = room_.Leave(session_ticket);
  Publish();
  return left;
}

void EmbeddedRoom::SetPolicy(const core::Policy& policy) {
  std::lock_guard lock(mu_);
  room_.SetPolicy(policy);
  policies_.push_back(policy);
  Publish();
}

RoomFigures EmbeddedRoom::Figures() {
  std::lock_guard lock(mu_);
  RoomFigures f;
  f.frontier = room_.frontier();
  f.last_issued = room_.last_issued();
  f.queue_size = room_.waiting();
  f.active = room_.active();
  f.called_unclaimed = room_.called_unclaimed();
  f.advance_rate = room_.advance_rate();
  f.newcomer_eta_seconds = room_.NewcomerWaitSeconds();
  f.counters = room_.counters();
  return f;
}

core::TickReport EmbeddedRoom::Tick() {
  std::lock_guard lock(mu_);
  const core::TickReport report = room_.Tick(Now());
  Publish();
  return report;
}

TicketAnswer EmbeddedRoom::Answer(const core::TicketOutcome& outcome) const {
  TicketAnswer a;
  a.status = outcome.status;
  a.ticket = outcome.ticket;
  a.frontier_at_join = outcome.frontier_at_join;
  a.queue_size = room_.waiting();
  if (outcome.status == core::TicketStatus::kWaiting) {
    a.position = outcome.ticket - room_.frontier();
    a.eta_seconds =
        core::EstimateWaitSeconds(a.position, room_.advance_rate(), room_.policy().mode);
  } else if (outcome.status == core::TicketStatus::kFull) {
    a.eta_seconds =
        core::EstimateWaitSeconds(room_.waiting(), room_.advance_rate(), room_.policy().mode);
  }
  if (outcome.session != nullptr) {
    a.admitted_unix = outcome.session->admitted_unix_ms / 1000;
    a.identity = outcome.session->identity;
  }
  return a;
}

void EmbeddedRoom::Publish() {
  policy_.store(&policies_.back(), std::memory_order_release);
  advance_rate_.store(room_.advance_rate(), std::memory_order_relaxed);
  // last_issued before frontier: a reader that sees the new frontier also sees every ticket
  // issued before it moved.
  last_issued_.store(room_.last_issued(), std::memory_order_release);
  frontier_.store(room_.frontier(), std::memory_order_release);
}

EmbeddedStore::EmbeddedStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock) {
  for (const RoomSpec& spec : rooms) {
    auto room = std::make_unique<EmbeddedRoom>(spec, util::SecureRandom64(), clock);
    by_id_.emplace(spec.id, room.get());
    list_.push_back(room.get());
    rooms_.push_back(std::move(room));
  }
}

RoomState* EmbeddedStore::Find(std::string_view room_id) {
  auto it = by_id_.find(room_id);
  return it == by_id_.end() ? nullptr : it->second;
}

void EmbeddedStore::Tick() {
  for (auto& room : rooms_) room->Tick();
}

}  // namespace vwr::store
