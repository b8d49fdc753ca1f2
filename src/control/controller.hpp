#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/decision.hpp"
#include "control/signal.hpp"
#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::control {

enum class Algorithm : std::uint8_t { kAimd, kGradient };
std::string_view AlgorithmName(Algorithm algorithm);
std::optional<Algorithm> ParseAlgorithm(std::string_view name);

// What the controller does while a target's signal is not known (stale, failed, never seen).
enum class OnUnknown : std::uint8_t {
  kHold,   // keep the limits as they are
  kMin,    // go to the lower bounds: no evidence, so assume the worst for the origin
  kPause,  // set the room's mode to pause until every target is known again
};
std::string_view OnUnknownName(OnUnknown on_unknown);
std::optional<OnUnknown> ParseOnUnknown(std::string_view name);

struct Bounds {
  double min = 0.0;
  double max = 0.0;

  bool operator==(const Bounds&) const = default;
};

// Keep `signal` at or below `max`.
struct Target {
  std::string signal;
  double max = 0.0;

  bool operator==(const Target&) const = default;
};

// A room's `control:` section:
//
//   control:
//     algorithm: aimd            # or gradient
//     interval: 1s
//     max_active: { min: 5, max: 1000 }
//     admit_rate: { min: 1, max: 200 }   # optional: also steer the admission rate
//     targets:
//       - { signal: origin_latency_ms, max: 200 }
//     on_unknown: hold           # hold | min | pause
//     operator_hold: 10m         # optional
//
// The tuning fields below have defaults proven on the simulated origin
// (tests/unit/control/controller_simulation_test.cpp); docs/control.md explains each.
struct ControlSpec {
  Algorithm algorithm = Algorithm::kAimd;
  util::Duration interval = std::chrono::seconds(1);
  std::optional<Bounds> max_active;
  std::optional<Bounds> admit_rate;
  std::vector<Target> targets;
  OnUnknown on_unknown = OnUnknown::kHold;
  // After an operator sets a limit by hand, the controller leaves the room alone this long.
  util::Duration operator_hold = std::chrono::minutes(10);

  // Raise a limit only when at least this share of it is in use.
  double used_fraction = 0.9;
  // aimd: a raise is limit × increase_gain × headroom (headroom = 1 − worst value/max), at
  // least 1 (max_active) or 0.1/s (admit_rate); a breach multiplies the in-use level by
  // max/value, kept within [backoff_min, backoff_max].
  double increase_gain = 0.2;
  double backoff_min = 0.5;
  double backoff_max = 0.95;
  // gradient: limit × gradient^smoothing, gradient = max/value within [0.1, 2].
  double smoothing = 0.25;
  // After a decrease, the next one waits until the decrease has taken effect (in use at or
  // below the new limit), or this many intervals at most.
  int settle_intervals = 30;

  bool operator==(const ControlSpec&) const = default;
};

// Problems with a spec, naming the key as written in YAML; empty when it can be used.
// `signals`: the configured signal names.
std::vector<std::string> ValidateControlSpec(const ControlSpec& spec,
                                             const std::vector<std::string>& signals);

// The automatic controller of one room: every `interval` it compares the targets' signals with
// their maxima and moves max_active (and admit_rate, when bounded) within the bounds.
//
//   worst = max over targets of value / max            (> 1: a breach)
//   breach, and the last decrease has taken effect    → lower, from min(limit, in use):
//       aimd:     × clamp(1 / worst, backoff_min, backoff_max)
//       gradient: × clamp(1 / worst, 0.1, 2) ^ smoothing
//   no breach, and in use ≥ used_fraction × limit      → raise:
//       aimd:     + max(1, limit × increase_gain × (1 − worst))
//       gradient: × clamp(1 / worst, 0.1, 2) ^ smoothing
//   otherwise                                          → hold (a limit nobody reaches proves
//                                                        nothing, so it is not raised)
//
// "Taken effect" matters because lowering max_active does not end anyone's session: until the
// sessions above the new limit have left, the origin's figures still show the old load, and
// lowering again would compound one overload into many decreases.
//
// An operator's change wins: OperatorSet holds the controller off for operator_hold, after which
// it starts again from the operator's values. Not thread-safe: the node's control loop owns it.
class Controller {
 public:
  // `target_signals`: the SignalTable index of each spec.targets[i].signal.
  Controller(std::string room, ControlSpec spec, std::vector<std::size_t> target_signals);

  // Called every control tick with the values at `now`; acts once per interval. A decision is
  // returned when the policy should change, and once when the controller starts holding for
  // unknown signals (a record without a change). The caller applies decision.change.
  std::optional<Decision> Tick(util::TimePoint now, util::WallTime wall,
                               const std::vector<SignalReading>& signals,
                               const RoomFigures& figures, const core::Policy& policy);

  // An operator set the policy by hand (`before` → `after`) at `now`. Returns the record for
  // the decision log, shown as the operator's.
  Decision OperatorSet(std::string who, util::TimePoint now, util::WallTime wall,
                       const core::Policy& before, const core::Policy& after);

  // What the admin API shows for the room.
  struct Status {
    std::string state;  // "tracking", "holding: operator", "holding: unknown signals", ...
    std::optional<util::TimePoint> operator_hold_until;
    std::string operator_name;
    double worst = 0.0;  // the last worst value/max ratio (0 before the first tick)
    std::optional<Decision> last_decision;
  };
  const Status& status() const { return status_; }
  const ControlSpec& spec() const { return spec_; }

  // Turns automatic control of the room on or off at run time (the admin API). Off, Tick
  // decides nothing and the limits stay where they are (a pause made for unknown signals
  // included); on again, it starts afresh from the limits in force.
  void SetEnabled(bool enabled);
  bool enabled() const { return enabled_; }
  // New bounds for the two limits (nullopt: that limit is not steered), already validated
  // (ValidateControlSpec). A limit outside its new bounds is brought within them at the next
  // interval.
  void SetBounds(std::optional<Bounds> max_active, std::optional<Bounds> admit_rate);
  const std::string& room() const { return room_; }

 private:
  struct Knob {
    const char* name;
    double estimate = 0.0;   // the controller's own, unrounded view of the limit
    double last_set = -1.0;  // the value it last wrote (rounded), to notice others' changes
    bool decrease_pending = false;
    int intervals_since_decrease = 0;
  };
  // One step of one knob; returns the new value, or nullopt to hold. `why` explains.
  std::optional<double> StepKnob(Knob& knob, double current, double in_use, const Bounds& bounds,
                                 double worst, double min_step, std::string& why);
  // A limit outside its bounds (they were changed at run time) brought within them.
  std::optional<double> IntoBounds(Knob& knob, double current, const Bounds& bounds,
                                   std::string& why);

  std::string room_;
  ControlSpec spec_;
  std::vector<std::size_t> target_signals_;
  bool enabled_ = true;
  std::optional<util::TimePoint> next_at_;
  std::optional<util::TimePoint> hold_until_;
  bool unknown_ = false;  // targets were not known at the last interval
  std::optional<core::Mode> mode_before_pause_;
  Knob max_active_{"max_active"};
  Knob admit_rate_{"admit_rate"};
  Status status_;
};

}  // namespace vwr::control
