#include "control/rule_set.hpp"

#include <gtest/gtest.h>

namespace vwr::control {
namespace {

using std::chrono::seconds;

const std::vector<std::string> kSignals = {"db_connections_used", "origin_latency_ms"};
const std::vector<std::string> kRooms = {"shop", "tickets"};

RuleSpec Rule(std::string name, std::string when, RuleAction then) {
  RuleSpec r;
  r.name = std::move(name);
  r.room = "shop";
  r.when = std::move(when);
  r.then = then;
  r.cooldown = seconds(0);
  return r;
}

RuleAction ScaleMaxActive(double f) {
  RuleAction a;
  a.scale_max_active = f;
  return a;
}
RuleAction SetMaxActive(std::int64_t v) {
  RuleAction a;
  a.set_max_active = v;
  return a;
}

struct Harness {
  explicit Harness(std::vector<RuleSpec> specs) {
    std::vector<RuleProblem> problems;
    auto built = RuleSet::Build(std::move(specs), kSignals, kRooms, problems);
    EXPECT_TRUE(built.has_value()) << (problems.empty() ? "" : problems[0].message);
    if (built) rules.emplace(std::move(*built));
    policy.max_active = 100;
    signals[0] = SignalReading{0.5, SignalState::kOk, seconds(0), {}};
    signals[1] = SignalReading{100, SignalState::kOk, seconds(0), {}};
  }
  std::vector<Decision> Tick(util::Duration step = seconds(1)) {
    clock.Advance(step);
    auto out = rules->Evaluate("shop", clock.Now(), clock.WallNow(), signals, figures, policy);
    for (const auto& d : out) {
      if (!d.shadow) policy = d.change.AppliedTo(policy);
    }
    return out;
  }
  std::optional<RuleSet> rules;
  util::FakeClock clock;
  core::Policy policy;
  RoomFigures figures;
  std::vector<SignalReading> signals{2};
};

TEST(RuleSet, FiresOnlyAfterTheConditionHeldFor) {
  auto spec = Rule("db", "db_connections_used > 85%", ScaleMaxActive(0.5));
  spec.hold_for = seconds(30);
  Harness h({spec});
  h.signals[0].value = 0.9;
  // First seen true at the first tick; 30 s later it has held for 30 s.
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(h.Tick().empty()) << "second " << i + 1;
  auto out = h.Tick();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(h.policy.max_active, 50);
  EXPECT_EQ(out[0].source, DecisionSource::kRule);
  EXPECT_EQ(out[0].source_name, "db");
  ASSERT_EQ(out[0].seen.size(), 1u);
  EXPECT_EQ(out[0].seen[0].name, "db_connections_used");
  EXPECT_DOUBLE_EQ(out[0].seen[0].value, 0.9);
  EXPECT_NE(out[0].reason.find("held for 30s"), std::string::npos) << out[0].reason;
}

TEST(RuleSet, AnInterruptionOrAnUnknownValueRestartsTheWait) {
  auto spec = Rule("db", "db_connections_used > 85%", ScaleMaxActive(0.5));
  spec.hold_for = seconds(10);
  Harness h({spec});
  h.signals[0].value = 0.9;
  for (int i = 0; i < 8; ++i) h.Tick();
  h.signals[0].state = SignalState::kUnknown;  // the probe stopped answering
  EXPECT_TRUE(h.Tick().empty());
  h.signals[0].state = SignalState::kOk;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(h.Tick().empty());
  EXPECT_EQ(h.Tick().size(), 1u);
}

TEST(RuleSet, CooldownSpacesRepeatedFirings) {
  auto spec = Rule("db", "db_connections_used > 85%", ScaleMaxActive(0.8));
  spec.cooldown = seconds(60);
  Harness h({spec});
  h.signals[0].value = 0.95;
  ASSERT_EQ(h.Tick().size(), 1u);
  EXPECT_EQ(h.policy.max_active, 80);
  for (int i = 0; i < 59; ++i) EXPECT_TRUE(h.Tick().empty());
  ASSERT_EQ(h.Tick().size(), 1u) << "still saturated after the cooldown: another step down";
  EXPECT_EQ(h.policy.max_active, 64);
}

TEST(RuleSet, HigherPriorityTakesAFieldAndOthersKeepTheirs) {
  auto low = Rule("low", "origin_latency_ms > 50", SetMaxActive(10));
  low.then.set_mode = core::Mode::kPause;
  auto high = Rule("high", "origin_latency_ms > 50", SetMaxActive(70));
  high.priority = 5;
  Harness h({low, high});
  auto out = h.Tick();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].source_name, "high");
  EXPECT_EQ(out[1].source_name, "low");
  EXPECT_FALSE(out[1].change.max_active.has_value());
  EXPECT_EQ(out[1].change.mode, core::Mode::kPause);
  EXPECT_NE(out[1].reason.find("left to a higher-priority rule: max_active"), std::string::npos);
  EXPECT_EQ(h.policy.max_active, 70);
  EXPECT_EQ(h.policy.mode, core::Mode::kPause);
}

TEST(RuleSet, ShadowRulesAreRecordedAndChangeNothing) {
  auto shadow = Rule("trial", "origin_latency_ms > 50", SetMaxActive(10));
  shadow.shadow = true;
  Harness h({shadow});
  auto out = h.Tick();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].shadow);
  EXPECT_EQ(out[0].after.max_active, 10);
  EXPECT_EQ(h.policy.max_active, 100);
  EXPECT_NE(out[0].Describe().find(" shadow "), std::string::npos);
}

TEST(RuleSet, AFiringThatChangesNothingIsNotRecorded) {
  Harness h({Rule("cap", "origin_latency_ms > 50", SetMaxActive(100))});
  EXPECT_TRUE(h.Tick().empty());
}

TEST(RuleSet, RoomFiguresAndOtherRooms) {
  auto surge = Rule("surge", "room.surge >= 3 and room.waiting > 1000", SetMaxActive(40));
  auto other = Rule("other", "origin_latency_ms > 0", SetMaxActive(1));
  other.room = "tickets";
  Harness h({surge, other});
  h.figures.surge = 3.2;
  h.figures.waiting = 5000;
  auto out = h.Tick();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source_name, "surge");
  ASSERT_EQ(out[0].seen.size(), 2u);
  EXPECT_EQ(out[0].seen[0].name, "room.surge");
  EXPECT_EQ(h.policy.max_active, 40);
}

TEST(RuleSet, ProblemsPointIntoTheFile) {
  auto bad = Rule("bad", "origin_latency_ms > 5 and\n  cpu > 3", SetMaxActive(1));
  bad.when_line = 12;
  bad.when_column = 11;
  auto first_line = Rule("first", "origin_latency_ms >", SetMaxActive(1));
  first_line.when_line = 20;
  first_line.when_column = 11;
  auto nothing = Rule("nothing", "origin_latency_ms > 5", RuleAction{});
  nothing.room = "nowhere";
  std::vector<RuleProblem> problems;
  EXPECT_FALSE(RuleSet::Build({bad, first_line, nothing}, kSignals, kRooms, problems));
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(problems[0].rule, "bad");
  ASSERT_TRUE(problems[0].where.has_value());
  EXPECT_EQ(problems[0].where->line, 13);
  EXPECT_EQ(problems[0].where->column, 3);
  EXPECT_EQ(problems[0].message, "unknown signal 'cpu'");
  EXPECT_EQ(problems[1].where->line, 20);
  EXPECT_EQ(problems[1].where->column, 11 + 19);
  EXPECT_EQ(problems[2].key, "room");
  EXPECT_EQ(problems[3].key, "then");
}

TEST(RuleSet, RulesAreAddedReplacedAndRemovedAtRunTime) {
  Harness h({});
  std::vector<RuleProblem> problems;
  auto spec = Rule("cap", "origin_latency_ms > 150", SetMaxActive(40));
  spec.hold_for = seconds(2);
  ASSERT_TRUE(h.rules->Put(spec, kRooms, problems));
  EXPECT_EQ(h.rules->size(), 1u);
  EXPECT_TRUE(h.Tick().empty());
  EXPECT_EQ(h.rules->Status()[0].state, "idle");
  h.signals[1].value = 200;
  EXPECT_TRUE(h.Tick().empty());
  EXPECT_EQ(h.rules->Status()[0].state, "pending");
  EXPECT_TRUE(h.Tick().empty());
  ASSERT_EQ(h.Tick().size(), 1u);
  EXPECT_EQ(h.policy.max_active, 40);
  EXPECT_EQ(h.rules->Status()[0].state, "firing");
  EXPECT_TRUE(h.rules->Status()[0].last_fired.has_value());

  // Replaced: the new rule starts afresh (its `for` again), with its new action.
  spec.then = SetMaxActive(30);
  ASSERT_TRUE(h.rules->Put(spec, kRooms, problems));
  EXPECT_EQ(h.rules->size(), 1u);
  EXPECT_FALSE(h.rules->Status()[0].last_fired.has_value());
  h.Tick();
  h.Tick();
  ASSERT_EQ(h.Tick().size(), 1u);
  EXPECT_EQ(h.policy.max_active, 30);

  // A shadow rule says so.
  auto shadow = Rule("try", "origin_latency_ms > 1", SetMaxActive(1));
  shadow.shadow = true;
  ASSERT_TRUE(h.rules->Put(shadow, kRooms, problems));
  EXPECT_EQ(h.rules->Status()[1].state, "shadow");

  EXPECT_TRUE(h.rules->Remove("cap"));
  EXPECT_FALSE(h.rules->Remove("cap"));
  EXPECT_EQ(h.rules->Find("cap"), nullptr);
  ASSERT_NE(h.rules->Find("try"), nullptr);
}

TEST(RuleSet, AWrongRuleIsRefusedWithThePositionAndChangesNothing) {
  Harness h({Rule("cap", "origin_latency_ms > 150", SetMaxActive(40))});
  std::vector<RuleProblem> problems;
  auto bad = Rule("cap", "origin_latency_ms > 150 and nosuch < 2", SetMaxActive(10));
  EXPECT_FALSE(h.rules->Put(bad, kRooms, problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].key, "when");
  ASSERT_TRUE(problems[0].where.has_value());
  EXPECT_EQ(problems[0].where->line, 1);
  EXPECT_EQ(problems[0].where->column, 29);
  EXPECT_EQ(h.rules->Find("cap")->then.set_max_active, 40) << "the old rule stays";
  problems.clear();
  auto elsewhere = Rule("x", "origin_latency_ms > 1", SetMaxActive(10));
  elsewhere.room = "nosuch";
  EXPECT_FALSE(h.rules->Put(elsewhere, kRooms, problems));
  EXPECT_EQ(problems.at(0).key, "room");
  EXPECT_EQ(h.rules->size(), 1u);
}

}  // namespace
}  // namespace vwr::control
