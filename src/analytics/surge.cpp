#include "analytics/surge.hpp"

#include <algorithm>
#include <cmath>

namespace vwr::analytics {

namespace {
double AlphaFor(std::chrono::seconds tau) {
  const double t = std::max<double>(1.0, static_cast<double>(tau.count()));
  return 1.0 - std::exp(-1.0 / t);
}
}  // namespace

SurgeDetector::SurgeDetector(SurgeOptions options)
    : options_(options),
      alpha_short_(AlphaFor(options.window)),
      alpha_long_(AlphaFor(options.baseline)) {}

bool SurgeDetector::Observe(std::int64_t second, double requests) {
  if (!primed_) {
    // The first second seeds both averages: a node that starts under load is not in a surge.
    primed_ = true;
    state_.rate = state_.baseline = requests;
  } else {
    state_.rate += alpha_short_ * (requests - state_.rate);
    if (!state_.active) state_.baseline += alpha_long_ * (requests - state_.baseline);
  }
  state_.ratio = state_.baseline > 0 ? state_.rate / state_.baseline : 0.0;
  // Below min_rate / factor the baseline counts as that floor, so that a quiet room's first
  // burst is measured against a sensible base instead of against almost nothing.
  const double base = std::max(state_.baseline, options_.min_rate / options_.factor);
  if (!state_.active) {
    if (state_.rate >= options_.min_rate && state_.rate >= options_.factor * base) {
      state_.active = true;
      state_.since = second;
      return true;
    }
  } else if (state_.rate < 0.5 * options_.factor * base) {
    state_.active = false;
    state_.since = 0;
    // The surge is over: let the baseline learn the new level from here.
  }
  return false;
}

}  // namespace vwr::analytics
