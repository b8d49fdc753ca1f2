#include "control/signal_spec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <charconv>
#include <cmath>

#include "control/http_fetch.hpp"

namespace vwr::control {

std::string_view SignalKindName(SignalKind kind) {
  switch (kind) {
    case SignalKind::kHttp:
      return "http";
    case SignalKind::kPrometheus:
      return "prometheus";
    case SignalKind::kPostgres:
      return "postgres";
    case SignalKind::kMysql:
      return "mysql";
    case SignalKind::kPush:
      return "push";
  }
  return "push";
}

std::optional<SignalKind> ParseSignalKind(std::string_view name) {
  for (auto kind : {SignalKind::kHttp, SignalKind::kPrometheus, SignalKind::kPostgres,
                    SignalKind::kMysql, SignalKind::kPush}) {
    if (SignalKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::optional<PostgresMetric> ParsePostgresMetric(std::string_view name) {
  if (name == "connections_used") return PostgresMetric::kConnectionsUsed;
  if (name == "active_queries") return PostgresMetric::kActiveQueries;
  if (name == "lock_waits") return PostgresMetric::kLockWaits;
  if (name == "longest_query_seconds") return PostgresMetric::kLongestQuerySeconds;
  if (name == "latency_ms") return PostgresMetric::kLatencyMs;
  return std::nullopt;
}

std::optional<MysqlMetric> ParseMysqlMetric(std::string_view name) {
  if (name == "threads_running") return MysqlMetric::kThreadsRunning;
  if (name == "connections_used") return MysqlMetric::kConnectionsUsed;
  if (name == "latency_ms") return MysqlMetric::kLatencyMs;
  return std::nullopt;
}

std::optional<PromReading> ParsePromReading(std::string_view name) {
  if (name == "gauge") return PromReading::kGauge;
  if (name == "rate") return PromReading::kRate;
  if (name == "quantile") return PromReading::kQuantile;
  return std::nullopt;
}

std::optional<util::Duration> ParseShortDuration(std::string_view text) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0 || n > 1'000'000'000) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  return std::nullopt;
}

std::vector<std::string> ValidateSignalSpec(const SignalSpec& spec) {
  std::vector<std::string> out;
  const std::string key = "signals." + spec.name;
  auto bad = [&](const std::string& field, const std::string& message) {
    out.push_back(key + (field.empty() ? "" : "." + field) + ": " + message);
  };
  if (spec.name.empty() || spec.name.size() > 64 ||
      !(std::isalpha(static_cast<unsigned char>(spec.name[0])) || spec.name[0] == '_') ||
      !std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    bad("", "a signal name is letters, digits and _ (at most 64), not starting with a digit");
  }
  if (spec.interval < std::chrono::milliseconds(100) || spec.interval > std::chrono::hours(1)) {
    bad("interval", "must be between 100ms and 1h");
  }
  if (spec.timeout < std::chrono::milliseconds(10) || spec.timeout > spec.interval) {
    bad("timeout", "must be at least 10ms and at most the interval");
  }
  if (spec.stale_after < util::Duration::zero()) bad("stale_after", "must not be negative");
  std::string error;
  switch (spec.kind) {
    case SignalKind::kHttp:
      if (!Url::Parse(spec.http.url, &error)) bad("url", error);
      if (spec.http.measure == HttpSignalSpec::Measure::kJsonPointer &&
          (spec.http.json_pointer.empty() || spec.http.json_pointer[0] != '/')) {
        bad("json_pointer", "a JSON pointer starts with / (e.g. /db/pool/used)");
      }
      if (spec.http.ok_status_min > spec.http.ok_status_max) bad("ok_status", "min above max");
      break;
    case SignalKind::kPrometheus:
      if (!Url::Parse(spec.prometheus.url, &error)) bad("url", error);
      if (spec.prometheus.metric.empty() == spec.prometheus.query.empty()) {
        bad("", "give either metric (scrape an endpoint) or query (ask a Prometheus server)");
      }
      if (!spec.prometheus.metric.empty() && !PromSelector::Parse(spec.prometheus.metric, &error)) {
        bad("metric", error);
      }
      if (!(spec.prometheus.quantile > 0 && spec.prometheus.quantile < 1)) {
        bad("quantile", "must be between 0 and 1");
      }
      if (!std::isfinite(spec.prometheus.scale) || spec.prometheus.scale == 0) {
        bad("scale", "must be a number other than 0");
      }
      break;
    case SignalKind::kPostgres:
      if (spec.postgres.conninfo.find("password") != std::string::npos) {
        bad("conninfo", "no password here: give password: { file: ... } or { env: ... }");
      }
      break;
    case SignalKind::kMysql:
      if (spec.mysql.user.empty()) bad("user", "is required");
      if (spec.mysql.port == 0 || spec.mysql.port > 65535) bad("port", "must be 1 to 65535");
      break;
    case SignalKind::kPush:
      break;
  }
  return out;
}

std::optional<PushedValue> ParsePushedValue(std::string_view json, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<PushedValue> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  if (json.size() > 1024) return fail("the body is larger than 1 KiB");
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object())
    return fail("the body is a JSON object {\"value\": 12.5, \"ttl\": \"10s\"}");
  const auto& object = doc.as_object();
  PushedValue out;
  const auto* value = object.if_contains("value");
  if (value == nullptr || !value->is_number()) return fail("value: a number is required");
  out.value = value->to_number<double>();
  if (!std::isfinite(out.value)) return fail("value: must be finite");
  if (const auto* ttl = object.if_contains("ttl")) {
    if (!ttl->is_string()) return fail("ttl: a duration such as \"10s\"");
    const auto& text = ttl->as_string();
    auto parsed = ParseShortDuration(std::string_view(text.data(), text.size()));
    if (!parsed || *parsed <= util::Duration::zero() || *parsed > std::chrono::hours(24)) {
      return fail("ttl: a duration such as \"10s\", above 0 and at most 24h");
    }
    out.ttl = parsed;
  }
  for (const auto& field : object) {
    if (field.key() != "value" && field.key() != "ttl") return fail("unknown field in the body");
  }
  return out;
}

}  // namespace vwr::control
