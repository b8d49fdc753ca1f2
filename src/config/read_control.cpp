// Traffic control (docs/control.md): signals, rules, schedules and each room's control section.
// The values are read here with their types; what needs every section at once (a rule's
// condition naming a signal, a room's targets, a schedule's room) is checked by CheckControl
// once the whole file is read, with the control library's own checks, so that a file that
// loads is one the node can build.

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "config/duration.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"
#include "control/rule_set.hpp"
#include "control/schedule.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxSignals = 256;
constexpr std::size_t kMaxRules = 1024;
constexpr std::size_t kMaxSchedules = 256;
constexpr std::size_t kMaxTargets = 16;
constexpr std::size_t kMaxHeaders = 32;
constexpr std::size_t kMaxTextBytes = 4096;

constexpr std::array<std::string_view, 25> kSignalKeys = {
    "name",    "kind",         "interval",  "timeout", "stale_after", "url",        "method",
    "measure", "json_pointer", "ok_status", "bearer",  "headers",     "verify_tls", "metric",
    "reading", "quantile",     "query",     "scale",   "conninfo",    "password",   "host",
    "port",    "unix_socket",  "user",      "database"};
constexpr std::array<std::string_view, 5> kSignalKinds = {"http", "prometheus", "postgres", "mysql",
                                                          "push"};
constexpr std::array<std::string_view, 3> kHttpMeasures = {"latency_ms", "success", "json"};
constexpr std::array<std::string_view, 3> kPromReadings = {"gauge", "rate", "quantile"};
constexpr std::array<std::string_view, 5> kPostgresMetrics = {
    "connections_used", "active_queries", "lock_waits", "longest_query_seconds", "latency_ms"};
constexpr std::array<std::string_view, 3> kMysqlMetrics = {"threads_running", "connections_used",
                                                           "latency_ms"};
constexpr std::array<std::string_view, 2> kCredentialKeys = {"file", "env"};
constexpr std::array<std::string_view, 2> kStatusRangeKeys = {"min", "max"};
constexpr std::array<std::string_view, 8> kRuleKeys = {"name", "room",     "when",     "for",
                                                       "then", "priority", "cooldown", "shadow"};
constexpr std::array<std::string_view, 3> kThenKeys = {"max_active", "admit_rate", "mode"};
constexpr std::array<std::string_view, 1> kScaleKeys = {"scale"};
constexpr std::array<std::string_view, 6> kScheduleKeys = {"name",     "room", "opens_at",
                                                           "prequeue", "open", "shuffle"};
constexpr std::array<std::string_view, 3> kOpenKeys = {"mode", "max_active", "admit_rate"};
constexpr std::array<std::string_view, 7> kControlKeys = {
    "algorithm", "interval", "max_active", "admit_rate", "targets", "on_unknown", "operator_hold"};
constexpr std::array<std::string_view, 2> kBoundsKeys = {"min", "max"};
constexpr std::array<std::string_view, 2> kTargetKeys = {"signal", "max"};
constexpr std::array<std::string_view, 2> kAlgorithms = {"aimd", "gradient"};
constexpr std::array<std::string_view, 3> kOnUnknown = {"hold", "min", "pause"};
constexpr std::array<std::string_view, 5> kModes = {"fifo", "random", "passthrough", "reject",
                                                    "pause"};

// Which keys a signal of `kind` takes.
bool KeyFitsKind(std::string_view key, control::SignalKind kind) {
  static constexpr std::array<std::string_view, 5> kCommon = {"name", "kind", "interval", "timeout",
                                                              "stale_after"};
  if (std::find(kCommon.begin(), kCommon.end(), key) != kCommon.end()) return true;
  auto in = [&](std::initializer_list<std::string_view> keys) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  switch (kind) {
    case control::SignalKind::kHttp:
      return in({"url", "method", "measure", "json_pointer", "ok_status", "bearer", "headers",
                 "verify_tls"});
    case control::SignalKind::kPrometheus:
      return in({"url", "metric", "reading", "quantile", "query", "scale", "bearer", "verify_tls"});
    case control::SignalKind::kPostgres:
      return in({"conninfo", "password", "metric"});
    case control::SignalKind::kMysql:
      return in({"host", "port", "unix_socket", "user", "database", "password", "metric"});
    case control::SignalKind::kPush:
      return false;
  }
  return false;
}

// Text without control characters, at most kMaxTextBytes.
std::optional<std::string> ReadText(Reader& reader, const Field& field) {
  std::optional<std::string> value = reader.ReadString(field);
  if (!value) return std::nullopt;
  const bool clean = std::none_of(value->begin(), value->end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (value->size() > kMaxTextBytes || !clean) {
    reader.Error(field.mark, field.path,
                 "must be at most " + std::to_string(kMaxTextBytes) +
                     " characters without control characters");
    return std::nullopt;
  }
  return value;
}

std::optional<util::Duration> ReadSpan(Reader& reader, const Field& field) {
  if (std::optional<milliseconds> value = reader.ReadDuration(field)) return *value;
  return std::nullopt;
}

bool ReadBool(Reader& reader, const Field& field, bool& out) {
  if (std::optional<std::string> value = reader.ReadChoice(field, kBooleans)) {
    out = *value == "true";
    return true;
  }
  return false;
}

// { file: /path } or { env: NAME }: where a secret is, never the secret itself.
void ReadCredential(Reader& reader, const Field& field, control::Credential& out) {
  if (field.node.IsScalar()) {
    reader.Error(field.mark, field.path,
                 "secrets are never written in the file: give { file: /path } (readable by its "
                 "owner only) or { env: NAME }");
    return;
  }
  const std::optional<Fields> fields = reader.ReadMap(field, kCredentialKeys);
  if (!fields) return;
  const Field* file = fields->Find("file");
  const Field* env = fields->Find("env");
  if ((file == nullptr) == (env == nullptr)) {
    reader.Error(field.mark, field.path, "give exactly one of file and env");
    return;
  }
  if (file != nullptr) {
    if (auto value = ReadText(reader, *file); value && !value->empty()) out.file = *value;
  } else if (auto value = ReadText(reader, *env); value && !value->empty()) {
    out.env = *value;
  }
}

// A list under `field`, at most `max` items; calls read(item) for each.
template <typename Read>
void ReadList(Reader& reader, const Field& field, std::size_t max, const char* what, Read read) {
  if (field.node.IsNull()) return;
  if (!field.node.IsSequence()) {
    reader.Error(field.mark, field.path,
                 std::string("expected a list of ") + what + ", got " + Describe(field.node));
    return;
  }
  if (field.node.size() > max) {
    reader.Error(field.mark, field.path, "lists more than " + std::to_string(max) + " " + what);
    return;
  }
  for (std::size_t i = 0; i < field.node.size(); ++i) {
    read(Field{Item(field.path, i), field.node[i].Mark(), field.node[i]});
  }
}

void ReadSignal(Reader& reader, const Field& item, std::vector<control::SignalSpec>& out) {
  const std::optional<Fields> fields = reader.ReadMap(item, kSignalKeys);
  if (!fields) return;
  control::SignalSpec spec;
  if (const Field* name = fields->Find("name")) {
    if (auto value = ReadText(reader, *name)) spec.name = *value;
  } else {
    reader.Error(item.mark, Child(item.path, "name"), "missing: every signal needs a name");
  }
  const Field* kind = fields->Find("kind");
  if (kind == nullptr) {
    reader.Error(item.mark, Child(item.path, "kind"), "missing: one of " + JoinNames(kSignalKinds));
    return;
  }
  std::optional<std::string> kind_name = reader.ReadChoice(*kind, kSignalKinds);
  if (!kind_name) return;
  spec.kind = *control::ParseSignalKind(*kind_name);
  for (std::string_view key : kSignalKeys) {
    const Field* f = fields->Find(key);
    if (f != nullptr && !KeyFitsKind(key, spec.kind)) {
      reader.Error(f->mark, f->path, "does not apply to a signal of kind " + *kind_name);
    }
  }
  auto text = [&](std::string_view key, std::string& into) {
    if (const Field* f = fields->Find(key); f != nullptr && KeyFitsKind(key, spec.kind)) {
      if (auto value = ReadText(reader, *f)) into = *value;
    }
  };
  if (const Field* f = fields->Find("interval")) {
    if (auto v = ReadSpan(reader, *f)) spec.interval = *v;
  }
  if (const Field* f = fields->Find("timeout")) {
    if (auto v = ReadSpan(reader, *f)) spec.timeout = *v;
  }
  if (const Field* f = fields->Find("stale_after")) {
    if (auto v = ReadSpan(reader, *f)) spec.stale_after = *v;
  }
  auto credential = [&](std::string_view key, control::Credential& into) {
    if (const Field* f = fields->Find(key); f != nullptr && KeyFitsKind(key, spec.kind)) {
      ReadCredential(reader, *f, into);
    }
  };
  auto verify_tls = [&](bool& into) {
    if (const Field* f = fields->Find("verify_tls")) ReadBool(reader, *f, into);
  };
  const Field* metric = fields->Find("metric");
  switch (spec.kind) {
    case control::SignalKind::kHttp: {
      control::HttpSignalSpec& h = spec.http;
      text("url", h.url);
      text("method", h.method);
      text("json_pointer", h.json_pointer);
      credential("bearer", h.bearer);
      verify_tls(h.verify_tls);
      if (const Field* f = fields->Find("measure")) {
        if (auto v = reader.ReadChoice(*f, kHttpMeasures)) {
          using M = control::HttpSignalSpec::Measure;
          h.measure = *v == "latency_ms" ? M::kLatencyMs
                      : *v == "success"  ? M::kSuccess
                                         : M::kJsonPointer;
        }
      }
      if (const Field* f = fields->Find("ok_status")) {
        if (auto range = reader.ReadMap(*f, kStatusRangeKeys)) {
          if (const Field* min = range->Find("min")) {
            if (auto v = ReadIntInRange(reader, *min, 100, 599)) {
              h.ok_status_min = static_cast<unsigned>(*v);
            }
          }
          if (const Field* max = range->Find("max")) {
            if (auto v = ReadIntInRange(reader, *max, 100, 599)) {
              h.ok_status_max = static_cast<unsigned>(*v);
            }
          }
        }
      }
      if (const Field* f = fields->Find("headers")) {
        if (f->node.IsMap() && f->node.size() > kMaxHeaders) {
          reader.Error(f->mark, f->path, "more than " + std::to_string(kMaxHeaders) + " headers");
        } else if (f->node.IsMap()) {
          for (auto it = f->node.begin(); it != f->node.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            const Field header{Child(f->path, key.IsScalar() ? key.Scalar() : "?"), key.Mark(),
                               value};
            auto v = ReadText(reader, header);
            if (!key.IsScalar() || key.Scalar().empty() ||
                key.Scalar().find_first_of(" \t:\r\n") != std::string::npos) {
              reader.Error(key.Mark(), header.path, "a header name is one token");
            } else if (v) {
              h.headers.emplace_back(key.Scalar(), *v);
            }
          }
        } else {
          reader.Error(f->mark, f->path,
                       "expected a mapping of header names to values, got " + Describe(f->node));
        }
      }
      break;
    }
    case control::SignalKind::kPrometheus: {
      control::PrometheusSignalSpec& p = spec.prometheus;
      text("url", p.url);
      text("metric", p.metric);
      text("query", p.query);
      credential("bearer", p.bearer);
      verify_tls(p.verify_tls);
      if (const Field* f = fields->Find("reading")) {
        if (auto v = reader.ReadChoice(*f, kPromReadings)) {
          p.reading = *control::ParsePromReading(*v);
        }
      }
      if (const Field* f = fields->Find("quantile")) {
        if (auto v = reader.ReadNumber(*f)) p.quantile = *v;
      }
      if (const Field* f = fields->Find("scale")) {
        if (auto v = reader.ReadNumber(*f)) p.scale = *v;
      }
      break;
    }
    case control::SignalKind::kPostgres:
      text("conninfo", spec.postgres.conninfo);
      credential("password", spec.postgres.password);
      if (metric != nullptr) {
        if (auto v = reader.ReadChoice(*metric, kPostgresMetrics)) {
          spec.postgres.metric = *control::ParsePostgresMetric(*v);
        }
      }
      break;
    case control::SignalKind::kMysql: {
      control::MysqlSignalSpec& m = spec.mysql;
      text("host", m.host);
      text("unix_socket", m.unix_socket);
      text("user", m.user);
      text("database", m.database);
      credential("password", m.password);
      if (const Field* f = fields->Find("port")) {
        if (auto v = ReadIntInRange(reader, *f, 1, 65535)) m.port = static_cast<unsigned>(*v);
      }
      if (metric != nullptr) {
        if (auto v = reader.ReadChoice(*metric, kMysqlMetrics)) {
          m.metric = *control::ParseMysqlMetric(*v);
        }
      }
      break;
    }
    case control::SignalKind::kPush:
      break;
  }
  out.push_back(std::move(spec));
}

// A limit a rule or an opening sets: max_active N, or for a rule { scale: F }.
void ReadLimit(Reader& reader, const Field& field, bool whole, bool may_scale,
               std::optional<double>& set, std::optional<double>& scale) {
  if (may_scale && field.node.IsMap()) {
    if (auto m = reader.ReadMap(field, kScaleKeys)) {
      if (const Field* f = m->Find("scale")) {
        if (auto v = reader.ReadNumber(*f)) scale = *v;
      } else {
        reader.Error(field.mark, field.path, "expected a number or { scale: F }");
      }
    }
    return;
  }
  if (whole) {
    if (auto v = reader.ReadInt(field)) set = static_cast<double>(*v);
  } else if (auto v = reader.ReadNumber(field)) {
    set = *v;
  }
}

void ReadRule(Reader& reader, const Field& item, std::vector<control::RuleSpec>& out) {
  const std::optional<Fields> fields = reader.ReadMap(item, kRuleKeys);
  if (!fields) return;
  control::RuleSpec spec;
  for (std::string_view required : {"name", "room", "when", "then"}) {
    if (fields->Find(required) == nullptr) {
      reader.Error(item.mark, Child(item.path, required), "missing: every rule needs it");
    }
  }
  if (const Field* f = fields->Find("name")) {
    if (auto v = ReadText(reader, *f)) spec.name = *v;
  }
  if (const Field* f = fields->Find("room")) {
    if (auto v = ReadText(reader, *f)) spec.room = *v;
  }
  if (const Field* f = fields->Find("when")) {
    if (auto v = reader.ReadString(*f)) {
      spec.when = *v;
      // Where the condition's text starts, so that its errors point into the file. A literal
      // block (`when: |`) starts on the line after its indicator, at the block's indentation.
      const YAML::Mark mark = f->node.Mark();
      spec.when_line = std::max(1, LineOf(mark));
      spec.when_column = std::max(1, ColumnOf(mark));
      const std::string_view text = reader.source;
      const auto pos = static_cast<std::size_t>(std::max(0, mark.pos));
      if (pos < text.size() && (text[pos] == '|' || text[pos] == '>')) {
        const std::size_t line_end = text.find('\n', pos);
        if (line_end != std::string_view::npos) {
          std::size_t content = line_end + 1;
          while (content < text.size() && text[content] == ' ') ++content;
          spec.when_line += 1;
          spec.when_column = static_cast<int>(content - line_end);
        }
      }
    }
  }
  if (const Field* f = fields->Find("for")) {
    if (auto v = ReadSpan(reader, *f)) spec.hold_for = *v;
  }
  if (const Field* f = fields->Find("cooldown")) {
    if (auto v = ReadSpan(reader, *f)) spec.cooldown = *v;
  }
  if (const Field* f = fields->Find("priority")) {
    if (auto v = ReadIntInRange(reader, *f, -1000, 1000)) spec.priority = static_cast<int>(*v);
  }
  if (const Field* f = fields->Find("shadow")) ReadBool(reader, *f, spec.shadow);
  if (const Field* f = fields->Find("then")) {
    if (auto then = reader.ReadMap(*f, kThenKeys)) {
      control::RuleAction& a = spec.then;
      if (const Field* m = then->Find("max_active")) {
        std::optional<double> set;
        ReadLimit(reader, *m, true, true, set, a.scale_max_active);
        if (set) a.set_max_active = static_cast<std::int64_t>(*set);
      }
      if (const Field* r = then->Find("admit_rate")) {
        ReadLimit(reader, *r, false, true, a.set_admit_rate, a.scale_admit_rate);
      }
      if (const Field* m = then->Find("mode")) {
        if (auto v = reader.ReadChoice(*m, kModes)) a.set_mode = core::ParseMode(*v);
      }
    }
  }
  out.push_back(std::move(spec));
}

void ReadEvent(Reader& reader, const Field& item, std::vector<control::EventSpec>& out) {
  const std::optional<Fields> fields = reader.ReadMap(item, kScheduleKeys);
  if (!fields) return;
  control::EventSpec spec;
  for (std::string_view required : {"name", "room", "opens_at"}) {
    if (fields->Find(required) == nullptr) {
      reader.Error(item.mark, Child(item.path, required), "missing: every event needs it");
    }
  }
  if (const Field* f = fields->Find("name")) {
    if (auto v = ReadText(reader, *f)) spec.name = *v;
  }
  if (const Field* f = fields->Find("room")) {
    if (auto v = ReadText(reader, *f)) spec.room = *v;
  }
  if (const Field* f = fields->Find("opens_at")) {
    if (auto v = reader.ReadString(*f)) {
      if (auto at = control::ParseTimestamp(*v)) {
        spec.opens_at = *at;
      } else {
        reader.Error(f->mark, f->path,
                     "expected an RFC 3339 time with its offset, such as "
                     "2027-03-01T20:00:00+09:00; got " +
                         Quote(*v));
      }
    }
  }
  if (const Field* f = fields->Find("prequeue")) {
    if (auto v = ReadSpan(reader, *f)) spec.prequeue = *v;
  }
  if (const Field* f = fields->Find("shuffle")) ReadBool(reader, *f, spec.shuffle);
  if (const Field* f = fields->Find("open")) {
    if (auto open = reader.ReadMap(*f, kOpenKeys)) {
      if (const Field* m = open->Find("mode")) {
        if (auto v = reader.ReadChoice(*m, kModes)) spec.open_mode = *core::ParseMode(*v);
      }
      std::optional<double> unused;
      if (const Field* m = open->Find("max_active")) {
        std::optional<double> set;
        ReadLimit(reader, *m, true, false, set, unused);
        if (set) spec.open_max_active = static_cast<std::int64_t>(*set);
      }
      if (const Field* r = open->Find("admit_rate")) {
        ReadLimit(reader, *r, false, false, spec.open_admit_rate, unused);
      }
    }
  }
  out.push_back(std::move(spec));
}

std::optional<control::Bounds> ReadBounds(Reader& reader, const Field& field) {
  const std::optional<Fields> fields = reader.ReadMap(field, kBoundsKeys);
  if (!fields) return std::nullopt;
  const Field* min = fields->Find("min");
  const Field* max = fields->Find("max");
  if (min == nullptr || max == nullptr) {
    reader.Error(field.mark, field.path, "give both min and max, e.g. { min: 5, max: 1000 }");
    return std::nullopt;
  }
  auto lo = reader.ReadNumber(*min);
  auto hi = reader.ReadNumber(*max);
  if (!lo || !hi) return std::nullopt;
  return control::Bounds{*lo, *hi};
}

// "signals[3].timeout: message" as the library words it → the part after the signal's key.
std::string AfterKey(const std::string& problem, const std::string& key) {
  if (problem.rfind(key, 0) == 0) return problem.substr(key.size());
  return ": " + problem;
}

// The mark and path of list item `index` of top-level `section` (or of the section itself).
Field ItemOf(const Fields& sections, std::string_view section, std::size_t index) {
  const Field* f = sections.Find(section);
  if (f == nullptr) return Field{std::string(section), YAML::Mark::null_mark(), YAML::Node()};
  if (f->node.IsSequence() && index < f->node.size()) {
    return Field{Item(f->path, index), f->node[index].Mark(), f->node[index]};
  }
  return *f;
}

// Reports "key: message" from the library at `at`, the key made into the file's path.
void Report(Reader& reader, const Field& at, const std::string& library_key,
            const std::string& problem) {
  const std::string rest = AfterKey(problem, library_key);
  const std::size_t colon = rest.find(": ");
  if (colon == std::string::npos) {
    reader.Error(at.mark, at.path, rest);
    return;
  }
  std::string sub = rest.substr(0, colon);  // ".timeout", "" ...
  reader.Error(at.mark, at.path + sub, rest.substr(colon + 2));
}

}  // namespace

void ReadSignals(Reader& reader, const Field& field, std::vector<control::SignalSpec>& out) {
  ReadList(reader, field, kMaxSignals, "signals",
           [&](const Field& item) { ReadSignal(reader, item, out); });
}

void ReadRules(Reader& reader, const Field& field, std::vector<control::RuleSpec>& out) {
  ReadList(reader, field, kMaxRules, "rules",
           [&](const Field& item) { ReadRule(reader, item, out); });
}

void ReadSchedules(Reader& reader, const Field& field, std::vector<control::EventSpec>& out) {
  ReadList(reader, field, kMaxSchedules, "events",
           [&](const Field& item) { ReadEvent(reader, item, out); });
}

void ReadRoomControl(Reader& reader, const Field& field, std::optional<control::ControlSpec>& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kControlKeys);
  if (!fields) return;
  control::ControlSpec spec;
  if (const Field* f = fields->Find("algorithm")) {
    if (auto v = reader.ReadChoice(*f, kAlgorithms)) spec.algorithm = *control::ParseAlgorithm(*v);
  }
  if (const Field* f = fields->Find("interval")) {
    if (auto v = ReadSpan(reader, *f)) spec.interval = *v;
  }
  if (const Field* f = fields->Find("operator_hold")) {
    if (auto v = ReadSpan(reader, *f)) spec.operator_hold = *v;
  }
  if (const Field* f = fields->Find("on_unknown")) {
    if (auto v = reader.ReadChoice(*f, kOnUnknown)) spec.on_unknown = *control::ParseOnUnknown(*v);
  }
  if (const Field* f = fields->Find("max_active")) spec.max_active = ReadBounds(reader, *f);
  if (const Field* f = fields->Find("admit_rate")) spec.admit_rate = ReadBounds(reader, *f);
  if (const Field* f = fields->Find("targets")) {
    ReadList(reader, *f, kMaxTargets, "targets", [&](const Field& item) {
      const std::optional<Fields> target = reader.ReadMap(item, kTargetKeys);
      if (!target) return;
      const Field* signal = target->Find("signal");
      const Field* max = target->Find("max");
      if (signal == nullptr || max == nullptr) {
        reader.Error(item.mark, item.path, "a target is { signal: NAME, max: NUMBER }");
        return;
      }
      auto name = ReadText(reader, *signal);
      auto limit = reader.ReadNumber(*max);
      if (name && limit) spec.targets.push_back(control::Target{*name, *limit});
    });
  }
  out = std::move(spec);
}

void CheckControl(Reader& reader, const Fields& sections, const Config& config) {
  std::vector<std::string> signal_names;
  for (std::size_t i = 0; i < config.signals.size(); ++i) {
    const control::SignalSpec& spec = config.signals[i];
    const Field at = ItemOf(sections, "signals", i);
    for (const std::string& p : control::ValidateSignalSpec(spec)) {
      Report(reader, at, "signals." + spec.name, p);
    }
    if (std::find(signal_names.begin(), signal_names.end(), spec.name) != signal_names.end()) {
      reader.Error(at.mark, Child(at.path, "name"), "two signals are named " + Quote(spec.name));
    }
    signal_names.push_back(spec.name);
  }
  std::vector<std::string> rooms;
  for (const RoomConfig& room : config.rooms) rooms.push_back(room.id);

  // Rules, one at a time so that each problem points at its own rule.
  std::vector<std::string> rule_names;
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    const Field at = ItemOf(sections, "rules", i);
    std::vector<control::RuleProblem> problems;
    control::RuleSet::Build({config.rules[i]}, signal_names, rooms, problems);
    if (std::find(rule_names.begin(), rule_names.end(), config.rules[i].name) != rule_names.end()) {
      reader.Error(at.mark, Child(at.path, "name"),
                   "two rules are named " + Quote(config.rules[i].name));
    }
    rule_names.push_back(config.rules[i].name);
    for (const control::RuleProblem& p : problems) {
      if (p.where) {
        YAML::Mark mark;
        mark.line = p.where->line - 1;
        mark.column = p.where->column - 1;
        mark.pos = 0;
        reader.Error(mark, Child(at.path, p.key), p.message);
      } else {
        reader.Error(at.mark, Child(at.path, p.key), p.message);
      }
    }
  }
  // Schedules: the seed is made by the node; a stand-in lets the other checks run.
  for (std::size_t i = 0; i < config.schedules.size(); ++i) {
    const Field at = ItemOf(sections, "schedules", i);
    control::EventSpec event = config.schedules[i];
    event.seed.assign(32, 's');
    std::vector<std::string> problems;
    control::Schedule::Build({event}, rooms, problems);
    for (std::size_t j = 0; j < i; ++j) {
      if (config.schedules[j].name == event.name) {
        problems.push_back("schedules." + event.name + ": two events have this name");
      }
    }
    for (const std::string& p : problems) Report(reader, at, "schedules." + event.name, p);
  }
  // Each room's control section.
  const Field* rooms_field = sections.Find("rooms");
  for (std::size_t i = 0; i < config.rooms.size(); ++i) {
    if (!config.rooms[i].control) continue;
    Field at{Item("rooms", i) + ".control", YAML::Mark::null_mark(), YAML::Node()};
    if (rooms_field != nullptr && rooms_field->node.IsSequence() && i < rooms_field->node.size()) {
      const YAML::Node room = rooms_field->node[i];
      for (auto it = room.begin(); it != room.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == "control") at.mark = it->first.Mark();
      }
    }
    for (const std::string& p :
         control::ValidateControlSpec(*config.rooms[i].control, signal_names)) {
      Report(reader, Field{Item("rooms", i), at.mark, YAML::Node()}, "", "." + p);
    }
  }
}

}  // namespace vwr::config::detail
