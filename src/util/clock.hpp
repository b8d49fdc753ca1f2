#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vwr::util {

// Monotonic time for durations and deadlines; never jumps.
using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
// Wall time, for what leaves the process (token iat/exp, logs).
using WallTime = std::chrono::time_point<std::chrono::system_clock, Duration>;

// The only place that reads time. Production code takes a Clock&; tests use FakeClock so that
// every time-dependent behaviour is deterministic. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual WallTime WallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override;
  WallTime WallNow() const override;
  // The process-wide instance.
  static const SystemClock& Instance();
};

// A clock that moves only when told to. Starts at an arbitrary fixed instant.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wall_start = WallTime(std::chrono::seconds(1'800'000'000)));
  TimePoint Now() const override;
  WallTime WallNow() const override;
  void Advance(Duration d);

 private:
  std::atomic<std::int64_t> offset_ns_{0};
  WallTime wall_start_;
};

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline std::int64_t ToMillis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace vwr::util
