#include "control/rule_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace vwr::control {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(RuleJson, ReadsEveryFieldOfTheYamlForm) {
  std::string error;
  auto spec = RuleFromJsonText(R"({"name": "db-saturated", "room": "shop",
      "when": "db_connections_used > 85%", "for": "30s",
      "then": {"max_active": {"scale": 0.7}, "admit_rate": 5, "mode": "pause"},
      "priority": 10, "cooldown": "2m", "shadow": true})",
                               &error);
  ASSERT_TRUE(spec.has_value()) << error;
  EXPECT_EQ(spec->name, "db-saturated");
  EXPECT_EQ(spec->room, "shop");
  EXPECT_EQ(spec->when, "db_connections_used > 85%");
  EXPECT_EQ(spec->hold_for, seconds(30));
  EXPECT_EQ(spec->cooldown, minutes(2));
  EXPECT_EQ(spec->priority, 10);
  EXPECT_TRUE(spec->shadow);
  EXPECT_TRUE(spec->from_api);
  EXPECT_EQ(spec->then.scale_max_active, 0.7);
  EXPECT_EQ(spec->then.set_admit_rate, 5.0);
  EXPECT_EQ(spec->then.set_mode, core::Mode::kPause);
}

TEST(RuleJson, DefaultsAreTheYamlDefaultsAndTheJsonFormRoundTrips) {
  std::string error;
  auto spec = RuleFromJsonText(
      R"({"name":"cap","room":"shop","when":"load > 10","then":{"max_active":7}})", &error);
  ASSERT_TRUE(spec.has_value()) << error;
  EXPECT_EQ(spec->hold_for, seconds(0));
  EXPECT_EQ(spec->cooldown, seconds(60));
  EXPECT_EQ(spec->priority, 0);
  EXPECT_FALSE(spec->shadow);
  EXPECT_EQ(spec->then.set_max_active, 7);
  const std::string text = boost::json::serialize(RuleToJson(*spec));
  EXPECT_EQ(text,
            R"({"name":"cap","room":"shop","when":"load > 10","for":"0s","then":{"max_active":7},)"
            R"("priority":0,"cooldown":"1m","shadow":false})");
  auto again = RuleFromJsonText(text, &error);
  ASSERT_TRUE(again.has_value()) << error;
  EXPECT_EQ(*again, *spec);
}

TEST(RuleJson, RefusesWhatIsNotARuleWithTheFieldAtFault) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1])", "JSON object"},
      {R"({"room":"shop","when":"a","then":{"mode":"pause"}})", "name: missing"},
      {R"({"name":"a b","room":"shop","when":"a","then":{"mode":"pause"}})", "name:"},
      {R"({"name":"x\n","room":"shop","when":"a","then":{"mode":"pause"}})", "name:"},
      {R"({"name":"x","room":"shop","when":"a","then":{"mode":"sideways"}})", "then.mode"},
      {R"({"name":"x","room":"shop","when":"a","then":{"max_active":2.5}})", "then.max_active"},
      {R"({"name":"x","room":"shop","when":"a","then":{"max_active":0}})", "then.max_active"},
      {R"({"name":"x","room":"shop","when":"a","then":{"max_active":{"scale":"x"}}})",
       "then.max_active"},
      {R"({"name":"x","room":"shop","when":"a","then":{"colour":1}})", "then:"},
      {R"({"name":"x","room":"shop","when":"a","then":{"mode":"pause"},"for":"ever"})", "for:"},
      {R"({"name":"x","room":"shop","when":"a","then":{"mode":"pause"},"priority":1e9})",
       "priority"},
      {R"({"name":"x","room":"shop","when":"a","then":{"mode":"pause"},"shadow":"yes"})", "shadow"},
      {R"({"name":"x","room":"shop","when":"a","then":{"mode":"pause"},"colldown":"1m"})",
       "unknown field 'colldown'"},
      {R"({"name":"x","room":"shop","when":"","then":{"mode":"pause"}})", "when:"},
      {"not json", "not JSON"},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    EXPECT_FALSE(RuleFromJsonText(text, &error).has_value()) << text;
    EXPECT_NE(error.find(expected), std::string::npos) << text << " -> " << error;
  }
  std::string error;
  const std::string huge = R"({"name":"x","room":"shop","when":")" + std::string(5000, 'a') +
                           R"(","then":{"mode":"pause"}})";
  EXPECT_FALSE(RuleFromJsonText(huge, &error).has_value());
  EXPECT_NE(error.find("4096"), std::string::npos) << error;
}

TEST(ControlSettingsJson, FieldsAreOptionalAndMergedIntoTheCurrentSettings) {
  const ControlSettings current{true, Bounds{5, 1000}, std::nullopt};
  std::string error;
  auto off = ControlChangeFromJson(R"({"enabled": false})", current, &error);
  ASSERT_TRUE(off.has_value()) << error;
  EXPECT_EQ(*off, (ControlSettings{false, Bounds{5, 1000}, std::nullopt}));
  auto bounds = ControlChangeFromJson(
      R"({"max_active": {"min": 10, "max": 50}, "admit_rate": {"min": 1, "max": 5}})", current,
      &error);
  ASSERT_TRUE(bounds.has_value()) << error;
  EXPECT_EQ(*bounds, (ControlSettings{true, Bounds{10, 50}, Bounds{1, 5}}));
  auto unsteered = ControlChangeFromJson(R"({"admit_rate": null})", *bounds, &error);
  ASSERT_TRUE(unsteered.has_value()) << error;
  EXPECT_FALSE(unsteered->admit_rate.has_value());
  EXPECT_EQ(
      boost::json::serialize(ControlSettingsToJson(*bounds)),
      R"({"enabled":true,"max_active":{"min":10,"max":50},"admit_rate":{"min":1E0,"max":5E0}})");
  for (const char* bad : {R"({"enabled": 1})", R"({"max_active": {"min": 1}})",
                          R"({"max_active": [1, 2]})", R"({"speed": 3})", "[]", "{"}) {
    EXPECT_FALSE(ControlChangeFromJson(bad, current, &error).has_value()) << bad;
  }
}

}  // namespace
}  // namespace vwr::control
