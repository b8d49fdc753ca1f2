#pragma once

#include <array>
#include <string>
#include <string_view>

#include "analytics/metrics.hpp"

namespace vwr::api {

enum class Endpoint : std::uint8_t {
  kJoin,
  kStatus,
  kHeartbeat,
  kLeave,
  kRoomInfo,
  kHealth,
  kReady,
  kMetrics,
  kPolicy,
  kJwks,  // GET /.well-known/jwks.json
  kKeys,  // /admin/api/v1/keys[/rotate]
  kOther,
};
inline constexpr std::size_t kEndpointCount = 12;
std::string_view EndpointName(Endpoint endpoint);

// Request counts by endpoint and status code, and latency by endpoint. Thread-safe, lock-free.
class ApiMetrics {
 public:
  void Record(Endpoint endpoint, unsigned status_code, double seconds);
  void Render(std::string& out) const;

 private:
  static constexpr std::array<unsigned, 13> kCodes = {200, 204, 304, 400, 401, 404, 405,
                                                      413, 429, 431, 500, 503, 0};
  static std::size_t CodeIndex(unsigned code);

  std::array<std::array<analytics::Counter, kCodes.size()>, kEndpointCount> requests_;
  std::array<analytics::LatencyHistogram, kEndpointCount> latency_;
};

}  // namespace vwr::api
