#include "util/log_limiter.hpp"

#include <chrono>

namespace vwr::util {

LogLimiter::LogLimiter(const util::Clock& clock, std::uint32_t lines_per_second)
    : clock_(clock), lines_per_second_(lines_per_second) {}

bool LogLimiter::Allow(std::uint64_t& suppressed) {
  const std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  std::int64_t window = window_second_.load(std::memory_order_relaxed);
  if (window != second &&
      window_second_.compare_exchange_strong(window, second, std::memory_order_relaxed)) {
    lines_in_window_.store(0, std::memory_order_relaxed);
  }
  if (lines_in_window_.fetch_add(1, std::memory_order_relaxed) >= lines_per_second_) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
  return true;
}

}  // namespace vwr::util
