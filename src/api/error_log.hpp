#pragma once

#include <atomic>
#include <cstdint>

#include "api/http.hpp"
#include "util/clock.hpp"

namespace vwr::api {

// Writes one log line for each request answered with an error, so that bad input is always
// visible to operators, but at most `lines_per_second` of them: a flood of forged tickets must
// not turn into a flood of disk writes. Suppressed lines are counted and reported with the next
// line written. Thread-safe, lock-free.
class ErrorLog {
 public:
  explicit ErrorLog(const util::Clock& clock, std::uint32_t lines_per_second = 20);

  // Logs when `response` is a 4xx or 5xx. The query string is never logged (it may hold a
  // ticket), nor are headers (they may hold tokens).
  void Record(const Request& request, const ConnectionInfo& connection, const Response& response);

 private:
  const util::Clock& clock_;
  const std::uint32_t lines_per_second_;
  std::atomic<std::int64_t> window_second_{0};
  std::atomic<std::uint32_t> lines_in_window_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace vwr::api
