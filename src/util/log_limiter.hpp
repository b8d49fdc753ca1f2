#pragma once

#include <atomic>
#include <cstdint>

#include "util/clock.hpp"

namespace vwr::util {

// Lets at most `lines_per_second` log lines through in each second and counts the rest, so that
// a flood of misbehaving clients (slow requests, too many connections) or a run of failing
// accepts cannot turn into a flood of log writes. Each line let through reports how many were
// held back before it.
//
// Thread-safe and lock-free. Meant for the paths where something went wrong, not for every
// request.
class LogLimiter {
 public:
  LogLimiter(const util::Clock& clock, std::uint32_t lines_per_second);

  // True when a line may be written now; then `suppressed` is set to the number of lines held
  // back since the last one let through (to be mentioned in this one).
  bool Allow(std::uint64_t& suppressed);

 private:
  const util::Clock& clock_;
  const std::uint32_t lines_per_second_;
  std::atomic<std::int64_t> window_second_{-1};
  std::atomic<std::uint32_t> lines_in_window_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace vwr::util
