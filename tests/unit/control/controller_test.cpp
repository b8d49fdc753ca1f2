#include "control/controller.hpp"

#include <gtest/gtest.h>

namespace vwr::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct Fixture {
  explicit Fixture(ControlSpec s = {})
      : spec(Defaults(std::move(s))), controller("shop", spec, {0}) {
    policy.max_active = 100;
    policy.admit_rate = 10;
    signals[0] = SignalReading{100, SignalState::kOk, seconds(0), {}};
  }
  static ControlSpec Defaults(ControlSpec s) {
    if (!s.max_active) s.max_active = Bounds{5, 1000};
    if (s.targets.empty()) s.targets = {{"origin_latency_ms", 200}};
    return s;
  }
  // One interval later, with `latency` and `active`; applies what the controller decides.
  std::optional<Decision> Step(double latency, double active, double waiting = 1000) {
    clock.Advance(spec.interval);
    signals[0].value = latency;
    RoomFigures figures;
    figures.active = active;
    figures.waiting = waiting;
    figures.admitted_rate = admitted_rate;
    auto d = controller.Tick(clock.Now(), clock.WallNow(), signals, figures, policy);
    if (d && !d->shadow) policy = d->change.AppliedTo(policy);
    return d;
  }
  ControlSpec spec;
  Controller controller;
  util::FakeClock clock;
  core::Policy policy;
  std::vector<SignalReading> signals{1};
  double admitted_rate = 0;
};

TEST(Controller, RaisesOnlyALimitThatIsInUse) {
  Fixture f;
  EXPECT_FALSE(f.Step(50, 40).has_value()) << "40 of 100 in use proves nothing about 101";
  EXPECT_EQ(f.policy.max_active, 100);
  EXPECT_EQ(f.controller.status().state, "tracking");
  auto d = f.Step(50, 95);
  ASSERT_TRUE(d.has_value());
  // aimd: + limit × 0.2 × (1 − 50/200) = +15
  EXPECT_EQ(f.policy.max_active, 115);
  EXPECT_EQ(d->before.max_active, 100);
  EXPECT_EQ(d->after.max_active, 115);
  EXPECT_EQ(d->source, DecisionSource::kController);
  EXPECT_EQ(d->source_name, "aimd");
  ASSERT_EQ(d->seen.size(), 2u);
  EXPECT_EQ(d->seen[0].name, "origin_latency_ms");
  EXPECT_EQ(d->seen[0].value, 50);
  EXPECT_EQ(d->seen[1].name, "room.active");
  EXPECT_NE(d->reason.find("within targets"), std::string::npos) << d->reason;
  EXPECT_NE(d->Describe().find("max_active 100->115"), std::string::npos) << d->Describe();
}

TEST(Controller, LowersFromWhatIsInUseOnceUntilItTakesEffect) {
  Fixture f;
  // 400 ms against 200: × max(0.5, 200/400) = 0.5 of what is in use (100).
  auto d = f.Step(400, 100);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(f.policy.max_active, 50);
  EXPECT_NE(d->reason.find("breach"), std::string::npos);
  // Still 100 people inside: lowering again would not make anyone leave.
  EXPECT_FALSE(f.Step(900, 100).has_value());
  EXPECT_FALSE(f.Step(900, 70).has_value());
  // Down to the new limit and still too slow: lower again.
  ASSERT_TRUE(f.Step(220, 50).has_value());
  EXPECT_EQ(f.policy.max_active, 45);  // × 200/220 = 0.909
  // A small breach never takes more than backoff_max... and never below the bound.
  ControlSpec narrow;
  narrow.max_active = Bounds{40, 1000};
  Fixture g(narrow);
  g.policy.max_active = 42;
  ASSERT_TRUE(g.Step(10'000, 42).has_value());
  EXPECT_EQ(g.policy.max_active, 40);
}

TEST(Controller, DecreasePendingExpiresAfterSettleIntervals) {
  ControlSpec spec;
  spec.settle_intervals = 3;
  Fixture f(spec);
  ASSERT_TRUE(f.Step(400, 100).has_value());
  EXPECT_EQ(f.policy.max_active, 50);
  // Sessions that do not leave (entry passes, allow-listed callers): after 3 intervals the
  // controller stops waiting for them.
  EXPECT_FALSE(f.Step(400, 100).has_value());
  EXPECT_FALSE(f.Step(400, 100).has_value());
  ASSERT_TRUE(f.Step(400, 100).has_value());
  EXPECT_EQ(f.policy.max_active, 25);
}

TEST(Controller, GradientMovesByTheRatioToTheTarget) {
  ControlSpec spec;
  spec.algorithm = Algorithm::kGradient;
  Fixture f(spec);
  ASSERT_TRUE(f.Step(100, 100).has_value());
  EXPECT_EQ(f.policy.max_active, 119);  // 100 × 2^0.25
  ASSERT_TRUE(f.Step(400, 119).has_value());
  EXPECT_EQ(f.policy.max_active, 100);  // 119 × 0.5^0.25
  EXPECT_EQ(f.controller.status().last_decision->source_name, "gradient");
}

TEST(Controller, ActsOncePerInterval) {
  ControlSpec spec;
  spec.interval = seconds(5);
  Fixture f(spec);
  ASSERT_TRUE(f.Step(50, 100).has_value());
  f.clock.Advance(seconds(1));
  RoomFigures figures;
  figures.active = 200;
  EXPECT_FALSE(f.controller.Tick(f.clock.Now(), f.clock.WallNow(), f.signals, figures, f.policy)
                   .has_value());
}

TEST(Controller, OperatorWinsAndIsShownAsSuch) {
  Fixture f;
  const core::Policy before = f.policy;
  f.policy.max_active = 300;
  const Decision d =
      f.controller.OperatorSet("kim", f.clock.Now(), f.clock.WallNow(), before, f.policy);
  EXPECT_EQ(d.source, DecisionSource::kOperator);
  EXPECT_EQ(d.source_name, "kim");
  EXPECT_EQ(*d.change.max_active, 300);
  EXPECT_NE(d.reason.find("holds off for 600s"), std::string::npos);
  // A breach within the hold changes nothing: the operator's word stands.
  EXPECT_FALSE(f.Step(1000, 300).has_value());
  EXPECT_EQ(f.controller.status().state, "holding: operator kim");
  ASSERT_TRUE(f.controller.status().operator_hold_until.has_value());
  f.clock.Advance(minutes(10));
  auto after = f.Step(1000, 300);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(f.policy.max_active, 150) << "starts again from the operator's 300";
}

TEST(Controller, AdoptsALimitSomeoneElseSet) {
  Fixture f;
  ASSERT_TRUE(f.Step(50, 100).has_value());
  EXPECT_EQ(f.policy.max_active, 115);
  f.policy.max_active = 20;  // a rule fired
  ASSERT_TRUE(f.Step(50, 20).has_value());
  EXPECT_EQ(f.policy.max_active, 23);
}

TEST(Controller, OnUnknownHoldRecordsOnceAndChangesNothing) {
  Fixture f;
  f.signals[0].state = SignalState::kUnknown;
  auto d = f.Step(0, 100);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->change.empty());
  EXPECT_NE(d->reason.find("not known: origin_latency_ms; on_unknown hold"), std::string::npos);
  EXPECT_FALSE(f.Step(0, 100).has_value()) << "recorded once, not every interval";
  EXPECT_EQ(f.policy.max_active, 100);
  EXPECT_NE(f.controller.status().state.find("unknown signals"), std::string::npos);
}

TEST(Controller, OnUnknownMinGoesToTheLowerBound) {
  ControlSpec spec;
  spec.on_unknown = OnUnknown::kMin;
  Fixture f(spec);
  f.signals[0].state = SignalState::kError;
  ASSERT_TRUE(f.Step(0, 100).has_value());
  EXPECT_EQ(f.policy.max_active, 5);
}

TEST(Controller, OnUnknownPausesAndRestoresTheMode) {
  ControlSpec spec;
  spec.on_unknown = OnUnknown::kPause;
  Fixture f(spec);
  f.signals[0].state = SignalState::kUnknown;
  ASSERT_TRUE(f.Step(0, 100).has_value());
  EXPECT_EQ(f.policy.mode, core::Mode::kPause);
  f.signals[0].state = SignalState::kOk;
  auto d = f.Step(150, 10);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(f.policy.mode, core::Mode::kFifo);
  EXPECT_NE(d->reason.find("mode restored"), std::string::npos);
}

TEST(Controller, SteersTheAdmissionRateWhenBounded) {
  ControlSpec spec;
  spec.admit_rate = Bounds{1, 50};
  Fixture f(spec);
  f.admitted_rate = 3;
  auto d = f.Step(50, 10);
  EXPECT_FALSE(d.has_value()) << "neither limit is in use";
  f.admitted_rate = 10;
  d = f.Step(50, 10);
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->change.max_active.has_value());
  EXPECT_DOUBLE_EQ(f.policy.admit_rate, 11.5);
  // Nobody waiting: the rate is not what holds people back, so it is not raised.
  f.admitted_rate = 11.5;
  EXPECT_FALSE(f.Step(50, 10, 0).has_value());
  d = f.Step(400, 10);
  ASSERT_TRUE(d.has_value());
  EXPECT_DOUBLE_EQ(f.policy.admit_rate, 5.75);
}

TEST(Controller, ValidateNamesTheKeys) {
  ControlSpec spec;
  spec.max_active = Bounds{0, 10};
  spec.targets = {{"nope", 0}};
  const auto problems = ValidateControlSpec(spec, {"origin_latency_ms"});
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "control.max_active: min and max must be whole numbers, 1 <= min <= max");
  EXPECT_EQ(problems[1], "control.targets[0].signal: unknown signal 'nope'");
  EXPECT_EQ(problems[2], "control.targets[0].max: must be above 0");
  EXPECT_EQ(ParseAlgorithm("gradient"), Algorithm::kGradient);
  EXPECT_EQ(ParseOnUnknown("pause"), OnUnknown::kPause);
  EXPECT_FALSE(ParseOnUnknown("panic").has_value());
}

TEST(DecisionLog, KeepsTheNewestWithinItsCapacity) {
  DecisionLog log(3);
  for (int i = 0; i < 5; ++i) {
    Decision d;
    d.room = i % 2 ? "a" : "b";
    d.reason = std::to_string(i);
    log.Add(d);
  }
  EXPECT_EQ(log.total(), 5u);
  auto all = log.Recent(10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].reason, "4");
  EXPECT_EQ(all[2].reason, "2");
  auto a = log.Recent(10, "a");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].reason, "3");
}

TEST(Controller, TurnedOffItDecidesNothingAndOnAgainStartsFromTheLimitsInForce) {
  Fixture f;
  f.controller.SetEnabled(false);
  EXPECT_FALSE(f.controller.enabled());
  EXPECT_FALSE(f.Step(900, 100).has_value()) << "a breach changes nothing while off";
  EXPECT_FALSE(f.Step(900, 100).has_value());
  EXPECT_EQ(f.policy.max_active, 100);
  EXPECT_EQ(f.controller.status().state, "off");
  f.policy.max_active = 80;  // someone else moved it meanwhile
  f.controller.SetEnabled(true);
  auto d = f.Step(400, 80);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->before.max_active, 80);
  EXPECT_EQ(f.policy.max_active, 40) << "halved from the limit in force when turned on";
  EXPECT_EQ(f.controller.status().state, "tracking");
}

TEST(Controller, NewBoundsBringTheLimitWithinThemAtTheNextInterval) {
  Fixture f;
  f.controller.SetBounds(Bounds{5, 60}, std::nullopt);
  // Healthy and not in use: nothing to raise, but 100 is above the new maximum.
  auto d = f.Step(50, 10);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(f.policy.max_active, 60);
  EXPECT_NE(d->reason.find("outside the bounds [5, 60]"), std::string::npos) << d->reason;
  f.controller.SetBounds(Bounds{70, 200}, Bounds{1, 5});
  f.Step(50, 10);
  EXPECT_EQ(f.policy.max_active, 70);
  EXPECT_EQ(f.policy.admit_rate, 5) << "admit_rate is steered from now on, within 1..5";
  EXPECT_EQ(f.controller.spec().admit_rate, (Bounds{1, 5}));
}

}  // namespace
}  // namespace vwr::control
