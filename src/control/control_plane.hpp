#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/controller.hpp"
#include "control/decision.hpp"
#include "control/probe_runner.hpp"
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
// policy once. Not thread-safe except where noted: the control loop owns it.
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

  // An operator changed `room`'s policy by hand (admin API): the controller holds off.
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

  SignalTable& signals() { return *table_; }
  const std::vector<SignalSpec>& signal_specs() const { return specs_; }
  DecisionLog& decisions() { return log_; }
  const RuleSet& rules() const { return rules_; }
  const Schedule& schedule() const { return schedule_; }
  const Controller* controller(const std::string& room) const;
  std::vector<ProbeRunner::ProbeStatus> probe_status() const { return runner_->Status(); }

 private:
  ControlPlane(const util::Clock& clock, RuleSet rules, Schedule schedule)
      : clock_(clock), rules_(std::move(rules)), schedule_(std::move(schedule)) {}

  void Record(const Decision& decision);

  const util::Clock& clock_;
  std::vector<SignalSpec> specs_;
  std::unique_ptr<SignalTable> table_;
  std::unique_ptr<ProbeRunner> runner_;
  RuleSet rules_;
  Schedule schedule_;
  std::map<std::string, Controller> controllers_;
  DecisionLog log_;
};

}  // namespace vwr::control
