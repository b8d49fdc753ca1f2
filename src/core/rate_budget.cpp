#include "core/rate_budget.hpp"

#include <algorithm>
#include <cmath>

namespace vwr::core {

RateBudget::RateBudget(double rate, std::int64_t burst, util::TimePoint now)
    : rate_(rate), burst_(static_cast<double>(burst)), tokens_(burst_), last_(now) {}

void RateBudget::Refill(util::TimePoint now, bool demand) {
  if (now <= last_) return;
  const double accrued = rate_ * util::ToSeconds(now - last_);
  last_ = now;
  if (demand) {
    tokens_ = std::min(tokens_, burst_) + accrued;
  } else {
    tokens_ = std::min(tokens_ + accrued, burst_);
  }
}

std::int64_t RateBudget::Available() const {
  // A tiny epsilon absorbs floating-point error in rate·dt sums (50 × 0.1 s must give 5, not 4).
  return static_cast<std::int64_t>(std::floor(tokens_ + 1e-9));
}

void RateBudget::Take(std::int64_t n) { tokens_ -= static_cast<double>(n); }

void RateBudget::SetRate(double rate, std::int64_t burst) {
  rate_ = rate;
  burst_ = static_cast<double>(burst);
}

}  // namespace vwr::core
