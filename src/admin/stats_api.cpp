#include "admin/stats_api.hpp"

#include <chrono>
#include <utility>

#include "http/errors.hpp"

namespace vwr::admin {
namespace {

// One /admin/api/v1/live stream: each new second's figures as they close, a comment now and
// then while there are none (so that a client, and any proxy between, sees the stream alive).
// Pulled by the server on the connection's worker: nothing queues for a slow client, which
// gets the latest second when it is ready again.
class LiveStream final : public http::StreamSource {
 public:
  explicit LiveStream(const analytics::Statistics& stats) : stats_(stats) {}

  bool Next(std::string& out) override {
    if (!started_) {
      started_ = true;
      out += "retry: 1000\n\n";  // an EventSource reconnects after a second
    }
    const std::int64_t second = stats_.last_second();
    if (second != 0 && second != last_) {
      last_ = second;
      quiet_ = 0;
      out += analytics::SseMessage("stats", stats_.LiveEvent());
    } else if (++quiet_ * StatsApi::kLivePeriod >= kKeepAlive) {
      quiet_ = 0;
      out += ": keep-alive\n\n";
    }
    return true;
  }

 private:
  static constexpr std::chrono::seconds kKeepAlive{15};
  const analytics::Statistics& stats_;
  std::int64_t last_ = 0;
  int quiet_ = 0;
  bool started_ = false;
};

}  // namespace

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

void StatsApi::Live(const http::Request& req, const http::ConnectionInfo& connection,
                    http::Respond respond) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  http::Response head{http::status::ok, v};
  head.set(http::field::content_type, "text/event-stream; charset=utf-8");
  if (req.method() == http::verb::head) {
    head.keep_alive(ka);
    return respond(std::move(head));
  }
  if (connection.streams == nullptr ||
      !connection.streams->Open(std::make_shared<LiveStream>(stats_), kLivePeriod)) {
    return respond(http::MakeError(
        http::ApiError::kUnavailable,
        "too many live streams are open (analytics.live_streams); try again later", v, ka));
  }
  respond(std::move(head));
}

void StatsApi::Serve(const http::Request& req, const http::ConnectionInfo& connection,
                     const http::PathSegments& parts, http::Respond respond) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    http::Response res = http::MakeError(http::ApiError::kMethodNotAllowed, "use GET", v, ka);
    res.set(http::field::allow, "GET");
    return respond(std::move(res));
  }
  if (parts[3] == "live") {
    if (parts.size() != 4) {
      return respond(http::MakeError(http::ApiError::kNotFound, "no such endpoint", v, ka));
    }
    return Live(req, connection, std::move(respond));
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
