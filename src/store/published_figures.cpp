#include "store/published_figures.hpp"

#include "core/pacing.hpp"

namespace vwr::store {

bool PublishedFigures::AnswerWaiting(std::uint64_t ticket, std::uint64_t frontier_at_join,
                                     TicketAnswer& a) const {
  const std::uint64_t frontier = this->frontier();
  const std::uint64_t last = last_issued();
  if (ticket <= frontier || ticket > last) return false;
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
  a.position = ticket - frontier;
  a.eta_seconds = core::EstimateWaitSeconds(a.position, advance_rate(), p.mode);
  return true;
}

}  // namespace vwr::store
