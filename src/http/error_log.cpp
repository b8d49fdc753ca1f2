#include "http/error_log.hpp"

#include <spdlog/spdlog.h>

#include "http/request_parts.hpp"
#include "util/log_escape.hpp"

namespace vwr::http {

ErrorLog::ErrorLog(const util::Clock& clock, std::uint32_t lines_per_second)
    : limiter_(clock, lines_per_second) {}

void ErrorLog::Record(const Request& request, const ConnectionInfo& connection,
                      const Response& response) {
  const unsigned code = response.result_int();
  if (code < 400) return;
  std::uint64_t suppressed = 0;
  if (!limiter_.Allow(suppressed)) return;
  // The path is the client's, and an error's body may quote what it sent: both escaped, so
  // that no request can write a line of its own (or drive the terminal) in the log.
  const std::string path = util::LogEscaped(PathOf(request.target()), 200);
  const std::string body = util::LogEscapedJson(response.body(), 300);
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

}  // namespace vwr::http
