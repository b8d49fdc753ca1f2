#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace vwr::core {

// The most tickets one draw orders (schedules' `shuffle`). An opening with more people waiting
// draws the first kMaxDrawnTickets of them; the rest keep their arrival order behind them. It
// bounds the memory a draw holds (twelve bytes a ticket here; eight in a shared store) and the
// size of its journal record.
inline constexpr std::uint64_t kMaxDrawnTickets = 1'000'000;

// The drawn order of tickets first..last: which ticket stands at each place of that range, and
// the reverse. Outside the range a ticket's place is its number. Made only from a permutation of
// the range, so both directions always agree. Immutable, hence thread-safe.
//
// The line counts places: the frontier, calls and places given back are places; tickets (what
// users hold, what sessions are named by) are translated at the edges.
class DrawnOrder {
 public:
  // `order[i]` is the ticket at place first + i. Nullopt unless `order` is a permutation of
  // first .. first + order.size() - 1, with 1 <= order.size() <= kMaxDrawnTickets and first >= 1.
  static std::optional<DrawnOrder> Make(std::uint64_t first, std::vector<std::uint64_t> order);

  std::uint64_t first() const { return first_; }
  std::uint64_t last() const { return first_ + order_.size() - 1; }
  const std::vector<std::uint64_t>& order() const { return order_; }
  bool Covers(std::uint64_t number) const { return number >= first_ && number <= last(); }

  std::uint64_t PlaceOf(std::uint64_t ticket) const {
    return Covers(ticket) ? first_ + place_offset_[ticket - first_] : ticket;
  }
  std::uint64_t TicketOf(std::uint64_t place) const {
    return Covers(place) ? order_[place - first_] : place;
  }

 private:
  DrawnOrder() = default;
  std::uint64_t first_ = 1;
  std::vector<std::uint64_t> order_;         // place - first -> ticket
  std::vector<std::uint32_t> place_offset_;  // ticket - first -> place - first
};

}  // namespace vwr::core
