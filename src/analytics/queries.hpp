#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/frame.hpp"
#include "analytics/history.hpp"
#include "analytics/top_k.hpp"

namespace vwr::analytics {

// An answer body for the admin API: status 200 with JSON or CSV, or a client error (400) with
// the message the API puts in its usual error body.
struct Answer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Set when status is not 200: {"error":{"code":...,"message":...}} is the API's to write.
  std::string error_code;
  std::string error_message;

  static Answer Error(unsigned status, std::string code, std::string message);
};

// Reads one query parameter, percent-decoded (http::QueryParam), nullopt when absent.
using ParamReader = std::function<std::optional<std::string>(std::string_view name)>;

inline constexpr std::int64_t kMaxPoints = 100'000;  // points per series in one answer

// GET /admin/api/v1/stats?room=R&from=F&to=T&step=1s|1m|1h&metrics=M1,M2[&format=csv]
struct SeriesQuery {
  std::string room;
  Step step = Step::kMinute;
  std::int64_t from = 0;  // aligned down to the step
  std::int64_t to = 0;    // exclusive, aligned up to the step
  std::vector<const MetricSpec*> metrics{};
  bool csv = false;
};
// `now` fills in the defaults: to = now, from = to − 60 steps; metrics default to requests.
boost::system::result<SeriesQuery, Answer> ParseSeriesQuery(const ParamReader& param,
                                                            std::int64_t now);
// The body, from frames keyed by their period's start (periods without a frame are zeros).
Answer RenderSeries(const SeriesQuery& query, const Frames& frames);

// GET /admin/api/v1/stats/top?room=R&dim=D&from=F&to=T&k=K
struct TopQuery {
  std::string room;
  Dimension dim = Dimension::kIp;
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::size_t k = 10;  // 1..1000
};
boost::system::result<TopQuery, Answer> ParseTopQuery(const ParamReader& param, std::int64_t now);
// The resolution a breakdown of this range is read at: minutes up to a day, hours beyond.
Step TopStepFor(const TopQuery& query);
Answer RenderTop(const TopQuery& query, const TopResult& result);

// GET /admin/api/v1/stats/peaks?room=R&period=hour|minute&from=F&to=T&k=K[&metric=requests]
struct PeaksQuery {
  std::string room;
  Step period = Step::kHour;
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::size_t k = 10;
  const MetricSpec* metric = nullptr;  // what "busiest" is measured by (requests by default)
};
boost::system::result<PeaksQuery, Answer> ParsePeaksQuery(const ParamReader& param,
                                                          std::int64_t now);
Answer RenderPeaks(const PeaksQuery& query, const Frames& frames);

// One Server-Sent Events message: "event: <name>\ndata: <json>\n\n".
std::string SseMessage(std::string_view event, std::string_view json);

}  // namespace vwr::analytics
