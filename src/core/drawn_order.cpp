#include "core/drawn_order.hpp"

#include <utility>

namespace vwr::core {

std::optional<DrawnOrder> DrawnOrder::Make(std::uint64_t first, std::vector<std::uint64_t> order) {
  const std::uint64_t n = order.size();
  if (first == 0 || n == 0 || n > kMaxDrawnTickets || first > UINT64_MAX - n) return std::nullopt;
  constexpr std::uint32_t kUnset = UINT32_MAX;
  std::vector<std::uint32_t> place_offset(static_cast<std::size_t>(n), kUnset);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::uint64_t ticket = order[i];
    // Each ticket of the range once: n tickets in n slots, none twice, is every one of them.
    if (ticket < first || ticket - first >= n) return std::nullopt;
    std::uint32_t& slot = place_offset[static_cast<std::size_t>(ticket - first)];
    if (slot != kUnset) return std::nullopt;
    slot = static_cast<std::uint32_t>(i);
  }
  DrawnOrder drawn;
  drawn.first_ = first;
  drawn.order_ = std::move(order);
  drawn.place_offset_ = std::move(place_offset);
  return drawn;
}

}  // namespace vwr::core
