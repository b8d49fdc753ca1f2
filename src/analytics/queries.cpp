#include "analytics/queries.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <map>

namespace vwr::analytics {

namespace {

using Parsed = boost::system::result<std::int64_t, Answer>;

Answer BadRequest(std::string message) {
  return Answer::Error(400, "bad_request", std::move(message));
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += boost::json::serialize(boost::json::value(boost::json::string(ValidUtf8(text))));
}

void AppendNumber(std::string& out, const MetricSpec& metric, double value) {
  if (metric.how == MetricSpec::How::kField || metric.how == MetricSpec::How::kCountOf) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<std::uint64_t>(value));
  } else {
    // Three decimals are plenty for a rate, a mean or a quantile, and keep CSV readable.
    const double rounded = std::round(value * 1000.0) / 1000.0;
    fmt::format_to(std::back_inserter(out), "{}", rounded);
  }
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t v = 0;
  if (text.empty() || text.size() > 18) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

std::optional<Step> ParseStep(std::string_view text) {
  if (text == "1s") return Step::kSecond;
  if (text == "1m") return Step::kMinute;
  if (text == "1h") return Step::kHour;
  return std::nullopt;
}

// Reads from/to, aligned to `step` (from down, to up); to defaults to now, from to 60 steps back.
boost::system::result<std::pair<std::int64_t, std::int64_t>, Answer> ParseRange(
    const ParamReader& param, std::int64_t now, std::int64_t step) {
  std::int64_t to = now;
  std::int64_t from = -1;
  if (auto text = param("to")) {
    auto v = ParseInt(*text);
    if (!v) return BadRequest("to: unix seconds expected");
    to = *v;
  }
  if (auto text = param("from")) {
    auto v = ParseInt(*text);
    if (!v) return BadRequest("from: unix seconds expected");
    from = *v;
  }
  if (from >= 0 && from >= to) return BadRequest("from must be before to");
  to = (to + step - 1) / step * step;
  if (from < 0) from = std::max<std::int64_t>(0, to - 60 * step);
  from = from / step * step;
  if (from >= to) return BadRequest("from must be before to");
  if ((to - from) / step > kMaxPoints) {
    return BadRequest(fmt::format("at most {} steps per query: use a coarser step", kMaxPoints));
  }
  return std::make_pair(from, to);
}

boost::system::result<std::string, Answer> ParseRoom(const ParamReader& param) {
  auto room = param("room");
  if (!room || room->empty()) return BadRequest("room is required");
  if (room->size() > 200) return BadRequest("room: too long");
  return *room;
}

boost::system::result<std::size_t, Answer> ParseK(const ParamReader& param) {
  auto text = param("k");
  using Result = boost::system::result<std::size_t, Answer>;
  if (!text) return Result(boost::system::in_place_value, std::size_t{10});
  auto v = ParseInt(*text);
  if (!v || *v < 1 || *v > 1000) return BadRequest("k: a number from 1 to 1000 expected");
  return Result(boost::system::in_place_value, static_cast<std::size_t>(*v));
}

}  // namespace

Answer Answer::Error(unsigned status, std::string code, std::string message) {
  Answer a;
  a.status = status;
  a.error_code = std::move(code);
  a.error_message = std::move(message);
  return a;
}

boost::system::result<SeriesQuery, Answer> ParseSeriesQuery(const ParamReader& param,
                                                            std::int64_t now) {
  SeriesQuery q;
  auto room = ParseRoom(param);
  if (!room) return room.error();
  q.room = std::move(*room);
  if (auto step = param("step")) {
    auto s = ParseStep(*step);
    if (!s) return BadRequest("step: one of 1s, 1m, 1h expected");
    q.step = *s;
  }
  auto range = ParseRange(param, now, SecondsOf(q.step));
  if (!range) return range.error();
  std::tie(q.from, q.to) = *range;
  const std::string metrics = param("metrics").value_or("requests");
  std::string_view rest = metrics;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    const MetricSpec* m = FindMetric(name);
    if (m == nullptr) {
      return BadRequest(
          fmt::format("metrics: unknown metric \"{}\"", ValidUtf8(name.substr(0, 64))));
    }
    if (std::find(q.metrics.begin(), q.metrics.end(), m) == q.metrics.end()) {
      q.metrics.push_back(m);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (q.metrics.size() > 64) return BadRequest("metrics: at most 64");
  if (auto format = param("format")) {
    if (*format == "csv") {
      q.csv = true;
    } else if (*format != "json") {
      return BadRequest("format: json or csv expected");
    }
  }
  return q;
}

Answer RenderSeries(const SeriesQuery& q, const Frames& frames) {
  const std::int64_t step = SecondsOf(q.step);
  const Frame zero;
  // Walks the frames alongside the steps (both ascending).
  std::size_t next = 0;
  const auto frame_at = [&](std::int64_t t) -> const Frame& {
    while (next < frames.size() && frames[next].first < t) ++next;
    return next < frames.size() && frames[next].first == t ? frames[next].second : zero;
  };
  Answer a;
  std::string& out = a.body;
  if (q.csv) {
    a.content_type = "text/csv; charset=utf-8";
    out += "time";
    for (const MetricSpec* m : q.metrics) fmt::format_to(std::back_inserter(out), ",{}", m->name);
    out += '\n';
    for (std::int64_t t = q.from; t < q.to; t += step) {
      const Frame& f = frame_at(t);
      fmt::format_to(std::back_inserter(out), "{}", t);
      for (const MetricSpec* m : q.metrics) {
        out += ',';
        AppendNumber(out, *m, MetricValue(*m, f));
      }
      out += '\n';
    }
    return a;
  }
  // One pass per metric keeps each series contiguous; the frames are few next to the points.
  out += "{\"room\":";
  AppendJsonString(out, q.room);
  fmt::format_to(std::back_inserter(out), ",\"step\":\"{}\",\"from\":{},\"to\":{},\"series\":{{",
                 StepName(q.step), q.from, q.to);
  bool first_metric = true;
  for (const MetricSpec* m : q.metrics) {
    if (!first_metric) out += ',';
    first_metric = false;
    fmt::format_to(std::back_inserter(out), "\"{}\":[", m->name);
    next = 0;
    for (std::int64_t t = q.from; t < q.to; t += step) {
      if (t != q.from) out += ',';
      fmt::format_to(std::back_inserter(out), "[{},", t);
      AppendNumber(out, *m, MetricValue(*m, frame_at(t)));
      out += ']';
    }
    out += ']';
  }
  out += "}}";
  return a;
}

boost::system::result<TopQuery, Answer> ParseTopQuery(const ParamReader& param, std::int64_t now) {
  TopQuery q;
  auto room = ParseRoom(param);
  if (!room) return room.error();
  q.room = std::move(*room);
  auto dim = param("dim");
  if (!dim) return BadRequest("dim is required: pageUrl, ip, ipPrefix, userAgent, user or host");
  auto d = ParseDimension(*dim);
  if (!d) return BadRequest("dim: one of pageUrl, ip, ipPrefix, userAgent, user, host expected");
  q.dim = *d;
  auto range = ParseRange(param, now, 60);
  if (!range) return range.error();
  std::tie(q.from, q.to) = *range;
  auto k = ParseK(param);
  if (!k) return k.error();
  q.k = *k;
  return q;
}

Step TopStepFor(const TopQuery& q) { return q.to - q.from > 86400 ? Step::kHour : Step::kMinute; }

Answer RenderTop(const TopQuery& q, const TopResult& result) {
  Answer a;
  std::string& out = a.body;
  out += "{\"room\":";
  AppendJsonString(out, q.room);
  fmt::format_to(std::back_inserter(out),
                 ",\"dim\":\"{}\",\"from\":{},\"to\":{},\"total\":{},\"top\":[",
                 DimensionName(q.dim), q.from, q.to, result.seen);
  const std::size_t n = std::min(q.k, result.entries.size());
  for (std::size_t i = 0; i < n; ++i) {
    const TopEntry& e = result.entries[i];
    if (i != 0) out += ',';
    out += "{\"key\":";
    AppendJsonString(out, e.key);
    const double share =
        result.seen == 0
            ? 0.0
            : std::min(1.0, static_cast<double>(e.count) / static_cast<double>(result.seen));
    fmt::format_to(std::back_inserter(out), ",\"count\":{},\"share\":{}", e.count,
                   std::round(share * 10000.0) / 10000.0);
    if (q.dim == Dimension::kUserAgent) {
      fmt::format_to(std::back_inserter(out), ",\"class\":\"{}\"",
                     AgentClassName(ClassifyAgent(e.key)));
    }
    out += '}';
  }
  out += "]}";
  return a;
}

boost::system::result<PeaksQuery, Answer> ParsePeaksQuery(const ParamReader& param,
                                                          std::int64_t now) {
  PeaksQuery q;
  auto room = ParseRoom(param);
  if (!room) return room.error();
  q.room = std::move(*room);
  if (auto period = param("period")) {
    if (*period == "hour") {
      q.period = Step::kHour;
    } else if (*period == "minute") {
      q.period = Step::kMinute;
    } else {
      return BadRequest("period: hour or minute expected");
    }
  }
  const std::int64_t step = SecondsOf(q.period);
  // Peaks look back further by default: a day of hours, or an hour of minutes.
  std::int64_t default_from = -1;
  if (!param("from")) {
    const std::int64_t to = param("to") ? ParseInt(*param("to")).value_or(now) : now;
    default_from = std::max<std::int64_t>(0, to - (q.period == Step::kHour ? 86400 : 3600));
  }
  const ParamReader with_default = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "from" && default_from >= 0) return std::to_string(default_from);
    return param(name);
  };
  auto range = ParseRange(with_default, now, step);
  if (!range) return range.error();
  std::tie(q.from, q.to) = *range;
  auto k = ParseK(param);
  if (!k) return k.error();
  q.k = *k;
  q.metric = FindMetric("requests");
  if (auto metric = param("metric")) {
    q.metric = FindMetric(*metric);
    if (q.metric == nullptr) return BadRequest("metric: unknown metric");
  }
  return q;
}

Answer RenderPeaks(const PeaksQuery& q, const Frames& frames) {
  const std::int64_t step = SecondsOf(q.period);
  std::vector<std::pair<double, const std::pair<std::int64_t, Frame>*>> ranked;
  for (const auto& entry : frames) {
    if (entry.first < q.from || entry.first >= q.to) continue;
    const double v = MetricValue(*q.metric, entry.second);
    if (v > 0) ranked.emplace_back(v, &entry);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->first < b.second->first;
  });
  if (ranked.size() > q.k) ranked.resize(q.k);
  Answer a;
  std::string& out = a.body;
  out += "{\"room\":";
  AppendJsonString(out, q.room);
  fmt::format_to(std::back_inserter(out),
                 ",\"period\":\"{}\",\"from\":{},\"to\":{},\"metric\":\"{}\",\"peaks\":[",
                 q.period == Step::kHour ? "hour" : "minute", q.from, q.to, q.metric->name);
  static constexpr std::array<std::string_view, 8> kContext = {
      "requests", "joins",    "admitted_now", "admitted_from_line",
      "blocked",  "rejected", "full",         "waiting"};
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& [t, frame] = *ranked[i].second;
    if (i != 0) out += ',';
    fmt::format_to(std::back_inserter(out), "{{\"start\":{},\"end\":{},\"value\":", t, t + step);
    AppendNumber(out, *q.metric, ranked[i].first);
    for (std::string_view name : kContext) {
      const MetricSpec* m = FindMetric(name);
      fmt::format_to(std::back_inserter(out), ",\"{}\":", name);
      AppendNumber(out, *m, MetricValue(*m, frame));
    }
    out += ",\"wait_time_p95\":";
    const MetricSpec* p95 = FindMetric("wait_time_p95");
    AppendNumber(out, *p95, MetricValue(*p95, frame));
    out += '}';
  }
  out += "]}";
  return a;
}

std::string SseMessage(std::string_view event, std::string_view json) {
  return fmt::format("event: {}\ndata: {}\n\n", event, json);
}

}  // namespace vwr::analytics
