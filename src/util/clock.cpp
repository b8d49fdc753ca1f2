#include "util/clock.hpp"

namespace vwr::util {

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

WallTime SystemClock::WallNow() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

FakeClock::FakeClock(WallTime wall_start) : wall_start_(wall_start) {}

TimePoint FakeClock::Now() const {
  // Start well away from zero so that "time minus a duration" never underflows.
  return TimePoint(std::chrono::hours(24) + Duration(offset_ns_.load(std::memory_order_acquire)));
}

WallTime FakeClock::WallNow() const {
  return wall_start_ + Duration(offset_ns_.load(std::memory_order_acquire));
}

void FakeClock::Advance(Duration d) { offset_ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

}  // namespace vwr::util
