#include "store/published_figures.hpp"

namespace vwr::store {

bool PublishedFigures::AnswerWaiting(std::uint64_t ticket, std::uint64_t frontier_at_join,
                                     TicketAnswer& a) const {
  const std::uint64_t frontier = this->frontier();
  const std::uint64_t last = last_issued();
  if (ticket > last) return false;
  const std::uint64_t place = PlaceOf(ticket);
  if (place <= frontier) return false;
  const core::Policy& p = policy();
  a = TicketAnswer{};
  a.ticket = ticket;
  a.frontier_at_join = frontier_at_join;
  // Places given back are out of the line (read apart from the two above: never below 0).
  const std::uint64_t departed = this->departed();
  a.queue_size = last - frontier > departed ? last - frontier - departed : 0;
  if (p.mode == core::Mode::kReject) {
    a.status = core::TicketStatus::kRejected;
    return true;
  }
  a.status = core::TicketStatus::kWaiting;
  a.position = place - frontier;
  if (const std::optional<core::WaitEstimate> wait =
          core::EstimateWait(waits_, a.position, p.mode)) {
    a.eta_seconds = wait->eta_seconds;
    a.eta_low_seconds = wait->low_seconds;
    a.eta_high_seconds = wait->high_seconds;
    a.eta_basis = wait_basis();
  }
  return true;
}

void PublishedFigures::PublishWaits(const core::WaitCurve& c) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Waits& w = waits_;
  w.basis.store(c.basis, kRelaxed);
  w.calls_per_knot.store(c.calls_per_knot, kRelaxed);
  w.people_per_position.store(c.people_per_position, kRelaxed);
  for (std::size_t i = 0; i <= Waits::kKnots; ++i) {
    w.seconds[i].store(c.seconds[i], kRelaxed);
    w.low_seconds[i].store(c.low_seconds[i], kRelaxed);
    w.high_seconds[i].store(c.high_seconds[i], kRelaxed);
  }
  w.seconds_per_call.store(c.seconds_per_call, kRelaxed);
  w.low_seconds_per_call.store(c.low_seconds_per_call, kRelaxed);
  w.high_seconds_per_call.store(c.high_seconds_per_call, kRelaxed);
  w.claim_lag_seconds.store(c.claim_lag_seconds, kRelaxed);
  w.claim_lag_low_seconds.store(c.claim_lag_low_seconds, kRelaxed);
  w.claim_lag_high_seconds.store(c.claim_lag_high_seconds, kRelaxed);
}

std::optional<core::WaitEstimate> PublishedFigures::NewcomerWait(
    std::int64_t active, std::int64_t called_unclaimed) const {
  const core::Policy& p = policy();
  const std::uint64_t frontier = this->frontier();
  const std::uint64_t last = last_issued();
  const std::uint64_t line = last > frontier ? last - frontier : 0;
  const std::uint64_t departed = this->departed();
  if (p.mode == core::Mode::kFifo && line <= departed && active + called_unclaimed < p.max_active) {
    return core::WaitEstimate{};
  }
  // Behind everyone, places given back included (the curve passes them over).
  return EstimateWait(line + 1);
}

}  // namespace vwr::store
