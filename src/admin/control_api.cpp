#include "admin/control_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "analytics/metrics.hpp"
#include "http/errors.hpp"
#include "util/log_escape.hpp"

namespace vwr::admin {
namespace {

namespace json = boost::json;

// A pushed value is one number and a ttl: anything larger is not one.
constexpr std::size_t kMaxPushBytes = 4096;
constexpr std::size_t kDefaultDecisions = 50;
constexpr std::size_t kMaxDecisions = 1000;

std::int64_t UnixMillis(util::WallTime at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

// RFC 3339 in UTC with milliseconds.
std::string Rfc3339(util::WallTime at) {
  const std::int64_t ms = UnixMillis(at);
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ((ms % 1000) + 1000) % 1000);
}

json::value Number(double v) { return std::isfinite(v) ? json::value(v) : json::value(nullptr); }

json::object PolicyJson(const core::Policy& p) {
  return json::object{{"max_active", p.max_active},
                      {"admit_rate", p.admit_rate},
                      {"mode", std::string(core::ModeName(p.mode))}};
}

json::object DecisionJson(const control::Decision& d) {
  json::object change;
  if (d.change.max_active) change["max_active"] = *d.change.max_active;
  if (d.change.admit_rate) change["admit_rate"] = *d.change.admit_rate;
  if (d.change.mode) change["mode"] = std::string(core::ModeName(*d.change.mode));
  json::array seen;
  for (const control::SeenValue& s : d.seen) {
    seen.push_back(json::object{
        {"name", s.name},
        {"value", s.state == control::SignalState::kOk ? Number(s.value) : json::value(nullptr)},
        {"state", std::string(control::SignalStateName(s.state))}});
  }
  return json::object{{"at", Rfc3339(d.at)},
                      {"room", d.room},
                      {"source", std::string(control::DecisionSourceName(d.source))},
                      {"name", d.source_name},
                      {"shadow", d.shadow},
                      {"change", std::move(change)},
                      {"before", PolicyJson(d.before)},
                      {"after", PolicyJson(d.after)},
                      {"seen", std::move(seen)},
                      {"reason", d.reason}};
}

http::Response Json(const http::RequestContext& ctx, const json::value& v) {
  return ctx.JsonResponse(http::status::ok, json::serialize(v));
}

// A signal name as the configuration allows it, so that a path segment that is not one is
// refused before it reaches a log line or a lookup.
bool IsSignalName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

http::Response ControlApi::Serve(http::RequestContext& ctx, const http::PathSegments& parts) {
  const http::Request& req = ctx.request();
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  auto only = [&](const char* allow) {
    http::Response res =
        ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, std::string("use ") + allow);
    res.set(http::field::allow, allow);
    return res;
  };
  if (parts[3] == "signals") {
    if (parts.size() > 5) return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
    return Signals(ctx, parts);
  }
  if (parts.size() != 4) return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
  if (!read) return only("GET");
  if (parts[3] == "rules") return Rules(ctx);
  return Control(ctx);
}

http::Response ControlApi::Signals(http::RequestContext& ctx, const http::PathSegments& parts) {
  const http::Request& req = ctx.request();
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  control::SignalTable& table = plane_.signals();
  const util::TimePoint now = clock_.Now();
  const auto probes = plane_.probe_status();
  auto render = [&](std::size_t i) {
    const control::SignalReading r = table.Read(i, now);
    const control::SignalSpec& spec = plane_.signal_specs()[i];
    json::object o{{"name", table.name(i)},
                   {"kind", std::string(control::SignalKindName(spec.kind))},
                   {"state", std::string(control::SignalStateName(r.state))},
                   {"value", r.age ? Number(r.value) : json::value(nullptr)},
                   {"age_ms", r.age ? json::value(util::ToMillis(*r.age)) : json::value(nullptr)}};
    if (!r.error.empty()) o["error"] = r.error;
    for (const auto& p : probes) {
      if (p.name != table.name(i)) continue;
      o["probe"] = json::object{{"runs", p.runs},
                                {"failures", p.failures},
                                {"last_duration_ms", util::ToMillis(p.last_duration)},
                                {"running", p.running}};
    }
    return o;
  };
  if (parts.size() == 4) {
    if (!read) {
      http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET");
      res.set(http::field::allow, "GET");
      return res;
    }
    json::array all;
    for (std::size_t i = 0; i < table.size(); ++i) all.push_back(render(i));
    return Json(ctx, json::object{{"signals", std::move(all)}});
  }
  if (!read && req.method() != http::verb::put) {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET or PUT");
    res.set(http::field::allow, "GET, PUT");
    return res;
  }
  const std::string_view name = parts[4];
  const std::optional<std::size_t> index = IsSignalName(name) ? table.IndexOf(name) : std::nullopt;
  if (!index) return ctx.ErrorResponse(http::ApiError::kSignalNotFound, "no such signal");
  if (read) return Json(ctx, render(*index));
  if (plane_.signal_specs()[*index].kind != control::SignalKind::kPush) {
    return ctx.ErrorResponse(http::ApiError::kBadRequest,
                             "this signal is measured by its probe; only a signal of kind push "
                             "takes values");
  }
  if (req.body().size() > kMaxPushBytes) {
    return ctx.ErrorResponse(http::ApiError::kPayloadTooLarge,
                             "a pushed value is {\"value\": <number>, \"ttl\": \"10s\"}");
  }
  std::string error;
  if (!plane_.Push(std::string(name), req.body(), &error)) {
    spdlog::warn("admin: push to signal {} refused: {}", name, util::LogEscaped(error));
    return ctx.ErrorResponse(http::ApiError::kBadRequest, error);
  }
  return ctx.EmptyResponse(http::status::no_content);
}

http::Response ControlApi::Rules(const http::RequestContext& ctx) {
  const util::TimePoint now = clock_.Now();
  const util::WallTime wall = clock_.WallNow();
  auto wall_of = [&](util::TimePoint at) { return Rfc3339(wall - (now - at)); };
  json::array rules;
  for (const auto& r : plane_.RuleStatus()) {
    json::object o{{"name", r.name},
                   {"room", r.room},
                   {"shadow", r.shadow},
                   {"last", r.last == control::Truth::kTrue    ? "true"
                            : r.last == control::Truth::kFalse ? "false"
                                                               : "unknown"}};
    o["holding_since"] = r.holding_since ? json::value(wall_of(*r.holding_since)) : nullptr;
    o["last_fired"] = r.last_fired ? json::value(wall_of(*r.last_fired)) : nullptr;
    rules.push_back(std::move(o));
  }
  return Json(ctx, json::object{{"rules", std::move(rules)}});
}

http::Response ControlApi::Control(const http::RequestContext& ctx) {
  const std::string_view query = http::QueryOf(ctx.request().target());
  const std::string room = http::QueryParam(query, "room").value_or("");
  std::size_t limit = kDefaultDecisions;
  if (auto text = http::QueryParam(query, "limit")) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || end != text->data() + text->size() || n < 1 || n > kMaxDecisions) {
      return ctx.ErrorResponse(http::ApiError::kBadRequest,
                               "limit must be a whole number from 1 to 1000");
    }
    limit = n;
  }
  json::array rooms;
  for (const std::string& id : plane_.ControlledRooms()) {
    if (!room.empty() && id != room) continue;
    json::object o{{"room", id}};
    if (auto s = plane_.ControllerStatus(id)) {
      o["state"] = s->state;
      o["worst"] = Number(s->worst);
      if (!s->operator_name.empty()) o["operator"] = s->operator_name;
    } else {
      o["state"] = "starting";
    }
    rooms.push_back(std::move(o));
  }
  json::array events;
  for (const auto& e : plane_.EventStatus()) {
    if (!room.empty() && e.room != room) continue;
    json::object o{
        {"name", e.name}, {"room", e.room}, {"opens_at", Rfc3339(e.opens_at)}, {"phase", e.phase}};
    if (!e.commitment.empty()) o["commitment"] = e.commitment;
    if (!e.seed_hex.empty()) o["seed"] = e.seed_hex;
    if (e.first_ticket) o["first_ticket"] = *e.first_ticket;
    if (e.last_ticket) o["last_ticket"] = *e.last_ticket;
    events.push_back(std::move(o));
  }
  json::array decisions;
  for (const control::Decision& d : plane_.decisions().Recent(limit, room)) {
    decisions.push_back(DecisionJson(d));
  }
  return Json(ctx, json::object{{"rooms", std::move(rooms)},
                                {"schedules", std::move(events)},
                                {"decisions", std::move(decisions)},
                                {"decisions_total", plane_.decisions().total()}});
}

std::string ControlApi::PolicyControl(const std::string& room) const {
  const std::optional<control::Controller::Status> status = plane_.ControllerStatus(room);
  const std::vector<control::Decision> last = plane_.decisions().Recent(1, room);
  const auto controlled = plane_.ControlledRooms();
  const bool has_controller =
      std::find(controlled.begin(), controlled.end(), room) != controlled.end();
  if (!has_controller && last.empty()) return {};
  json::object o{{"automatic", has_controller}};
  if (has_controller) o["state"] = status ? status->state : std::string("starting");
  if (status && !status->operator_name.empty()) o["operator"] = status->operator_name;
  if (!last.empty()) {
    o["last_decision"] =
        json::object{{"source", std::string(control::DecisionSourceName(last[0].source))},
                     {"name", last[0].source_name},
                     {"reason", last[0].reason},
                     {"at", Rfc3339(last[0].at)},
                     {"shadow", last[0].shadow}};
  }
  return ",\"control\":" + json::serialize(o);
}

void ControlApi::RenderMetrics(std::string& out) const {
  control::SignalTable& table = plane_.signals();
  const util::TimePoint now = clock_.Now();
  std::vector<control::SignalReading> readings = table.ReadAll(now);
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < table.size(); ++i) {
    labels.push_back(fmt::format("signal=\"{}\"", analytics::EscapeLabel(table.name(i))));
  }
  analytics::AppendHelp(out, "vwr_signal_value", "gauge",
                        "The signal's last value (only while its state is ok).");
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (readings[i].ok())
      analytics::AppendSample(out, "vwr_signal_value", labels[i], readings[i].value);
  }
  analytics::AppendHelp(out, "vwr_signal_up", "gauge",
                        "1 while the signal is known (state ok), 0 while unknown or in error.");
  for (std::size_t i = 0; i < table.size(); ++i) {
    analytics::AppendSample(out, "vwr_signal_up", labels[i], readings[i].ok() ? 1.0 : 0.0);
  }
  analytics::AppendHelp(out, "vwr_signal_age_seconds", "gauge",
                        "Time since the signal's value was measured or pushed.");
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (readings[i].age) {
      analytics::AppendSample(out, "vwr_signal_age_seconds", labels[i],
                              util::ToSeconds(*readings[i].age));
    }
  }
  const auto probes = plane_.probe_status();
  analytics::AppendHelp(out, "vwr_signal_probe_failures_total", "counter",
                        "Probe runs that failed or timed out.");
  for (const auto& p : probes) {
    analytics::AppendSample(out, "vwr_signal_probe_failures_total",
                            fmt::format("signal=\"{}\"", analytics::EscapeLabel(p.name)),
                            static_cast<double>(p.failures));
  }
  analytics::AppendHelp(out, "vwr_threshold_changes_total", "counter",
                        "Changes of a room's max_active, admit_rate or mode by traffic control "
                        "(controller, rule, schedule) or by an operator.");
  for (const auto& c : plane_.ThresholdChanges()) {
    analytics::AppendSample(out, "vwr_threshold_changes_total",
                            fmt::format("room=\"{}\",reason=\"{}\"", analytics::EscapeLabel(c.room),
                                        analytics::EscapeLabel(c.reason)),
                            static_cast<double>(c.count));
  }
  analytics::AppendHelp(out, "vwr_control_decisions_total", "counter",
                        "Decisions recorded by traffic control, shadow ones included.");
  analytics::AppendSample(out, "vwr_control_decisions_total", "",
                          static_cast<double>(plane_.decisions().total()));
}

}  // namespace vwr::admin
