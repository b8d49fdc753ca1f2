#include "api/error_log.hpp"

#include <spdlog/spdlog.h>

#include "api/request_parts.hpp"

namespace vwr::api {

ErrorLog::ErrorLog(const util::Clock& clock, std::uint32_t lines_per_second)
    : limiter_(clock, lines_per_second) {}

void ErrorLog::Record(const Request& request, const ConnectionInfo& connection,
                      const Response& response) {
  const unsigned code = response.result_int();
  if (code < 400) return;
  std::uint64_t suppressed = 0;
  if (!limiter_.Allow(suppressed)) return;
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
