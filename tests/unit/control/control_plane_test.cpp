#include "control/control_plane.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace vwr::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

SignalSpec Push(std::string name) {
  SignalSpec s;
  s.name = std::move(name);
  s.kind = SignalKind::kPush;
  s.stale_after = seconds(30);
  return s;
}

ControlConfig Config() {
  ControlConfig config;
  config.signals = {Push("origin_latency_ms"), Push("campaign_load")};
  RuleSpec rule;
  rule.name = "campaign";
  rule.room = "shop";
  rule.when = "campaign_load > 0.9";
  rule.then.set_mode = core::Mode::kPause;
  config.rules = {rule};
  ControlSpec control;
  control.max_active = Bounds{5, 1000};
  control.targets = {{"origin_latency_ms", 200}};
  config.controls["shop"] = control;
  return config;
}

TEST(ControlPlane, ScheduleRulesAndControllerInOneTick) {
  util::FakeClock clock;
  std::vector<std::string> problems;
  auto config = Config();
  EventSpec opening;
  opening.name = "sale";
  opening.room = "shop";
  opening.opens_at = clock.WallNow() + seconds(1);
  opening.open_max_active = 300;
  config.schedules = {opening};
  auto plane = ControlPlane::Build(std::move(config), {"shop", "other"}, clock, problems);
  ASSERT_NE(plane, nullptr) << problems[0];
  plane->Start();
  core::Policy policy;
  policy.max_active = 100;
  RoomFigures figures;
  figures.active = 100;
  std::string error;
  ASSERT_TRUE(plane->Push("origin_latency_ms", R"({"value": 400, "ttl": "10s"})", &error)) << error;
  ASSERT_TRUE(plane->Push("campaign_load", R"({"value": 0.95})", &error)) << error;
  clock.Advance(seconds(1));
  auto r = plane->Tick("shop", figures, policy);
  // The opening sets 300, the rule pauses, the controller lowers from what is in use (100).
  ASSERT_EQ(r.decisions.size(), 3u);
  EXPECT_EQ(r.decisions[0].source, DecisionSource::kSchedule);
  EXPECT_EQ(r.decisions[1].source, DecisionSource::kRule);
  EXPECT_EQ(r.decisions[2].source, DecisionSource::kController);
  EXPECT_EQ(r.decisions[2].before.max_active, 300) << "each part sees the one before";
  ASSERT_TRUE(r.policy.has_value());
  EXPECT_EQ(r.policy->max_active, 50);
  EXPECT_EQ(r.policy->mode, core::Mode::kPause);
  EXPECT_EQ(plane->decisions().total(), 3u);
  EXPECT_TRUE(plane->Tick("other", figures, policy).decisions.empty());

  // An operator's change: the controller holds off and says so.
  const core::Policy set_by_hand = [&] {
    core::Policy p = *r.policy;
    p.max_active = 500;
    return p;
  }();
  plane->OperatorSet("shop", "kim", *r.policy, set_by_hand);  // from an admin API worker
  clock.Advance(seconds(2));
  r = plane->Tick("shop", figures, set_by_hand);
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(plane->decisions().Recent(1)[0].source, DecisionSource::kOperator);
  EXPECT_EQ(plane->decisions().Recent(1)[0].source_name, "kim");
  EXPECT_EQ(plane->ControllerStatus("shop")->state, "holding: operator kim");
  EXPECT_FALSE(plane->ControllerStatus("other").has_value());
  ASSERT_EQ(plane->RuleStatus().size(), 1u);
  EXPECT_EQ(plane->RuleStatus()[0].last, Truth::kTrue);
  ASSERT_EQ(plane->EventStatus().size(), 1u);
  EXPECT_EQ(plane->EventStatus()[0].phase, "open");

  // The pushed latency expires after its ttl: the controller holds for an unknown signal.
  clock.Advance(minutes(10));
  r = plane->Tick("shop", figures, set_by_hand);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_NE(r.decisions[0].reason.find("not known: origin_latency_ms"), std::string::npos);
  EXPECT_FALSE(r.policy.has_value());
  plane->Stop();
}

// The admin API's calls come from worker threads while the control loop ticks (run under
// ThreadSanitizer by `make test-tsan`).
TEST(ControlPlane, AdminCallsFromOtherThreadsWhileTheLoopTicks) {
  util::FakeClock clock;
  std::vector<std::string> problems;
  auto plane = ControlPlane::Build(Config(), {"shop"}, clock, problems);
  ASSERT_NE(plane, nullptr);
  std::atomic<bool> done{false};
  std::thread admin([&] {
    core::Policy a, b;
    b.max_active = 7;
    int i = 0;
    while (!done) {
      std::string error;
      EXPECT_TRUE(plane->Push("origin_latency_ms", R"({"value": 50})", &error)) << error;
      if (++i % 50 == 0) plane->OperatorSet("shop", "kim", a, b);
      (void)plane->ControllerStatus("shop");
      (void)plane->RuleStatus();
      (void)plane->decisions().Recent(10);
      (void)plane->signals().ReadAll(clock.Now());
    }
  });
  core::Policy policy;
  RoomFigures figures;
  figures.active = 100;
  for (int i = 0; i < 2000; ++i) {
    clock.Advance(milliseconds(500));
    auto r = plane->Tick("shop", figures, policy);
    if (r.policy) policy = *r.policy;
  }
  done = true;
  admin.join();
  EXPECT_GT(plane->decisions().total(), 0u);
}

TEST(ControlPlane, PushRefusesWhatIsNotAPushSignal) {
  util::FakeClock clock;
  std::vector<std::string> problems;
  auto plane = ControlPlane::Build(Config(), {"shop"}, clock, problems);
  ASSERT_NE(plane, nullptr);
  std::string error;
  EXPECT_FALSE(plane->Push("nope", R"({"value": 1})", &error));
  EXPECT_EQ(error, "no push signal of that name");
  EXPECT_FALSE(plane->Push("campaign_load", R"({"value": "x"})", &error));
  EXPECT_EQ(error, "value: a number is required");
}

TEST(ControlPlane, EveryProblemAtOnce) {
  util::FakeClock clock;
  auto config = Config();
  config.signals.push_back(Push("campaign_load"));
  config.rules[0].when = "campaign_load > \n  missing";
  config.controls["nowhere"] = config.controls["shop"];
  config.controls["shop"].targets[0].signal = "nope";
  std::vector<std::string> problems;
  EXPECT_EQ(ControlPlane::Build(std::move(config), {"shop"}, clock, problems), nullptr);
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(problems[0], "signals.campaign_load: two signals have this name");
  EXPECT_EQ(problems[1], "rules.campaign.when (line 2, column 3): unknown signal 'missing'");
  EXPECT_EQ(problems[2], "rooms.nowhere.control: unknown room");
  EXPECT_EQ(problems[3], "rooms.shop.control.targets[0].signal: unknown signal 'nope'");
}

TEST(ControlPlane, EveryChangeToAPolicyGoesToTheListenerShadowAndOperatorsLeftOut) {
  util::FakeClock clock;
  std::vector<std::string> problems;
  auto config = Config();
  RuleSpec shadow;
  shadow.name = "try";
  shadow.room = "shop";
  shadow.when = "campaign_load > 0.5";
  shadow.then.set_max_active = 3;
  shadow.shadow = true;
  config.rules.push_back(shadow);
  auto plane = ControlPlane::Build(std::move(config), {"shop"}, clock, problems);
  ASSERT_NE(plane, nullptr) << problems[0];
  std::vector<Decision> heard;
  plane->SetDecisionListener([&](const Decision& d) { heard.push_back(d); });
  core::Policy policy;
  policy.max_active = 100;
  RoomFigures figures;
  figures.active = 100;
  std::string error;
  ASSERT_TRUE(plane->Push("origin_latency_ms", R"({"value": 400})", &error));
  ASSERT_TRUE(plane->Push("campaign_load", R"({"value": 0.95})", &error));
  clock.Advance(seconds(1));
  auto r = plane->Tick("shop", figures, policy);
  ASSERT_EQ(r.decisions.size(), 3u) << "the rule, the shadow rule and the controller";
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].source, DecisionSource::kRule);
  EXPECT_EQ(heard[0].source_name, "campaign");
  EXPECT_EQ(heard[1].source, DecisionSource::kController);
  EXPECT_EQ(heard[1].source_name, "aimd");
  plane->OperatorSet("shop", "kim", *r.policy, policy);
  clock.Advance(seconds(1));
  plane->Tick("shop", figures, *r.policy);
  EXPECT_EQ(heard.size(), 2u) << "an operator's change is audited by the admin API itself";
}

TEST(ControlPlane, RulesAndControlSettingsChangeAtRunTimeAndFollowWhatIsKept) {
  util::FakeClock clock;
  std::vector<std::string> problems;
  auto plane = ControlPlane::Build(Config(), {"shop"}, clock, problems);
  ASSERT_NE(plane, nullptr) << problems[0];
  RuleSpec rule;
  rule.name = "cap";
  rule.room = "shop";
  rule.when = "origin_latency_ms > 300";
  rule.then.set_max_active = 20;
  rule.from_api = true;
  EXPECT_TRUE(plane->CheckRule(rule).empty());
  RuleSpec bad = rule;
  bad.when = "origin_latency_ms > ";
  ASSERT_EQ(plane->CheckRule(bad).size(), 1u);
  std::vector<RuleProblem> rule_problems;
  ASSERT_TRUE(plane->PutRule(rule, rule_problems));
  EXPECT_EQ(plane->RuleStatus().size(), 2u) << "listed at once, before any tick";
  EXPECT_EQ(plane->FindRule("cap")->then.set_max_active, 20);

  // Settings: impossible bounds change nothing.
  std::string error;
  EXPECT_FALSE(plane->SetControlSettings("shop", {true, Bounds{50, 10}, std::nullopt}, &error));
  EXPECT_NE(error.find("1 <= min <= max"), std::string::npos) << error;
  EXPECT_FALSE(plane->SetControlSettings("other", {false, Bounds{5, 10}, std::nullopt}, &error));
  ASSERT_TRUE(plane->SetControlSettings("shop", {false, Bounds{5, 60}, std::nullopt}, &error))
      << error;
  auto state = plane->RoomControlOf("shop");
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->settings.enabled);
  EXPECT_EQ(state->spec.max_active, (Bounds{5, 60}));
  EXPECT_EQ(state->status.state, "off");

  // Off: a breach changes nothing; the rule still acts.
  ASSERT_TRUE(plane->Push("origin_latency_ms", R"({"value": 400})", &error));
  core::Policy policy;
  policy.max_active = 100;
  RoomFigures figures;
  figures.active = 100;
  clock.Advance(seconds(1));
  auto r = plane->Tick("shop", figures, policy);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].source_name, "cap");

  // What the shared store keeps wins: the rule it no longer has goes, a file rule of the same
  // name is not replaced, the settings are taken.
  RuleSpec renamed = rule;
  renamed.name = "campaign";  // the file's
  RuleSpec other = rule;
  other.name = "other";
  plane->AdoptKept({renamed, other},
                   {{"shop", ControlSettings{true, Bounds{5, 70}, std::nullopt}}});
  EXPECT_FALSE(plane->FindRule("cap").has_value());
  EXPECT_TRUE(plane->FindRule("other").has_value());
  EXPECT_FALSE(plane->FindRule("campaign")->from_api);
  EXPECT_TRUE(plane->RoomControlOf("shop")->settings.enabled);
  EXPECT_EQ(plane->RoomControlOf("shop")->spec.max_active, (Bounds{5, 70}));
  EXPECT_TRUE(plane->RemoveRule("other"));
  EXPECT_FALSE(plane->RemoveRule("other"));
}

}  // namespace
}  // namespace vwr::control
