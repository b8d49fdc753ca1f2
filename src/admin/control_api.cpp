#include "admin/control_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "admin/operator_routes.hpp"
#include "analytics/metrics.hpp"
#include "http/errors.hpp"
#include "util/duration.hpp"
#include "util/log_escape.hpp"

namespace vwr::admin {
namespace {

namespace json = boost::json;

// A pushed value is one number and a ttl: anything larger is not one.
constexpr std::size_t kMaxPushBytes = 4096;
constexpr std::size_t kDefaultDecisions = 50;
constexpr std::size_t kMaxDecisions = 1000;
// As many rules as the configuration file may hold: each is evaluated every control tick.
constexpr std::size_t kMaxRules = 1024;

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

std::optional<http::Response> ControlApi::Serve(http::RequestContext& ctx,
                                                const http::PathSegments& parts,
                                                AuditRecord& note) {
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
  if (parts[3] == "rules") {
    if (parts.size() > 5) return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
    return Rules(ctx, parts, note);
  }
  if (parts.size() == 5) return RoomControl(ctx, parts[4], note);
  if (parts.size() != 4) return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
  if (!read) return only("GET");
  return Control(ctx);
}

void ControlApi::LoadKept(std::function<void(bool ok)> done) {
  if (!store_) return done(true);
  store_->LoadControl([this, done = std::move(done)](bool ok, ControlStore::Entries entries) {
    if (!ok) {
      spdlog::error("control: cannot read the rules and control settings kept");
      return done(false);
    }
    std::vector<control::RuleSpec> rules;
    std::map<std::string, control::ControlSettings> rooms;
    for (const auto& [key, value] : entries) {
      std::string error;
      if (key.starts_with("rule:")) {
        if (auto spec = control::RuleFromJsonText(value, &error)) {
          rules.push_back(std::move(*spec));
          continue;
        }
      } else if (key.starts_with("room:")) {
        if (auto settings = control::ControlChangeFromJson(value, {}, &error)) {
          rooms.emplace(key.substr(5), *settings);
          continue;
        }
      } else {
        error = "unknown kind of entry";
      }
      spdlog::warn("control: the kept entry {} is left out: {}", util::LogEscaped(key),
                   util::LogEscaped(error));
    }
    plane_.AdoptKept(rules, rooms);
    done(true);
  });
}

void ControlApi::KeepThenAnswer(http::RequestContext& ctx, std::string key,
                                std::optional<std::string> value,
                                std::function<http::Response(const http::RequestContext&)> apply) {
  auto shared = std::move(ctx).Share();
  auto answer = [shared, apply = std::move(apply)](bool kept) {
    if (!kept) {
      http::Response res =
          shared->ErrorResponse(http::ApiError::kUnavailable,
                                "the change could not be kept (see the log); nothing changed");
      return shared->Finish(std::move(res));
    }
    shared->Finish(apply(*shared));
  };
  if (!store_) return answer(true);
  if (value) {
    store_->PutControl(std::move(key), std::move(*value), std::move(answer));
  } else {
    store_->RemoveControl(std::move(key), std::move(answer));
  }
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

std::optional<control::RuleSet::RuleStatus> ControlApi::RuleStatusOf(std::string_view name) const {
  for (auto& r : plane_.RuleStatus()) {
    if (r.name == name) return r;
  }
  return std::nullopt;
}

json::object ControlApi::RuleJson(const control::RuleSet::RuleStatus& r) const {
  const util::TimePoint now = clock_.Now();
  const util::WallTime wall = clock_.WallNow();
  auto wall_of = [&](util::TimePoint at) { return Rfc3339(wall - (now - at)); };
  json::object o = control::RuleToJson(r.spec);
  o["origin"] = r.spec.from_api ? "api" : "config";
  o["state"] = r.state;
  o["last"] = r.last == control::Truth::kTrue    ? "true"
              : r.last == control::Truth::kFalse ? "false"
                                                 : "unknown";
  o["holding_since"] = r.holding_since ? json::value(wall_of(*r.holding_since)) : nullptr;
  o["last_fired"] = r.last_fired ? json::value(wall_of(*r.last_fired)) : nullptr;
  return o;
}

std::optional<http::Response> ControlApi::Rules(http::RequestContext& ctx,
                                                const http::PathSegments& parts,
                                                AuditRecord& note) {
  const http::Request& req = ctx.request();
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  auto refuse = [&](http::status status, std::string_view code, std::string_view message) {
    return AdminError(status, code, message, ctx.version(), ctx.keep_alive());
  };
  if (parts.size() == 4) {
    if (read) {
      json::array rules;
      for (const auto& r : plane_.RuleStatus()) rules.push_back(RuleJson(r));
      return Json(ctx, json::object{{"rules", std::move(rules)}});
    }
    if (req.method() != http::verb::post) {
      http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET or POST");
      res.set(http::field::allow, "GET, POST");
      return res;
    }
  } else {
    if (!read && req.method() != http::verb::put && req.method() != http::verb::delete_) {
      http::Response res =
          ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET, PUT or DELETE");
      res.set(http::field::allow, "GET, PUT, DELETE");
      return res;
    }
    const std::string_view name = parts[4];
    const std::optional<control::RuleSpec> held =
        control::IsRuleName(name) ? plane_.FindRule(name) : std::nullopt;
    if (!held) return refuse(http::status::not_found, "rule_not_found", "no rule of that name");
    if (read) {
      if (auto status = RuleStatusOf(name)) return Json(ctx, RuleJson(*status));
      return refuse(http::status::not_found, "rule_not_found", "no rule of that name");
    }
    if (!held->from_api) {
      return refuse(http::status::conflict, "conflict",
                    "this rule is written in the configuration file: change it there");
    }
    if (req.method() == http::verb::delete_) {
      note.action = "rules.remove";
      note.room = held->room;
      note.before = json::serialize(control::RuleToJson(*held));
      const std::string key = "rule:" + held->name;
      KeepThenAnswer(ctx, key, std::nullopt, [this, name = held->name](const auto& c) {
        plane_.RemoveRule(name);
        return c.EmptyResponse(http::status::no_content);
      });
      return std::nullopt;
    }
  }
  // POST or PUT: the rule in the body.
  std::string error;
  std::optional<control::RuleSpec> spec = control::RuleFromJsonText(req.body(), &error);
  if (!spec) {
    spdlog::warn("admin: a rule was refused: {}", util::LogEscaped(error));
    return refuse(http::status::bad_request, "invalid_rule", error);
  }
  const bool create = parts.size() == 4;
  if (!create && spec->name != parts[4]) {
    return refuse(http::status::bad_request, "invalid_rule",
                  "name: the body names another rule than the path");
  }
  const std::optional<control::RuleSpec> held = plane_.FindRule(spec->name);
  if (create && held) {
    return refuse(http::status::conflict, "conflict",
                  "a rule of that name exists: change it with PUT /admin/api/v1/rules/{name}");
  }
  if (create && plane_.RuleStatus().size() >= kMaxRules) {
    return refuse(http::status::conflict, "conflict",
                  "there are 1024 rules already; remove one first");
  }
  const std::vector<control::RuleProblem> problems = plane_.CheckRule(*spec);
  if (!problems.empty()) {
    const control::RuleProblem& p = problems.front();
    json::object e{{"code", "invalid_rule"}, {"field", p.key}};
    std::string message = p.key + ": ";
    if (p.where) {
      message += "line " + std::to_string(p.where->line) + ", column " +
                 std::to_string(p.where->column) + ": ";
      e["line"] = p.where->line;
      e["column"] = p.where->column;
    }
    message += p.message;
    e["message"] = message;
    spdlog::warn("admin: rule {} refused: {}", util::LogEscaped(spec->name),
                 util::LogEscaped(message));
    return ctx.JsonResponse(http::status::bad_request,
                            json::serialize(json::object{{"error", std::move(e)}}));
  }
  note.action = create ? "rules.add" : "rules.change";
  note.room = spec->room;
  if (held) note.before = json::serialize(control::RuleToJson(*held));
  const std::string text = json::serialize(control::RuleToJson(*spec));
  note.after = text;
  KeepThenAnswer(
      ctx, "rule:" + spec->name, text, [this, spec = *spec, create](const http::RequestContext& c) {
        std::vector<control::RuleProblem> again;
        const auto status = plane_.PutRule(spec, again) ? RuleStatusOf(spec.name) : std::nullopt;
        if (!status) {
          return c.ErrorResponse(http::ApiError::kInternal, "the rule was not taken");
        }
        return c.JsonResponse(create ? http::status::created : http::status::ok,
                              json::serialize(RuleJson(*status)));
      });
  return std::nullopt;
}

json::object ControlApi::RoomControlJson(const control::ControlPlane::RoomControl& c) const {
  json::object o{{"room", c.room}};
  o["state"] = c.status.state;
  o["worst"] = Number(c.status.worst);
  if (!c.status.operator_name.empty()) o["operator"] = c.status.operator_name;
  const json::object settings = control::ControlSettingsToJson(c.settings);
  for (const auto& field : settings) o[field.key()] = field.value();
  o["algorithm"] = std::string(control::AlgorithmName(c.spec.algorithm));
  o["interval"] =
      util::FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(c.spec.interval));
  o["on_unknown"] = std::string(control::OnUnknownName(c.spec.on_unknown));
  json::array targets;
  for (const control::Target& t : c.spec.targets) {
    targets.push_back(json::object{{"signal", t.signal}, {"max", t.max}});
  }
  o["targets"] = std::move(targets);
  return o;
}

std::optional<http::Response> ControlApi::RoomControl(http::RequestContext& ctx,
                                                      std::string_view room, AuditRecord& note) {
  const http::Request& req = ctx.request();
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  if (!read && req.method() != http::verb::put) {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET or PUT");
    res.set(http::field::allow, "GET, PUT");
    return res;
  }
  const std::optional<control::ControlPlane::RoomControl> now =
      room.size() <= 64 ? plane_.RoomControlOf(std::string(room)) : std::nullopt;
  if (!now) {
    return ctx.ErrorResponse(http::ApiError::kRoomNotFound,
                             "no room under automatic control of that name (a room is put under "
                             "it by its control: section in the configuration)");
  }
  if (read) return Json(ctx, RoomControlJson(*now));
  std::string error;
  std::optional<control::ControlSettings> next =
      control::ControlChangeFromJson(req.body(), now->settings, &error);
  if (next) {
    // Checked on a copy first, so that a refused change is not kept.
    control::ControlSpec trial = now->spec;
    trial.max_active = next->max_active;
    trial.admit_rate = next->admit_rate;
    std::vector<std::string> problems = control::ValidateControlSpec(trial, {});
    std::erase_if(problems, [](const std::string& p) { return p.starts_with("control.targets"); });
    if (!problems.empty()) {
      error = problems.front();
      next.reset();
    }
  }
  if (!next) {
    spdlog::warn("admin: control of room {} refused: {}", util::LogEscaped(room),
                 util::LogEscaped(error));
    return AdminError(http::status::bad_request, "invalid_control", error, ctx.version(),
                      ctx.keep_alive());
  }
  note.action = "control";
  note.room = now->room;
  note.before = json::serialize(control::ControlSettingsToJson(now->settings));
  note.after = json::serialize(control::ControlSettingsToJson(*next));
  KeepThenAnswer(ctx, "room:" + now->room, note.after,
                 [this, id = now->room, settings = *next](const http::RequestContext& c) {
                   std::string why;
                   if (!plane_.SetControlSettings(id, settings, &why)) {
                     return c.ErrorResponse(http::ApiError::kInternal, why);
                   }
                   return Json(c, RoomControlJson(*plane_.RoomControlOf(id)));
                 });
  return std::nullopt;
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
    if (auto c = plane_.RoomControlOf(id)) rooms.push_back(RoomControlJson(*c));
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

AuditRecord ControlAuditRecord(const control::Decision& d) {
  std::string who;
  switch (d.source) {
    case control::DecisionSource::kRule:
      who = "rule:";
      break;
    case control::DecisionSource::kSchedule:
      who = "schedule:";
      break;
    case control::DecisionSource::kController:
      who = "control:";
      break;
    case control::DecisionSource::kOperator:
      who = "operator:";
      break;
  }
  who += d.source_name;
  json::object before, after;
  if (d.change.max_active) {
    before["max_active"] = d.before.max_active;
    after["max_active"] = *d.change.max_active;
  }
  if (d.change.admit_rate) {
    before["admit_rate"] = d.before.admit_rate;
    after["admit_rate"] = *d.change.admit_rate;
  }
  if (d.change.mode) {
    before["mode"] = std::string(core::ModeName(d.before.mode));
    after["mode"] = std::string(core::ModeName(*d.change.mode));
  }
  after["reason"] = d.reason;
  json::object seen;
  for (const control::SeenValue& v : d.seen) {
    seen[v.name] = v.state == control::SignalState::kOk ? Number(v.value) : json::value(nullptr);
  }
  after["seen"] = std::move(seen);
  return AuditRecord{.operator_name = std::move(who),
                     .address = "",
                     .room = d.room,
                     .action = "policy",
                     .before = json::serialize(before),
                     .after = json::serialize(after)};
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
