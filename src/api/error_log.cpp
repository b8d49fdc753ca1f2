#include "api/error_log.hpp"

#include <spdlog/spdlog.h>

#include "api/request_parts.hpp"

namespace vwr::api {

ErrorLog::ErrorLog(const util::Clock& clock, std::uint32_t lines_per_second)
    : clock_(clock), lines_per_second_(lines_per_second) {}

void ErrorLog::Record(const Request& request, const ConnectionInfo& connection,
                      const Response& response) {
  const unsigned code = response.result_int();
  if (code < 400) return;
  const std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  std::int64_t window = window_second_.load(std::memory_order_relaxed);
  if (window != second &&
      window_second_.compare_exchange_strong(window, second, std::memory_order_relaxed)) {
    lines_in_window_.store(0, std::memory_order_relaxed);
  }
  if (lines_in_window_.fetch_add(1, std::memory_order_relaxed) >= lines_per_second_) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
  std::string_view path = PathOf(request.target());
  if (path.size() > 200) path = path.substr(0, 200);
  std::string_view body = response.body();
  if (body.size() > 300) body = body.substr(0, 300);
  const auto level = code >= 500 ? spdlog::level::err : spdlog::level::info;
  if (suppressed > 0) {
    spdlog::log(level, "{} {} {} from {}: {} ({} similar lines suppressed)",
                std::string_view(request.method_string()), path, code, connection.peer.to_string(),
                body, suppressed);
  } else {
    spdlog::log(level, "{} {} {} from {}: {}", std::string_view(request.method_string()), path,
                code, connection.peer.to_string(), body);
  }
}

}  // namespace vwr::api
