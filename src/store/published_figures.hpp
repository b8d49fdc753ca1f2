#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/drawn_order.hpp"
#include "core/policy.hpp"
#include "core/wait_model.hpp"
#include "store/store.hpp"
#include "store/ticket_set.hpp"
#include "util/published.hpp"

namespace vwr::store {

// What a room publishes so that a waiting ticket's poll needs no lock and no I/O: the last ticket
// issued, the frontier, the observed advance rate, the policy in force, and the wait model's
// curve (core::WaitCurve, once per tick), from which a position's wait and range are read. Each
// store updates it after every change it learns of (its own, or, for a shared store, the figures
// every tick brings back); every worker reads it.
//
// Thread-safety: readers on any thread, wait-free; writers one at a time (each store serialises
// its own updates). The ticket figures only grow: an update that would lower one (a reply that
// arrives after a newer one) is ignored. The curve's numbers are separate atomics: a poll that
// reads while a tick writes may mix two ticks' numbers, which core::EstimateWait allows for.
class PublishedFigures {
 public:
  explicit PublishedFigures(const core::Policy& policy) : policy_(policy) {}

  const core::Policy& policy() const { return policy_.Get(); }

  // The opening draw in use (nullptr: none): a waiting ticket's position is its place - frontier.
  // Each draw published stays in memory until the figures go (a few MB per shuffled opening).
  void SetDraw(const std::shared_ptr<const core::DrawnOrder>& drawn) {
    if (drawn_.Get() != drawn) drawn_.Publish(drawn);
  }
  std::uint64_t PlaceOf(std::uint64_t ticket) const {
    const std::shared_ptr<const core::DrawnOrder>& drawn = drawn_.Get();
    return drawn ? drawn->PlaceOf(ticket) : ticket;
  }
  void SetPolicy(const core::Policy& policy) { policy_.Publish(policy); }

  // `departed`: places given back above the frontier, which the line's size leaves out.
  void Publish(std::uint64_t last_issued, std::uint64_t frontier, std::uint64_t departed,
               double advance_rate) {
    advance_rate_.store(advance_rate, std::memory_order_relaxed);
    departed_.store(departed, std::memory_order_relaxed);
    // last_issued before frontier: a reader that sees the new frontier also sees every ticket
    // issued before it moved.
    Raise(last_issued_, last_issued);
    Raise(frontier_, frontier);
  }

  std::uint64_t frontier() const { return frontier_.load(std::memory_order_acquire); }
  std::uint64_t last_issued() const { return last_issued_.load(std::memory_order_acquire); }
  double advance_rate() const { return advance_rate_.load(std::memory_order_relaxed); }
  std::uint64_t departed() const { return departed_.load(std::memory_order_relaxed); }

  // The wait model's curve, at every tick.
  void PublishWaits(const core::WaitCurve& curve);
  // The wait of a ticket `position` places behind the frontier, from the curve: nullopt when
  // paused or closed. No lock, no allocation.
  std::optional<core::WaitEstimate> EstimateWait(std::uint64_t position) const {
    return core::EstimateWait(waits_, position, policy().mode);
  }
  core::WaitBasis wait_basis() const { return waits_.basis.load(std::memory_order_relaxed); }
  // A newcomer's wait: 0 when a join now would be let in at once (fifo, nobody in line, a slot
  // free, as `active` and `called_unclaimed` say), else the wait behind everyone in line.
  std::optional<core::WaitEstimate> NewcomerWait(std::int64_t active,
                                                 std::int64_t called_unclaimed) const;

  // The standing of a ticket above the frontier (waiting, or rejected in a closed room), from the
  // published figures alone. False for any other ticket: the store must decide.
  bool AnswerWaiting(std::uint64_t ticket, std::uint64_t frontier_at_join,
                     TicketAnswer& answer) const;

 private:
  static void Raise(std::atomic<std::uint64_t>& value, std::uint64_t to) {
    std::uint64_t now = value.load(std::memory_order_relaxed);
    while (now < to && !value.compare_exchange_weak(now, to, std::memory_order_release)) {
    }
  }

  std::atomic<std::uint64_t> frontier_{0};
  std::atomic<std::uint64_t> last_issued_{0};
  std::atomic<std::uint64_t> departed_{0};
  std::atomic<double> advance_rate_{0.0};
  util::Published<core::Policy> policy_;
  util::Published<std::shared_ptr<const core::DrawnOrder>> drawn_;

  // core::WaitCurve's members, by the same names, as atomics (core::EstimateWait reads either).
  // Apart from the ticket figures: a join's update of those does not disturb a poll's read of
  // these.
  struct alignas(64) Waits {
    static constexpr std::size_t kKnots = core::WaitCurve::kKnots;
    std::atomic<core::WaitBasis> basis{core::WaitBasis::kPolicy};
    std::atomic<double> calls_per_knot{1.0};
    std::atomic<double> people_per_position{1.0};
    std::array<std::atomic<double>, kKnots + 1> seconds{};
    std::array<std::atomic<double>, kKnots + 1> low_seconds{};
    std::array<std::atomic<double>, kKnots + 1> high_seconds{};
    std::atomic<double> seconds_per_call{0.0};
    std::atomic<double> low_seconds_per_call{0.0};
    std::atomic<double> high_seconds_per_call{0.0};
    std::atomic<double> claim_lag_seconds{0.0};
    std::atomic<double> claim_lag_low_seconds{0.0};
    std::atomic<double> claim_lag_high_seconds{0.0};
  };
  Waits waits_;
};

// A ticket's standing from what a store publishes without a lock, the first step of both
// stores' StatusCached and PeekWaiting: false when its place was given back or it is not
// simply above the frontier (the store decides then).
inline bool AnswerFromPublished(const PublishedFigures& published, const TicketSet& given_back,
                                std::uint64_t ticket, std::uint64_t frontier_at_join,
                                TicketAnswer& answer) {
  return !given_back.Contains(ticket) && published.AnswerWaiting(ticket, frontier_at_join, answer);
}

}  // namespace vwr::store
