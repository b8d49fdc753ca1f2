#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "control/controller.hpp"
#include "control/rule_set.hpp"

namespace vwr::control {

// A rule as JSON, with the fields and values of its YAML form (docs/control.md):
//
//   {"name": "db-saturated", "room": "shop", "when": "db_connections_used > 85%",
//    "for": "30s", "then": {"max_active": {"scale": 0.7}, "mode": "pause"},
//    "priority": 10, "cooldown": "2m", "shadow": false}
//
// name, room, when and then are required; the rest take the YAML defaults. This is what the
// admin API takes (POST/PUT /admin/api/v1/rules) and what the admin store keeps. Only the form
// is checked here; RuleSet::Put checks the meaning (the room, the condition, the values).
// A rule name: 1 to 64 of [A-Za-z0-9._-] (it is a path segment of the API and a log word).
bool IsRuleName(std::string_view name);
std::optional<RuleSpec> RuleFromJson(const boost::json::value& json, std::string* error);
std::optional<RuleSpec> RuleFromJsonText(std::string_view text, std::string* error);
boost::json::object RuleToJson(const RuleSpec& spec);

// What can be changed of a room's automatic control at run time, and is kept across restarts:
// whether it runs, and its bounds.
//
//   {"enabled": true, "max_active": {"min": 5, "max": 1000}, "admit_rate": {"min": 1, "max": 50}}
struct ControlSettings {
  bool enabled = true;
  std::optional<Bounds> max_active;
  std::optional<Bounds> admit_rate;

  bool operator==(const ControlSettings&) const = default;
};

// `current` with the fields `text` gives (each optional; "admit_rate": null stops steering
// the admission rate). Nullopt with `error` set when the body is not of that form; the bounds'
// values are checked by ValidateControlSpec.
std::optional<ControlSettings> ControlChangeFromJson(std::string_view text,
                                                     const ControlSettings& current,
                                                     std::string* error);
boost::json::object ControlSettingsToJson(const ControlSettings& settings);

}  // namespace vwr::control
