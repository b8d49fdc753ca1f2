#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "control/controller.hpp"
#include "control/decision.hpp"
#include "control/probe_runner.hpp"
#include "control/rule_json.hpp"
#include "control/rule_set.hpp"
#include "control/schedule.hpp"
#include "control/signal.hpp"
#include "control/signal_spec.hpp"
#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::control {

// Everything of the configuration file that traffic control reads: `signals:`, `rules:`,
// `schedules:` and each room's `control:`.
struct ControlConfig {
  std::vector<SignalSpec> signals;
  std::vector<RuleSpec> rules;
  std::vector<EventSpec> schedules;
  std::map<std::string, ControlSpec> controls;  // room -> its control: section
  int probe_threads = 2;
};

// The node's traffic control in one object: the signal table and its probes, the rules, the
// schedules, one controller per controlled room, and the decision log.
//
// The node's control loop calls Tick(room, ...) for each room on each tick (every 100 ms is
// fine: each part acts at its own pace). Within a room the parts act in a fixed order, each
// seeing what the one before decided:
//
//   schedule (an opening is an appointment)  →  rules (the operator's explicit wishes)
//   →  controller (fine-tuning within bounds; it adopts what the others set)
//
// Every decision is logged (spdlog, info) and kept in decisions(); the caller sets the final
// policy once.
//
// Rules and each room's control settings (on or off, bounds) can also be changed at run time
// (the admin API, or the copy every node reads from the shared store): the changes take effect
// at the next Tick.
//
// Threads: Build, Start, Stop and Tick belong to the control loop's thread. What the admin API
// calls from its workers is thread-safe: Push, OperatorSet (queued, taken up at the room's next
// Tick), the run-time changes (CheckRule, PutRule, RemoveRule, SetControlSettings, AdoptKept;
// each under the lock of the part it changes), decisions(), signals().Read*, and the status
// copies (ControllerStatus, RuleStatus, EventStatus, RoomControl, probe_status), refreshed at
// every Tick and at every change.
class ControlPlane {
 public:
  // Nullptr with `problems` filled when the configuration is wrong (every problem at once).
  static std::unique_ptr<ControlPlane> Build(ControlConfig config,
                                             const std::vector<std::string>& rooms,
                                             const util::Clock& clock,
                                             std::vector<std::string>& problems);
  ~ControlPlane();

  // Starts and stops the probe threads.
  void Start();
  void Stop();

  struct TickResult {
    std::vector<Decision> decisions;     // shadow ones included
    std::optional<core::Policy> policy;  // set this when present (RoomState::SetPolicy)
    std::vector<std::string> draws;      // events whose draw is due: call Drawn(...)
  };
  TickResult Tick(const std::string& room, const RoomFigures& figures, const core::Policy& policy);

  // An operator changed `room`'s policy by hand (admin API): the controller holds off from now.
  // Thread-safe; recorded at the room's next Tick.
  void OperatorSet(const std::string& room, const std::string& who, const core::Policy& before,
                   const core::Policy& after);

  // PUT /admin/api/v1/signals/{name}: false with `error` set when there is no such push
  // signal or the body is malformed. Thread-safe.
  bool Push(const std::string& name, std::string_view body, std::string* error);

  // The draw of `event` over the tickets issued before its opening (see Schedule::Drawn).
  std::vector<std::uint64_t> Drawn(const std::string& event, std::uint64_t first,
                                   std::uint64_t last) {
    return schedule_.Drawn(event, first, last);
  }

  // ---- changes at run time ----

  // The rule of that name as it stands, from the file or the API.
  std::optional<RuleSpec> FindRule(std::string_view name) const;
  // What is wrong with `spec` (its room, its condition against the signals, its values);
  // empty when PutRule would take it.
  std::vector<RuleProblem> CheckRule(const RuleSpec& spec) const;
  // Adds `spec`, or replaces the rule of its name (whose state starts afresh). False with
  // `problems` filled when it is wrong.
  bool PutRule(const RuleSpec& spec, std::vector<RuleProblem>& problems);
  // Removes a rule; false when there is none of that name.
  bool RemoveRule(std::string_view name);

  // A room's automatic control as it stands: what can be changed at run time, what cannot
  // (algorithm, targets), and the controller's state. Nullopt: the room has no control: section.
  struct RoomControl {
    std::string room;
    ControlSettings settings;
    ControlSpec spec;  // with the settings' bounds
    Controller::Status status;
  };
  std::optional<RoomControl> RoomControlOf(const std::string& room) const;
  // Turns a room's controller on or off and sets its bounds. False with `error` set when the
  // room has no controller or the bounds are impossible (nothing changes then).
  bool SetControlSettings(const std::string& room, const ControlSettings& settings,
                          std::string* error);
  // What the shared store keeps (read by every node, at start and then periodically): the
  // rules made through the API and the rooms' control settings. API rules not in `rules` are
  // removed; a kept rule named like one of the file's is left out (the file wins; logged).
  void AdoptKept(const std::vector<RuleSpec>& rules,
                 const std::map<std::string, ControlSettings>& rooms);

  // Called (on the control loop's thread, from Tick) with every decision that changes a
  // room's policy (shadow ones and operators' own left out): the audit log's entry of it.
  void SetDecisionListener(std::function<void(const Decision&)> listener) {
    decision_listener_ = std::move(listener);
  }

  SignalTable& signals() { return *table_; }
  const std::vector<SignalSpec>& signal_specs() const { return specs_; }
  DecisionLog& decisions() { return log_; }

  // Copies as of the last Tick; thread-safe.
  std::optional<Controller::Status> ControllerStatus(const std::string& room) const;
  std::vector<RuleSet::RuleStatus> RuleStatus() const;
  std::vector<Schedule::EventStatus> EventStatus() const;
  std::vector<ProbeRunner::ProbeStatus> probe_status() const { return runner_->Status(); }

  // Changes made to rooms' policies (shadow decisions and records without a change left out),
  // by room and by who made them (controller, rule, schedule, operator): the counts behind
  // vwr_threshold_changes_total{room,reason}. Thread-safe.
  struct ChangeCount {
    std::string room;
    std::string reason;
    std::uint64_t count = 0;
  };
  std::vector<ChangeCount> ThresholdChanges() const;
  // The rooms that have a controller (a control: section).
  std::vector<std::string> ControlledRooms() const;

 private:
  ControlPlane(const util::Clock& clock, RuleSet rules, Schedule schedule)
      : clock_(clock), rules_(std::move(rules)), schedule_(std::move(schedule)) {}

  void Record(const Decision& decision);
  void TakeOperatorChanges(const std::string& room);
  void PublishStatus(const std::string& room);
  void PublishRuleStatus();  // takes rules_mu_ and status_mu_

  struct OperatorChange {
    std::string room, who;
    core::Policy before, after;
    util::TimePoint at{};
    util::WallTime wall{};
  };

  const util::Clock& clock_;
  std::vector<SignalSpec> specs_;
  std::unique_ptr<SignalTable> table_;
  std::unique_ptr<ProbeRunner> runner_;
  std::vector<std::string> room_names_;
  std::vector<std::string> signal_names_;  // by SignalTable index
  mutable std::mutex rules_mu_;
  RuleSet rules_;  // guarded by rules_mu_
  Schedule schedule_;
  mutable std::mutex controllers_mu_;
  std::map<std::string, Controller> controllers_;  // guarded by controllers_mu_
  std::function<void(const Decision&)> decision_listener_;
  DecisionLog log_;
  std::mutex operator_mu_;
  std::vector<OperatorChange> operator_changes_;  // guarded by operator_mu_
  mutable std::mutex status_mu_;
  std::map<std::string, Controller::Status> controller_status_;           // guarded by status_mu_
  std::vector<RuleSet::RuleStatus> rule_status_;                          // guarded by status_mu_
  std::vector<Schedule::EventStatus> event_status_;                       // guarded by status_mu_
  std::map<std::pair<std::string, std::string>, std::uint64_t> changes_;  // guarded by status_mu_
};

}  // namespace vwr::control
