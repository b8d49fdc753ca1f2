#include "control/rule_json.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>
#include <limits>

#include "util/duration.hpp"

namespace vwr::control {
namespace {

namespace json = boost::json;

// A rule is a few hundred bytes; a condition is at most 4096 characters.
constexpr std::size_t kMaxRuleBytes = 16 * 1024;
constexpr std::size_t kMaxWhenBytes = 4096;

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

std::optional<double> Number(const json::value& v) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.to_number<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// A limit of `then`: N, or {"scale": F}.
bool ReadLimit(const json::value& v, bool whole, std::optional<double>& set,
               std::optional<double>& scale, const char* key, std::string* error) {
  if (v.is_object()) {
    const json::object& o = v.as_object();
    const json::value* f = o.if_contains("scale");
    if (o.size() != 1 || f == nullptr || !Number(*f)) {
      *error = std::string("then.") + key + ": a number, or {\"scale\": <number>}";
      return false;
    }
    scale = Number(*f);
    return true;
  }
  const std::optional<double> n = Number(v);
  if (!n || (whole && *n != std::floor(*n))) {
    *error = std::string("then.") + key +
             (whole ? ": a whole number, or {\"scale\": <number>}"
                    : ": a number, or {\"scale\": "
                      "<number>}");
    return false;
  }
  set = *n;
  return true;
}

std::optional<util::Duration> Span(const json::value& v) {
  if (!v.is_string()) return std::nullopt;
  const auto d = util::ParseDuration(View(v.as_string()));
  if (!d || *d > std::chrono::hours(24 * 7)) return std::nullopt;
  return std::chrono::duration_cast<util::Duration>(*d);
}

std::string SpanText(util::Duration d) {
  return util::FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

json::value LimitJson(const std::optional<double>& set, const std::optional<double>& scale) {
  if (scale) return json::object{{"scale", *scale}};
  return json::value(*set);
}

std::optional<Bounds> ReadBounds(const json::value& v, const char* key, std::string* error) {
  const json::object* o = v.if_object();
  const json::value* min = o != nullptr ? o->if_contains("min") : nullptr;
  const json::value* max = o != nullptr ? o->if_contains("max") : nullptr;
  if (o == nullptr || o->size() != 2 || min == nullptr || max == nullptr || !Number(*min) ||
      !Number(*max)) {
    *error = std::string(key) + ": {\"min\": <number>, \"max\": <number>}";
    return std::nullopt;
  }
  return Bounds{*Number(*min), *Number(*max)};
}

}  // namespace

bool IsRuleName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::optional<RuleSpec> RuleFromJson(const json::value& doc, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<RuleSpec> {
    *error = std::move(message);
    return std::nullopt;
  };
  const json::object* o = doc.if_object();
  if (o == nullptr)
    return fail("a rule is a JSON object {\"name\", \"room\", \"when\", \"then\", ...}");
  for (const auto& field : *o) {
    static constexpr std::string_view kKeys[] = {"name", "room",     "when",     "for",
                                                 "then", "priority", "cooldown", "shadow"};
    if (std::find(std::begin(kKeys), std::end(kKeys), field.key()) == std::end(kKeys)) {
      return fail("unknown field '" + std::string(field.key().substr(0, 64)) +
                  "'; a rule has name, room, when, for, then, priority, cooldown, shadow");
    }
  }
  for (const char* required : {"name", "room", "when", "then"}) {
    if (!o->contains(required))
      return fail(std::string(required) + ": missing: every rule needs it");
  }
  RuleSpec spec;
  spec.from_api = true;
  const json::value& name = o->at("name");
  if (!name.is_string() || !IsRuleName(View(name.as_string()))) {
    return fail("name: 1 to 64 of the characters A-Z a-z 0-9 . _ -");
  }
  spec.name = std::string(View(name.as_string()));
  const json::value& room = o->at("room");
  if (!room.is_string() || room.as_string().empty() || room.as_string().size() > 64) {
    return fail("room: a room's id");
  }
  spec.room = std::string(View(room.as_string()));
  const json::value& when = o->at("when");
  if (!when.is_string() || when.as_string().empty() || when.as_string().size() > kMaxWhenBytes) {
    return fail("when: a condition, at most 4096 characters");
  }
  spec.when = std::string(View(when.as_string()));
  if (const json::value* f = o->if_contains("for")) {
    auto d = Span(*f);
    if (!d) return fail("for: a duration such as \"30s\", at most 7d");
    spec.hold_for = *d;
  }
  if (const json::value* f = o->if_contains("cooldown")) {
    auto d = Span(*f);
    if (!d) return fail("cooldown: a duration such as \"2m\", at most 7d");
    spec.cooldown = *d;
  }
  if (const json::value* f = o->if_contains("priority")) {
    const std::optional<double> p = Number(*f);
    if (!p || *p != std::floor(*p) || *p < -1000 || *p > 1000) {
      return fail("priority: a whole number from -1000 to 1000");
    }
    spec.priority = static_cast<int>(*p);
  }
  if (const json::value* f = o->if_contains("shadow")) {
    if (!f->is_bool()) return fail("shadow: true or false");
    spec.shadow = f->as_bool();
  }
  const json::object* then = o->at("then").if_object();
  if (then == nullptr)
    return fail("then: {\"max_active\": ..., \"admit_rate\": ..., \"mode\": ...}");
  RuleAction& a = spec.then;
  for (const auto& field : *then) {
    if (field.key() == "max_active") {
      std::optional<double> set;
      if (!ReadLimit(field.value(), true, set, a.scale_max_active, "max_active", error)) {
        return std::nullopt;
      }
      if (set) {
        if (*set < 1 || *set > static_cast<double>(core::kMaxMaxActive)) {
          return fail("then.max_active: must be between 1 and 1000000000");
        }
        a.set_max_active = static_cast<std::int64_t>(*set);
      }
    } else if (field.key() == "admit_rate") {
      if (!ReadLimit(field.value(), false, a.set_admit_rate, a.scale_admit_rate, "admit_rate",
                     error)) {
        return std::nullopt;
      }
    } else if (field.key() == "mode") {
      const std::optional<core::Mode> mode = field.value().is_string()
                                                 ? core::ParseMode(View(field.value().as_string()))
                                                 : std::nullopt;
      if (!mode) return fail("then.mode: fifo, passthrough, reject or pause");
      a.set_mode = *mode;
    } else {
      return fail("then: has max_active, admit_rate and mode only");
    }
  }
  return spec;
}

std::optional<RuleSpec> RuleFromJsonText(std::string_view text, std::string* error) {
  if (text.size() > kMaxRuleBytes) {
    *error = "a rule is at most 16 KiB of JSON";
    return std::nullopt;
  }
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) {
    *error = "the body is not JSON: " + ec.message();
    return std::nullopt;
  }
  return RuleFromJson(doc, error);
}

json::object RuleToJson(const RuleSpec& spec) {
  json::object then;
  const RuleAction& a = spec.then;
  if (a.set_max_active || a.scale_max_active) {
    then["max_active"] = a.scale_max_active
                             ? json::value(json::object{{"scale", *a.scale_max_active}})
                             : json::value(*a.set_max_active);
  }
  if (a.set_admit_rate || a.scale_admit_rate) {
    then["admit_rate"] = LimitJson(a.set_admit_rate, a.scale_admit_rate);
  }
  if (a.set_mode) then["mode"] = std::string(core::ModeName(*a.set_mode));
  return json::object{{"name", spec.name},
                      {"room", spec.room},
                      {"when", spec.when},
                      {"for", SpanText(spec.hold_for)},
                      {"then", std::move(then)},
                      {"priority", spec.priority},
                      {"cooldown", SpanText(spec.cooldown)},
                      {"shadow", spec.shadow}};
}

std::optional<ControlSettings> ControlChangeFromJson(std::string_view text,
                                                     const ControlSettings& current,
                                                     std::string* error) {
  auto fail = [&](std::string message) -> std::optional<ControlSettings> {
    *error = std::move(message);
    return std::nullopt;
  };
  if (text.size() > 4096) return fail("the body is at most 4 KiB");
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    return fail(
        "the body is a JSON object {\"enabled\": true, \"max_active\": {\"min\": 5, \"max\": "
        "1000}, \"admit_rate\": {\"min\": 1, \"max\": 50}}");
  }
  ControlSettings out = current;
  for (const auto& field : doc.as_object()) {
    if (field.key() == "enabled") {
      if (!field.value().is_bool()) return fail("enabled: true or false");
      out.enabled = field.value().as_bool();
    } else if (field.key() == "max_active") {
      auto b = ReadBounds(field.value(), "max_active", error);
      if (!b) return std::nullopt;
      out.max_active = b;
    } else if (field.key() == "admit_rate") {
      if (field.value().is_null()) {
        out.admit_rate.reset();
        continue;
      }
      auto b = ReadBounds(field.value(), "admit_rate", error);
      if (!b) return std::nullopt;
      out.admit_rate = b;
    } else {
      return fail("unknown field '" + std::string(field.key().substr(0, 64)) +
                  "'; give enabled, max_active or admit_rate");
    }
  }
  return out;
}

json::object ControlSettingsToJson(const ControlSettings& settings) {
  // max_active's bounds are whole numbers (checked), and shown as such.
  json::value max_active = nullptr;
  if (const auto& b = settings.max_active) {
    max_active = json::object{{"min", std::llround(b->min)}, {"max", std::llround(b->max)}};
  }
  json::value admit_rate = nullptr;
  if (const auto& b = settings.admit_rate)
    admit_rate = json::object{{"min", b->min}, {"max", b->max}};
  return json::object{{"enabled", settings.enabled},
                      {"max_active", std::move(max_active)},
                      {"admit_rate", std::move(admit_rate)}};
}

}  // namespace vwr::control
