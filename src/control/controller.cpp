#include "control/controller.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace vwr::control {

std::string_view AlgorithmName(Algorithm algorithm) {
  return algorithm == Algorithm::kGradient ? "gradient" : "aimd";
}

std::optional<Algorithm> ParseAlgorithm(std::string_view name) {
  if (name == "aimd") return Algorithm::kAimd;
  if (name == "gradient") return Algorithm::kGradient;
  return std::nullopt;
}

std::string_view OnUnknownName(OnUnknown on_unknown) {
  switch (on_unknown) {
    case OnUnknown::kHold:
      return "hold";
    case OnUnknown::kMin:
      return "min";
    case OnUnknown::kPause:
      return "pause";
  }
  return "hold";
}

std::optional<OnUnknown> ParseOnUnknown(std::string_view name) {
  if (name == "hold") return OnUnknown::kHold;
  if (name == "min") return OnUnknown::kMin;
  if (name == "pause") return OnUnknown::kPause;
  return std::nullopt;
}

std::vector<std::string> ValidateControlSpec(const ControlSpec& spec,
                                             const std::vector<std::string>& signals) {
  std::vector<std::string> out;
  if (spec.interval < std::chrono::milliseconds(100) || spec.interval > std::chrono::hours(1)) {
    out.push_back("control.interval: must be between 100ms and 1h");
  }
  if (!spec.max_active && !spec.admit_rate) {
    out.push_back("control: give max_active { min, max } or admit_rate { min, max } to steer");
  }
  if (spec.max_active) {
    const Bounds& b = *spec.max_active;
    if (!(b.min >= 1) || !(b.max >= b.min) || b.max > core::kMaxMaxActive ||
        b.min != std::floor(b.min) || b.max != std::floor(b.max)) {
      out.push_back("control.max_active: min and max must be whole numbers, 1 <= min <= max");
    }
  }
  if (spec.admit_rate) {
    const Bounds& b = *spec.admit_rate;
    if (!(b.min > 0) || !(b.max >= b.min) || b.max > core::kMaxAdmitRate) {
      out.push_back("control.admit_rate: must be 0 < min <= max <= 1000000");
    }
  }
  if (spec.targets.empty()) out.push_back("control.targets: at least one target is needed");
  for (std::size_t i = 0; i < spec.targets.size(); ++i) {
    const Target& t = spec.targets[i];
    const std::string key = "control.targets[" + std::to_string(i) + "]";
    if (std::find(signals.begin(), signals.end(), t.signal) == signals.end()) {
      out.push_back(key + ".signal: unknown signal '" + t.signal + "'");
    }
    if (!(t.max > 0) || !std::isfinite(t.max)) out.push_back(key + ".max: must be above 0");
  }
  if (!(spec.used_fraction > 0 && spec.used_fraction <= 1)) {
    out.push_back("control.used_fraction: must be in (0, 1]");
  }
  if (!(spec.increase_gain > 0 && spec.increase_gain <= 1)) {
    out.push_back("control.increase_gain: must be in (0, 1]");
  }
  if (!(spec.backoff_min > 0 && spec.backoff_min <= spec.backoff_max && spec.backoff_max < 1)) {
    out.push_back("control.backoff: must be 0 < backoff_min <= backoff_max < 1");
  }
  if (!(spec.smoothing > 0 && spec.smoothing <= 1)) {
    out.push_back("control.smoothing: must be in (0, 1]");
  }
  if (spec.settle_intervals < 1) out.push_back("control.settle_intervals: must be at least 1");
  if (spec.operator_hold < util::Duration::zero()) {
    out.push_back("control.operator_hold: must not be negative");
  }
  return out;
}

namespace {

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

Controller::Controller(std::string room, ControlSpec spec, std::vector<std::size_t> target_signals)
    : room_(std::move(room)), spec_(std::move(spec)), target_signals_(std::move(target_signals)) {
  status_.state = "starting";
}

std::optional<double> Controller::StepKnob(Knob& knob, double current, double in_use,
                                           const Bounds& bounds, double worst, double min_step,
                                           std::string& why) {
  // Someone else (a rule, an operator, a reload) moved the limit: start from theirs.
  if (knob.last_set < 0 || std::fabs(current - knob.last_set) > 1e-9) {
    knob.estimate = current;
    knob.decrease_pending = false;
  }
  const double limit = knob.estimate;
  const std::string name = knob.name;
  if (knob.decrease_pending) {
    ++knob.intervals_since_decrease;
    if (in_use <= limit * 1.02 || knob.intervals_since_decrease >= spec_.settle_intervals) {
      knob.decrease_pending = false;
    }
  }
  double next = limit;
  if (worst > 1.0) {
    if (knob.decrease_pending) {
      why += name + ": the last decrease has not taken effect yet (in use " + Fmt(in_use) +
             " > limit " + Fmt(limit) + "); ";
      return std::nullopt;
    }
    const double base = std::min(limit, in_use > 0 ? in_use : limit);
    double factor;
    if (spec_.algorithm == Algorithm::kAimd) {
      factor = std::clamp(1.0 / worst, spec_.backoff_min, spec_.backoff_max);
    } else {
      factor = std::pow(std::clamp(1.0 / worst, 0.1, 2.0), spec_.smoothing);
    }
    next = base * factor;
    why += name + ": breach (worst " + Fmt(worst) + "x its max), " + Fmt(base) + " x " +
           Fmt(factor) + "; ";
    knob.decrease_pending = true;
    knob.intervals_since_decrease = 0;
  } else {
    if (in_use < spec_.used_fraction * limit) {
      why += name + ": not raised, the limit is not in use (" + Fmt(in_use) + " of " + Fmt(limit) +
             "); ";
      return std::nullopt;
    }
    if (spec_.algorithm == Algorithm::kAimd) {
      const double step = std::max(min_step, limit * spec_.increase_gain * (1.0 - worst));
      next = limit + step;
      why += name + ": within targets (worst " + Fmt(worst) + "x), +" + Fmt(step) + "; ";
    } else {
      const double gradient = worst > 0 ? std::clamp(1.0 / worst, 0.1, 2.0) : 2.0;
      const double factor = std::pow(gradient, spec_.smoothing);
      next = limit * factor;
      why += name + ": within targets (gradient " + Fmt(gradient) + "), x " + Fmt(factor) + "; ";
    }
  }
  next = std::clamp(next, bounds.min, bounds.max);
  knob.estimate = next;
  return next;
}

std::optional<Decision> Controller::Tick(util::TimePoint now, util::WallTime wall,
                                         const std::vector<SignalReading>& signals,
                                         const RoomFigures& figures, const core::Policy& policy) {
  if (!enabled_) {
    status_.state = "off";
    return std::nullopt;
  }
  if (next_at_ && now < *next_at_) return std::nullopt;
  next_at_ = now + spec_.interval;
  if (hold_until_) {
    if (now < *hold_until_) {
      status_.state = "holding: operator " + status_.operator_name;
      return std::nullopt;
    }
    hold_until_.reset();
    status_.operator_hold_until.reset();
    max_active_.last_set = -1;  // adopt the operator's values
    admit_rate_.last_set = -1;
  }

  Decision d;
  d.at = wall;
  d.room = room_;
  d.source = DecisionSource::kController;
  d.source_name = std::string(AlgorithmName(spec_.algorithm));
  d.before = policy;

  double worst = 0.0;
  std::vector<std::string> unknown;
  for (std::size_t i = 0; i < spec_.targets.size(); ++i) {
    const Target& t = spec_.targets[i];
    const std::size_t index = target_signals_[i];
    SeenValue seen{t.signal, 0.0, SignalState::kUnknown};
    if (index < signals.size()) {
      seen.value = signals[index].value;
      seen.state = signals[index].state;
    }
    d.seen.push_back(seen);
    if (seen.state != SignalState::kOk) {
      unknown.push_back(t.signal);
      continue;
    }
    worst = std::max(worst, seen.value / t.max);
  }
  d.seen.push_back(SeenValue{"room.active", figures.active, SignalState::kOk});
  if (spec_.admit_rate) {
    d.seen.push_back(SeenValue{"room.admitted_rate", figures.admitted_rate, SignalState::kOk});
  }

  if (!unknown.empty()) {
    std::string names;
    for (const auto& n : unknown) names += (names.empty() ? "" : ", ") + n;
    const bool entering = !unknown_;
    unknown_ = true;
    status_.state = "holding: unknown signals (" + names + ")";
    d.reason =
        "not known: " + names + "; on_unknown " + std::string(OnUnknownName(spec_.on_unknown));
    switch (spec_.on_unknown) {
      case OnUnknown::kHold:
        break;
      case OnUnknown::kMin:
        if (spec_.max_active &&
            policy.max_active != static_cast<std::int64_t>(spec_.max_active->min)) {
          d.change.max_active = static_cast<std::int64_t>(spec_.max_active->min);
        }
        if (spec_.admit_rate && policy.admit_rate != spec_.admit_rate->min) {
          d.change.admit_rate = spec_.admit_rate->min;
        }
        break;
      case OnUnknown::kPause:
        if (policy.mode != core::Mode::kPause) {
          mode_before_pause_ = policy.mode;
          d.change.mode = core::Mode::kPause;
        }
        break;
    }
    if (d.change.empty() && !entering) return std::nullopt;
    d.after = d.change.AppliedTo(policy);
    if (d.change.max_active) max_active_.last_set = static_cast<double>(*d.change.max_active);
    if (d.change.admit_rate) admit_rate_.last_set = *d.change.admit_rate;
    status_.last_decision = d;
    return d;
  }

  std::string why;
  if (unknown_) {
    unknown_ = false;
    if (mode_before_pause_ && policy.mode == core::Mode::kPause) {
      d.change.mode = *mode_before_pause_;
      why += "every target known again: mode restored; ";
    }
    mode_before_pause_.reset();
  }
  status_.worst = worst;
  status_.state = "tracking";

  if (spec_.max_active) {
    const double current = static_cast<double>(policy.max_active);
    auto next = StepKnob(max_active_, current, figures.active, *spec_.max_active, worst, 1.0, why);
    if (!next) next = IntoBounds(max_active_, current, *spec_.max_active, why);
    if (next) {
      const auto rounded = static_cast<std::int64_t>(std::llround(*next));
      if (rounded != policy.max_active) d.change.max_active = rounded;
      max_active_.last_set = static_cast<double>(rounded);
    }
  }
  if (spec_.admit_rate) {
    // The admission rate is in use when admissions run at it and people are still waiting.
    const double in_use = figures.waiting > 0 ? figures.admitted_rate : 0.0;
    auto next =
        StepKnob(admit_rate_, policy.admit_rate, in_use, *spec_.admit_rate, worst, 0.1, why);
    if (!next) next = IntoBounds(admit_rate_, policy.admit_rate, *spec_.admit_rate, why);
    if (next) {
      const double rounded = std::round(*next * 100.0) / 100.0;
      if (std::fabs(rounded - policy.admit_rate) > 1e-9) d.change.admit_rate = rounded;
      admit_rate_.last_set = rounded;
    }
  }
  if (d.change.empty()) return std::nullopt;
  if (!why.empty()) why.resize(why.size() - 2);
  d.reason = why;
  d.after = d.change.AppliedTo(policy);
  status_.last_decision = d;
  return d;
}

std::optional<double> Controller::IntoBounds(Knob& knob, double current, const Bounds& bounds,
                                             std::string& why) {
  if (current >= bounds.min && current <= bounds.max) return std::nullopt;
  const double next = std::clamp(current, bounds.min, bounds.max);
  why += std::string(knob.name) + ": " + Fmt(current) + " is outside the bounds [" +
         Fmt(bounds.min) + ", " + Fmt(bounds.max) + "]; ";
  knob.estimate = next;
  return next;
}

void Controller::SetEnabled(bool enabled) {
  if (enabled == enabled_) return;
  enabled_ = enabled;
  status_.state = enabled ? "starting" : "off";
  // Whatever happened while off, the next interval starts from the limits then in force.
  next_at_.reset();
  unknown_ = false;
  mode_before_pause_.reset();
  max_active_ = Knob{"max_active"};
  admit_rate_ = Knob{"admit_rate"};
}

void Controller::SetBounds(std::optional<Bounds> max_active, std::optional<Bounds> admit_rate) {
  spec_.max_active = max_active;
  spec_.admit_rate = admit_rate;
}

Decision Controller::OperatorSet(std::string who, util::TimePoint now, util::WallTime wall,
                                 const core::Policy& before, const core::Policy& after) {
  hold_until_ = now + spec_.operator_hold;
  status_.operator_hold_until = hold_until_;
  status_.operator_name = who;
  status_.state = "holding: operator " + who;
  Decision d;
  d.at = wall;
  d.room = room_;
  d.source = DecisionSource::kOperator;
  d.source_name = std::move(who);
  d.before = before;
  d.after = after;
  if (after.max_active != before.max_active) d.change.max_active = after.max_active;
  if (after.admit_rate != before.admit_rate) d.change.admit_rate = after.admit_rate;
  if (after.mode != before.mode) d.change.mode = after.mode;
  d.reason = "set by hand; automatic control holds off for " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(spec_.operator_hold).count()) +
             "s";
  status_.last_decision = d;
  return d;
}

}  // namespace vwr::control
