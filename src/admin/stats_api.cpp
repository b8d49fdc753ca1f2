#include "admin/stats_api.hpp"

#include <chrono>
#include <utility>

#include "http/errors.hpp"

namespace vwr::admin {

StatsApi::StatsApi(analytics::Statistics& stats, http::RoomDirectory& rooms,
                   const util::Clock& clock)
    : stats_(stats), rooms_(rooms), clock_(clock) {}

http::Response StatsApi::ToResponse(const analytics::Answer& answer, unsigned version,
                                    bool keep_alive) {
  if (answer.status != 200) {
    const http::ApiError error =
        answer.status == 503 ? http::ApiError::kUnavailable : http::ApiError::kBadRequest;
    return http::MakeError(error, answer.error_message, version, keep_alive);
  }
  http::Response res{http::status::ok, version};
  res.keep_alive(keep_alive);
  res.set(http::field::content_type, answer.content_type);
  res.set(http::field::cache_control, "no-store");
  if (answer.content_type.starts_with("text/csv")) {
    // Opens as a file in a browser, and in a spreadsheet.
    res.set(http::field::content_disposition, R"(attachment; filename="vwr-stats.csv")");
  }
  res.body() = answer.body;
  res.prepare_payload();
  return res;
}

void StatsApi::Serve(const http::Request& req, const http::PathSegments& parts,
                     http::Respond respond) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    http::Response res = http::MakeError(http::ApiError::kMethodNotAllowed, "use GET", v, ka);
    res.set(http::field::allow, "GET");
    return respond(std::move(res));
  }
  const std::string_view what = parts.size() == 5 ? parts[4] : std::string_view{};
  if (parts.size() > 5 || (!what.empty() && what != "top" && what != "peaks")) {
    return respond(http::MakeError(http::ApiError::kNotFound,
                                   "no such endpoint (stats, stats/top, stats/peaks)", v, ka));
  }
  const std::string_view query = http::QueryOf(req.target());
  const analytics::ParamReader param = [query](std::string_view name) {
    return http::QueryParam(query, name);
  };
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  // Known rooms only: a configured one, or one statistics has figures of.
  const auto unknown = [&](const std::string& room) {
    return rooms_.Find(room) == nullptr && !stats_.Knows(room);
  };
  const bool head = req.method() == http::verb::head;
  // Sends a query's answer (later, from the history's thread).
  auto answer = [v, ka, head, respond](analytics::Answer a) {
    http::Response res = ToResponse(a, v, ka);
    if (head) {
      res.body().clear();
      res.content_length(a.body.size());
    }
    respond(std::move(res));
  };
  const auto refuse = [&](const analytics::Answer& error) { respond(ToResponse(error, v, ka)); };
  const auto room_not_found = [&] {
    respond(http::MakeError(http::ApiError::kRoomNotFound, "no such room", v, ka));
  };
  if (what.empty()) {
    auto parsed = analytics::ParseSeriesQuery(param, now);
    if (!parsed) return refuse(parsed.error());
    if (unknown(parsed->room)) return room_not_found();
    return stats_.Series(*parsed, std::move(answer));
  }
  if (what == "top") {
    auto parsed = analytics::ParseTopQuery(param, now);
    if (!parsed) return refuse(parsed.error());
    if (unknown(parsed->room)) return room_not_found();
    return stats_.Top(*parsed, std::move(answer));
  }
  auto parsed = analytics::ParsePeaksQuery(param, now);
  if (!parsed) return refuse(parsed.error());
  if (unknown(parsed->room)) return room_not_found();
  stats_.Peaks(*parsed, std::move(answer));
}

}  // namespace vwr::admin
