#pragma once

#include <atomic>
#include <cstdint>

#include "core/policy.hpp"
#include "store/store.hpp"
#include "util/published.hpp"

namespace vwr::store {

// What a room publishes so that a waiting ticket's poll needs no lock and no I/O: the last ticket
// issued, the frontier, the observed advance rate and the policy in force. Each store updates it
// after every change it learns of (its own, or, for a shared store, the figures every tick
// brings back); every worker reads it.
//
// Thread-safety: readers on any thread, wait-free; writers one at a time (each store serialises
// its own updates). The ticket figures only grow: an update that would lower one (a reply that
// arrives after a newer one) is ignored.
class PublishedFigures {
 public:
  explicit PublishedFigures(const core::Policy& policy) : policy_(policy) {}

  const core::Policy& policy() const { return policy_.Get(); }
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
};

}  // namespace vwr::store
