#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vwr::loadgen {

// What a native join or status answer says (docs/api.md, "The ticket answer"); only the fields
// the crowd acts on or measures.
struct TicketAnswer {
  enum class Status { kWaiting, kAdmitted, kExpired, kRejected, kFull, kOther };
  Status status = Status::kOther;
  std::string ticket;  // empty when null
  std::int64_t position = 0;
  std::optional<std::int64_t> eta_seconds;
  // etaRange [low, high] in seconds, when the server sends it (an array or {low, high}).
  std::optional<std::int64_t> eta_low, eta_high;
  std::int64_t poll_after_ms = 0;
  std::string token;
  std::int64_t session_timeout_seconds = 0;
};
// nullopt when the body is not a JSON object with a string `status`.
std::optional<TicketAnswer> ParseTicketAnswer(std::string_view body);
const char* StatusName(TicketAnswer::Status s);

// What a TRACER inputQueue.do answer says: the fields of its 13-field document (XML, or JSON
// when asked for).
struct TracerAnswer {
  std::string is_wait;  // T, F, NE, E
  std::int64_t wait_count = 0;
  std::int64_t wait_my_count = 0;
};
std::optional<TracerAnswer> ParseTracerAnswer(std::string_view body);

// The body of GET /api/v1/rooms/{room}: what the report compares the crowd with.
struct RoomInfo {
  std::string mode;
  std::int64_t max_active = -1;
  double admit_rate = 0;
};
std::optional<RoomInfo> ParseRoomInfo(std::string_view body);

}  // namespace vwr::loadgen
