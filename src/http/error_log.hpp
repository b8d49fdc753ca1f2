#pragma once

#include <atomic>
#include <cstdint>

#include "http/http.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace vwr::http {

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
  util::LogLimiter limiter_;
};

}  // namespace vwr::http
