#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::core {

// Estimates how fast the frontier advances, for honest waiting times.
//
// An exponentially weighted moving average of the observed advance rate (admissions per second),
// sampled only while people were waiting in a fifo room (an empty or paused queue says nothing
// about throughput). Before there is any history it starts from the configured admit_rate, so the
// first estimate is the policy's promise and later ones are what really happened: when max_active
// is the binding limit the estimate falls to the rate at which sessions actually free up.
// Not thread-safe: owned by its Room.
class AdvanceRateEstimator {
 public:
  static constexpr double kTimeConstantSeconds = 20.0;  // ≈ the last minute carries 95 % weight

  explicit AdvanceRateEstimator(double configured_rate) : rate_(configured_rate) {}

  // `advanced` tickets were called over `elapsed` while people were waiting.
  void Observe(std::uint64_t advanced, util::Duration elapsed);
  // A new policy rate replaces the history: the old observations describe another limit.
  void Reset(double configured_rate) { rate_ = configured_rate; }
  double rate() const { return rate_; }

 private:
  double rate_;
};

// Seconds until a ticket `position` places back is called at `rate` per second; nullopt when
// unknown (room paused or closed, or nothing is moving).
std::optional<std::int64_t> EstimateWaitSeconds(std::uint64_t position, double rate, Mode mode);

// How long a waiting client should wait before its next poll: a tenth of its ETA (about 1 s near
// the front, growing to poll.max far back), never more than half the claim grace (so a called user
// always polls in time), with ±10 % jitter so that a million clients do not poll in step.
// `uniform` is a random number in [0, 1).
std::int64_t PollAfterMs(std::optional<std::int64_t> eta_seconds, const Policy& policy,
                         double uniform);

}  // namespace vwr::core
