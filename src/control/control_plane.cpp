#include "control/control_plane.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "util/log_escape.hpp"

namespace vwr::control {

std::unique_ptr<ControlPlane> ControlPlane::Build(ControlConfig config,
                                                  const std::vector<std::string>& rooms,
                                                  const util::Clock& clock,
                                                  std::vector<std::string>& problems) {
  const std::size_t before = problems.size();
  std::vector<std::string> names;
  std::vector<SignalTable::Entry> entries;
  for (const SignalSpec& spec : config.signals) {
    for (auto& p : ValidateSignalSpec(spec)) problems.push_back(std::move(p));
    if (std::find(names.begin(), names.end(), spec.name) != names.end()) {
      problems.push_back("signals." + spec.name + ": two signals have this name");
    }
    names.push_back(spec.name);
    entries.push_back({spec.name, spec.EffectiveStaleAfter()});
  }
  std::vector<RuleProblem> rule_problems;
  auto rules = RuleSet::Build(std::move(config.rules), names, rooms, rule_problems);
  for (const auto& p : rule_problems) {
    std::string where;
    if (p.where)
      where = " (line " + std::to_string(p.where->line) + ", column " +
              std::to_string(p.where->column) + ")";
    problems.push_back("rules." + p.rule + "." + p.key + where + ": " + p.message);
  }
  auto schedule = Schedule::Build(std::move(config.schedules), rooms, problems);
  for (const auto& [room, spec] : config.controls) {
    if (std::find(rooms.begin(), rooms.end(), room) == rooms.end()) {
      problems.push_back("rooms." + room + ".control: unknown room");
    }
    for (auto& p : ValidateControlSpec(spec, names)) {
      problems.push_back("rooms." + room + "." + p);
    }
  }
  if (problems.size() != before || !rules || !schedule) return nullptr;

  std::unique_ptr<ControlPlane> plane(
      new ControlPlane(clock, std::move(*rules), std::move(*schedule)));
  plane->table_ = std::make_unique<SignalTable>(std::move(entries));
  std::vector<ProbeRunner::Entry> probes;
  for (std::size_t i = 0; i < config.signals.size(); ++i) {
    const SignalSpec& spec = config.signals[i];
    if (spec.kind == SignalKind::kPush) continue;
    std::string error;
    auto probe = MakeProbe(spec, clock, &error);
    if (!probe) {
      problems.push_back("signals." + spec.name + ": " + error);
      continue;
    }
    probes.push_back({i, spec.name, std::move(probe), spec.interval});
  }
  if (problems.size() != before) return nullptr;
  plane->runner_ =
      std::make_unique<ProbeRunner>(*plane->table_, clock, std::move(probes), config.probe_threads);
  for (auto& [room, spec] : config.controls) {
    std::vector<std::size_t> targets;
    for (const Target& t : spec.targets) targets.push_back(*plane->table_->IndexOf(t.signal));
    plane->controllers_.emplace(room, Controller(room, spec, std::move(targets)));
  }
  plane->specs_ = std::move(config.signals);
  plane->room_names_ = rooms;
  plane->signal_names_ = std::move(names);
  // Listed from the start, before the first tick: the rules, and the schedules with their
  // commitments (published before the opening, whenever anyone looks).
  plane->PublishRuleStatus();
  {
    std::lock_guard lock(plane->status_mu_);
    plane->event_status_ = plane->schedule_.Status();
  }
  return plane;
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Start() { runner_->Start(); }
void ControlPlane::Stop() {
  if (runner_) runner_->Stop();
}

std::optional<Controller::Status> ControlPlane::ControllerStatus(const std::string& room) const {
  std::lock_guard lock(status_mu_);
  const auto it = controller_status_.find(room);
  if (it == controller_status_.end()) return std::nullopt;
  return it->second;
}

std::vector<RuleSet::RuleStatus> ControlPlane::RuleStatus() const {
  std::lock_guard lock(status_mu_);
  return rule_status_;
}

std::vector<Schedule::EventStatus> ControlPlane::EventStatus() const {
  std::lock_guard lock(status_mu_);
  return event_status_;
}

void ControlPlane::PublishStatus(const std::string& room) {
  {
    std::lock_guard controllers(controllers_mu_);
    if (auto it = controllers_.find(room); it != controllers_.end()) {
      std::lock_guard lock(status_mu_);
      controller_status_[room] = it->second.status();
    }
  }
  PublishRuleStatus();
  std::lock_guard lock(status_mu_);
  event_status_ = schedule_.Status();
}

void ControlPlane::PublishRuleStatus() {
  // Read and published under rules_mu_: two publishers at once (the tick, and a rule put from
  // the admin API) publish in the order they read, so an older reading never replaces a newer
  // one (a rule just put would be missing from the status its own answer reads).
  std::lock_guard rules(rules_mu_);
  std::vector<RuleSet::RuleStatus> status = rules_.Status();
  std::lock_guard lock(status_mu_);
  rule_status_ = std::move(status);
}

void ControlPlane::Record(const Decision& decision) {
  // The audit line of every automatic change (and of what a shadow rule would have done).
  spdlog::info("control: {}", util::LogEscaped(decision.Describe(), 1024));
  if (!decision.shadow && !decision.change.empty()) {
    {
      std::lock_guard lock(status_mu_);
      ++changes_[{decision.room, std::string(DecisionSourceName(decision.source))}];
    }
    if (decision_listener_ && decision.source != DecisionSource::kOperator) {
      decision_listener_(decision);
    }
  }
  log_.Add(decision);
}

std::vector<ControlPlane::ChangeCount> ControlPlane::ThresholdChanges() const {
  std::lock_guard lock(status_mu_);
  std::vector<ChangeCount> out;
  for (const auto& [key, count] : changes_) out.push_back({key.first, key.second, count});
  return out;
}

std::vector<std::string> ControlPlane::ControlledRooms() const {
  std::lock_guard lock(controllers_mu_);
  std::vector<std::string> out;
  for (const auto& [room, controller] : controllers_) out.push_back(room);
  return out;
}

ControlPlane::TickResult ControlPlane::Tick(const std::string& room, const RoomFigures& figures,
                                            const core::Policy& policy) {
  TakeOperatorChanges(room);
  TickResult result;
  const util::TimePoint now = clock_.Now();
  const util::WallTime wall = clock_.WallNow();
  core::Policy current = policy;
  auto take = [&](Decision d) {
    Record(d);
    if (!d.shadow) current = d.change.AppliedTo(current);
    result.decisions.push_back(std::move(d));
  };
  for (auto& step : schedule_.Evaluate(room, wall, current)) {
    if (step.draw) result.draws.push_back(step.event);
    take(std::move(step.decision));
  }
  const std::vector<SignalReading> readings = table_->ReadAll(now);
  RoomFigures seen = figures;
  seen.max_active = static_cast<double>(current.max_active);
  seen.admit_rate = current.admit_rate;
  std::vector<Decision> by_rules;
  {
    std::lock_guard lock(rules_mu_);
    by_rules = rules_.Evaluate(room, now, wall, readings, seen, current);
  }
  for (auto& d : by_rules) take(std::move(d));
  std::optional<Decision> by_controller;
  {
    std::lock_guard lock(controllers_mu_);
    if (auto it = controllers_.find(room); it != controllers_.end()) {
      by_controller = it->second.Tick(now, wall, readings, figures, current);
    }
  }
  if (by_controller) take(std::move(*by_controller));
  if (!(current == policy)) result.policy = current;
  PublishStatus(room);
  return result;
}

void ControlPlane::OperatorSet(const std::string& room, const std::string& who,
                               const core::Policy& before, const core::Policy& after) {
  std::lock_guard lock(operator_mu_);
  operator_changes_.push_back(
      OperatorChange{room, who, before, after, clock_.Now(), clock_.WallNow()});
}

void ControlPlane::TakeOperatorChanges(const std::string& room) {
  std::vector<OperatorChange> mine;
  {
    std::lock_guard lock(operator_mu_);
    auto is_mine = [&](const OperatorChange& c) { return c.room == room; };
    std::copy_if(operator_changes_.begin(), operator_changes_.end(), std::back_inserter(mine),
                 is_mine);
    std::erase_if(operator_changes_, is_mine);
  }
  for (const OperatorChange& c : mine) {
    std::optional<Decision> held;
    {
      std::lock_guard lock(controllers_mu_);
      if (auto it = controllers_.find(room); it != controllers_.end()) {
        held = it->second.OperatorSet(c.who, c.at, c.wall, c.before, c.after);
      }
    }
    if (held) {
      Record(*held);
      continue;
    }
    Decision d;
    d.at = c.wall;
    d.room = room;
    d.source = DecisionSource::kOperator;
    d.source_name = c.who;
    d.before = c.before;
    d.after = c.after;
    if (c.after.max_active != c.before.max_active) d.change.max_active = c.after.max_active;
    if (c.after.admit_rate != c.before.admit_rate) d.change.admit_rate = c.after.admit_rate;
    if (c.after.mode != c.before.mode) d.change.mode = c.after.mode;
    d.reason = "set by hand";
    Record(d);
  }
}

std::optional<RuleSpec> ControlPlane::FindRule(std::string_view name) const {
  std::lock_guard lock(rules_mu_);
  const RuleSpec* spec = rules_.Find(name);
  if (spec == nullptr) return std::nullopt;
  return *spec;
}

std::vector<RuleProblem> ControlPlane::CheckRule(const RuleSpec& spec) const {
  // A trial set of this rule alone: the same checks as Put, on nothing that is running.
  std::vector<RuleProblem> problems;
  RuleSet::Build({spec}, signal_names_, room_names_, problems);
  return problems;
}

bool ControlPlane::PutRule(const RuleSpec& spec, std::vector<RuleProblem>& problems) {
  {
    std::lock_guard lock(rules_mu_);
    if (!rules_.Put(spec, room_names_, problems)) return false;
  }
  spdlog::info("control: rule {} of room {} set: when {}", util::LogEscaped(spec.name),
               util::LogEscaped(spec.room), util::LogEscaped(spec.when, 512));
  PublishRuleStatus();
  return true;
}

bool ControlPlane::RemoveRule(std::string_view name) {
  {
    std::lock_guard lock(rules_mu_);
    if (!rules_.Remove(name)) return false;
  }
  spdlog::info("control: rule {} removed", util::LogEscaped(name));
  PublishRuleStatus();
  return true;
}

std::optional<ControlPlane::RoomControl> ControlPlane::RoomControlOf(
    const std::string& room) const {
  std::lock_guard lock(controllers_mu_);
  const auto it = controllers_.find(room);
  if (it == controllers_.end()) return std::nullopt;
  const Controller& c = it->second;
  return RoomControl{room, ControlSettings{c.enabled(), c.spec().max_active, c.spec().admit_rate},
                     c.spec(), c.status()};
}

bool ControlPlane::SetControlSettings(const std::string& room, const ControlSettings& settings,
                                      std::string* error) {
  std::lock_guard lock(controllers_mu_);
  const auto it = controllers_.find(room);
  if (it == controllers_.end()) {
    *error = "the room has no automatic control (no control: section in the configuration)";
    return false;
  }
  ControlSpec trial = it->second.spec();
  trial.max_active = settings.max_active;
  trial.admit_rate = settings.admit_rate;
  std::vector<std::string> problems = ValidateControlSpec(trial, signal_names_);
  if (!problems.empty()) {
    *error = problems.front();
    for (std::size_t i = 1; i < problems.size(); ++i) *error += "; " + problems[i];
    return false;
  }
  Controller& c = it->second;
  const bool changed = c.enabled() != settings.enabled ||
                       !(c.spec().max_active == settings.max_active) ||
                       !(c.spec().admit_rate == settings.admit_rate);
  c.SetBounds(settings.max_active, settings.admit_rate);
  c.SetEnabled(settings.enabled);
  if (changed) {
    spdlog::info("control: room {}: automatic control {}", util::LogEscaped(room),
                 settings.enabled ? "on" : "off");
  }
  std::lock_guard status(status_mu_);
  controller_status_[room] = c.status();
  return true;
}

void ControlPlane::AdoptKept(const std::vector<RuleSpec>& rules,
                             const std::map<std::string, ControlSettings>& rooms) {
  std::vector<std::string> kept;
  for (const RuleSpec& spec : rules) {
    const std::optional<RuleSpec> held = FindRule(spec.name);
    if (held && !held->from_api) {
      spdlog::warn(
          "control: the rule {} kept from the admin API is named like one of the "
          "configuration file's; the file's is in force",
          util::LogEscaped(spec.name));
      continue;
    }
    kept.push_back(spec.name);
    if (held && *held == spec) continue;
    std::vector<RuleProblem> problems;
    if (!PutRule(spec, problems)) {
      spdlog::warn("control: the kept rule {} is not valid any more and is not in force: {}",
                   util::LogEscaped(spec.name),
                   problems.empty() ? std::string() : util::LogEscaped(problems[0].message));
    }
  }
  std::vector<std::string> gone;
  {
    std::lock_guard lock(rules_mu_);
    for (const auto& status : rules_.Status()) {
      if (status.spec.from_api && std::find(kept.begin(), kept.end(), status.name) == kept.end()) {
        gone.push_back(status.name);
      }
    }
  }
  for (const std::string& name : gone) RemoveRule(name);
  for (const auto& [room, settings] : rooms) {
    const std::optional<RoomControl> now = RoomControlOf(room);
    if (!now || now->settings == settings) continue;
    std::string error;
    if (!SetControlSettings(room, settings, &error)) {
      spdlog::warn("control: room {}: the kept control settings are not in force: {}",
                   util::LogEscaped(room), util::LogEscaped(error));
    }
  }
}

bool ControlPlane::Push(const std::string& name, std::string_view body, std::string* error) {
  const auto index = table_->IndexOf(name);
  if (!index || specs_[*index].kind != SignalKind::kPush) {
    if (error != nullptr) *error = "no push signal of that name";
    return false;
  }
  auto pushed = ParsePushedValue(body, error);
  if (!pushed) return false;
  table_->Push(*index, pushed->value, pushed->ttl.value_or(specs_[*index].EffectiveStaleAfter()),
               clock_.Now());
  return true;
}

}  // namespace vwr::control
