#include "core/pacing.hpp"

#include <algorithm>
#include <cmath>

namespace vwr::core {

void AdvanceRateEstimator::Observe(std::uint64_t advanced, util::Duration elapsed) {
  const double dt = util::ToSeconds(elapsed);
  if (dt <= 0.0) return;
  const double sample = static_cast<double>(advanced) / dt;
  const double alpha = 1.0 - std::exp(-dt / kTimeConstantSeconds);
  rate_ += alpha * (sample - rate_);
}

std::optional<std::int64_t> EstimateWaitSeconds(std::uint64_t position, double rate, Mode mode) {
  if (mode == Mode::kPause || mode == Mode::kReject) return std::nullopt;
  if (position == 0 || mode == Mode::kPassthrough) return 0;
  if (!(rate > 1e-6)) return std::nullopt;
  const double seconds = std::ceil(static_cast<double>(position) / rate);
  if (seconds > 1e9) return std::nullopt;
  return static_cast<std::int64_t>(seconds);
}

std::int64_t PollAfterMs(std::optional<std::int64_t> eta_seconds, const Policy& policy,
                         double uniform) {
  const std::int64_t lo = policy.poll_min.count();
  const std::int64_t hi =
      std::max(lo, std::min(policy.poll_max.count(), policy.claim_grace.count() / 2));
  const double base = eta_seconds ? static_cast<double>(*eta_seconds) * 100.0  // eta/10, in ms
                                  : static_cast<double>(hi);
  const double clamped = std::clamp(base, static_cast<double>(lo), static_cast<double>(hi));
  const double jittered = clamped * (0.9 + 0.2 * uniform);
  return std::clamp(static_cast<std::int64_t>(std::llround(jittered)), lo, hi);
}

}  // namespace vwr::core
