#include "control/rule_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace vwr::control {

namespace {

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string Seconds(util::Duration d) { return Fmt(util::ToSeconds(d)) + "s"; }

}  // namespace

std::optional<RuleSet::Rule> RuleSet::Make(RuleSpec spec, const std::vector<std::string>& rooms,
                                           std::vector<RuleProblem>& problems) const {
  const std::size_t before = problems.size();
  auto bad = [&](std::string key, std::string message) {
    problems.push_back(RuleProblem{spec.name, std::move(key), std::move(message), std::nullopt});
  };
  if (spec.name.empty()) bad("name", "every rule needs a name");
  if (std::find(rooms.begin(), rooms.end(), spec.room) == rooms.end()) {
    bad("room", "unknown room '" + spec.room + "'");
  }
  const RuleAction& a = spec.then;
  if (!a.set_max_active && !a.scale_max_active && !a.set_admit_rate && !a.scale_admit_rate &&
      !a.set_mode) {
    bad("then", "the rule does nothing: set max_active, admit_rate or mode");
  }
  if (a.set_max_active && a.scale_max_active) bad("then.max_active", "set or scale, not both");
  if (a.set_admit_rate && a.scale_admit_rate) bad("then.admit_rate", "set or scale, not both");
  if (a.set_max_active && (*a.set_max_active < 1 || *a.set_max_active > core::kMaxMaxActive)) {
    bad("then.max_active", "must be between 1 and 1000000000");
  }
  if (a.set_admit_rate && !(*a.set_admit_rate > 0 && *a.set_admit_rate <= core::kMaxAdmitRate)) {
    bad("then.admit_rate", "must be greater than 0 and at most 1000000");
  }
  for (const auto* scale : {&a.scale_max_active, &a.scale_admit_rate}) {
    if (*scale && !(**scale > 0 && **scale <= 100)) bad("then", "a scale must be in (0, 100]");
  }
  if (spec.hold_for < util::Duration::zero()) bad("for", "must not be negative");
  if (spec.cooldown < util::Duration::zero()) bad("cooldown", "must not be negative");
  SourceError error;
  auto when = Expression::Parse(spec.when, signal_names_, &error);
  if (!when) {
    // Into file coordinates: a first-line error is offset by the column `when` starts at.
    SourceError in_file = error;
    in_file.line = spec.when_line + error.line - 1;
    if (error.line == 1) in_file.column = spec.when_column + error.column - 1;
    problems.push_back(RuleProblem{spec.name, "when", error.message, in_file});
    return std::nullopt;
  }
  if (problems.size() != before) return std::nullopt;
  return Rule{std::move(spec), std::move(*when), Truth::kUnknown, {}, {}};
}

std::optional<RuleSet> RuleSet::Build(std::vector<RuleSpec> specs,
                                      const std::vector<std::string>& signals,
                                      const std::vector<std::string>& rooms,
                                      std::vector<RuleProblem>& problems) {
  RuleSet set;
  set.signal_names_ = signals;
  const std::size_t before = problems.size();
  std::vector<std::string> names;
  for (auto& spec : specs) {
    if (std::find(names.begin(), names.end(), spec.name) != names.end()) {
      problems.push_back(
          RuleProblem{spec.name, "name", "two rules are named '" + spec.name + "'", std::nullopt});
    }
    names.push_back(spec.name);
    if (auto rule = set.Make(std::move(spec), rooms, problems)) {
      set.rules_.push_back(std::move(*rule));
    }
  }
  if (problems.size() != before) return std::nullopt;
  return set;
}

bool RuleSet::Put(RuleSpec spec, const std::vector<std::string>& rooms,
                  std::vector<RuleProblem>& problems) {
  std::optional<Rule> rule = Make(std::move(spec), rooms, problems);
  if (!rule) return false;
  for (Rule& held : rules_) {
    if (held.spec.name == rule->spec.name) {
      held = std::move(*rule);
      return true;
    }
  }
  rules_.push_back(std::move(*rule));
  return true;
}

bool RuleSet::Remove(std::string_view name) {
  return std::erase_if(rules_, [&](const Rule& r) { return r.spec.name == name; }) > 0;
}

const RuleSpec* RuleSet::Find(std::string_view name) const {
  for (const Rule& rule : rules_) {
    if (rule.spec.name == name) return &rule.spec;
  }
  return nullptr;
}

std::vector<Decision> RuleSet::Evaluate(const std::string& room, util::TimePoint now,
                                        util::WallTime wall,
                                        const std::vector<SignalReading>& signals,
                                        const RoomFigures& figures, const core::Policy& policy) {
  const EvalInput input{&signals, &figures, wall};
  last_now_ = now;
  std::vector<Rule*> due;
  for (Rule& rule : rules_) {
    if (rule.spec.room != room) continue;
    rule.last = rule.when.Evaluate(input);
    if (rule.last != Truth::kTrue) {
      rule.holding_since.reset();
      continue;
    }
    if (!rule.holding_since) rule.holding_since = now;
    if (now - *rule.holding_since < rule.spec.hold_for) continue;
    if (rule.last_fired && now - *rule.last_fired < rule.spec.cooldown) continue;
    due.push_back(&rule);
  }
  // Highest priority first; stable, so that the first written wins a tie.
  std::stable_sort(due.begin(), due.end(), [](const Rule* a, const Rule* b) {
    return a->spec.priority > b->spec.priority;
  });

  std::vector<Decision> out;
  core::Policy current = policy;
  bool taken_max_active = false, taken_admit_rate = false, taken_mode = false;
  for (Rule* rule : due) {
    const RuleAction& a = rule->spec.then;
    const bool shadow = rule->spec.shadow;
    Decision d;
    d.at = wall;
    d.room = room;
    d.source = DecisionSource::kRule;
    d.source_name = rule->spec.name;
    d.shadow = shadow;
    d.before = shadow ? policy : current;
    std::vector<std::string> skipped;
    if (a.set_max_active || a.scale_max_active) {
      if (!shadow && taken_max_active) {
        skipped.push_back("max_active");
      } else {
        const double next = a.set_max_active
                                ? static_cast<double>(*a.set_max_active)
                                : static_cast<double>(d.before.max_active) * *a.scale_max_active;
        const auto value = std::clamp<std::int64_t>(std::llround(next), 1, core::kMaxMaxActive);
        if (value != d.before.max_active) d.change.max_active = value;
      }
    }
    if (a.set_admit_rate || a.scale_admit_rate) {
      if (!shadow && taken_admit_rate) {
        skipped.push_back("admit_rate");
      } else {
        double next =
            a.set_admit_rate ? *a.set_admit_rate : d.before.admit_rate * *a.scale_admit_rate;
        next = std::clamp(std::round(next * 100.0) / 100.0, 0.01, core::kMaxAdmitRate);
        if (std::fabs(next - d.before.admit_rate) > 1e-9) d.change.admit_rate = next;
      }
    }
    if (a.set_mode) {
      if (!shadow && taken_mode) {
        skipped.push_back("mode");
      } else if (*a.set_mode != d.before.mode) {
        d.change.mode = *a.set_mode;
      }
    }
    if (d.change.empty()) continue;  // nothing to do: no record, no cooldown
    rule->last_fired = now;
    if (!shadow) {
      taken_max_active = taken_max_active || d.change.max_active.has_value();
      taken_admit_rate = taken_admit_rate || d.change.admit_rate.has_value();
      taken_mode = taken_mode || d.change.mode.has_value();
    }
    d.after = d.change.AppliedTo(d.before);
    if (!shadow) current = d.after;
    for (std::size_t index : rule->when.signals_read()) {
      SeenValue seen{signal_names_[index], 0.0, SignalState::kUnknown};
      if (index < signals.size()) {
        seen.value = signals[index].value;
        seen.state = signals[index].state;
      }
      d.seen.push_back(std::move(seen));
    }
    for (RoomFigureField field : rule->when.figures_read()) {
      const double value = FigureValue(figures, field);
      d.seen.push_back(
          SeenValue{"room." + std::string(RoomFigureFieldName(field)), value, SignalState::kOk});
    }
    d.reason = "when (" + rule->when.text() + ") held for " + Seconds(now - *rule->holding_since);
    if (rule->spec.priority != 0) d.reason += ", priority " + std::to_string(rule->spec.priority);
    if (!skipped.empty()) {
      d.reason += "; left to a higher-priority rule:";
      for (const auto& s : skipped) d.reason += " " + s;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<RuleSet::RuleStatus> RuleSet::Status() const {
  std::vector<RuleStatus> out;
  for (const Rule& rule : rules_) {
    std::string state = "idle";
    if (rule.spec.shadow) {
      state = "shadow";
    } else if (rule.holding_since) {
      state = last_now_ - *rule.holding_since >= rule.spec.hold_for ? "firing" : "pending";
    }
    out.push_back(RuleStatus{rule.spec.name, rule.spec.room, rule.last, rule.holding_since,
                             rule.last_fired, rule.spec.shadow, std::move(state), rule.spec});
  }
  return out;
}

}  // namespace vwr::control
