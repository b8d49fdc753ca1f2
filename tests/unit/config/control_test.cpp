// The signals:, rules:, schedules: and rooms[].control sections (src/config/read_control.cpp):
// what is read, and bad configuration refused with the line and column of the mistake.

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using testing::Describe;
using testing::ErrorFor;
using testing::ParseOk;

constexpr std::string_view kSignals = R"(signals:
  - name: lat
    kind: push
  - name: db_used
    kind: push
)";

std::string WithSignals(std::string_view rest) { return std::string(kSignals) + std::string(rest); }

TEST(ControlConfig, ReadsRulesSchedulesAndARoomsControl) {
  const Config config = ParseOk(WithSignals(R"(rules:
  - name: db
    room: shop
    when: db_used > 85% and lat >= 200
    for: 30s
    then: { max_active: { scale: 0.7 }, mode: pause }
    priority: 10
    cooldown: 2m
    shadow: true
schedules:
  - name: sale
    room: shop
    opens_at: 2027-03-01T20:00:00+09:00
    prequeue: 30m
    open: { mode: fifo, max_active: 500, admit_rate: 50 }
    shuffle: true
rooms:
  - id: shop
    control:
      algorithm: gradient
      interval: 2s
      max_active: { min: 5, max: 1000 }
      admit_rate: { min: 1, max: 50 }
      targets: [{ signal: lat, max: 200 }]
      on_unknown: min
)"));
  ASSERT_EQ(config.rules.size(), 1u);
  const control::RuleSpec& rule = config.rules[0];
  EXPECT_EQ(rule.name, "db");
  EXPECT_EQ(rule.when, "db_used > 85% and lat >= 200");
  EXPECT_EQ(rule.when_line, 9);
  EXPECT_EQ(rule.hold_for, std::chrono::seconds(30));
  EXPECT_EQ(rule.cooldown, std::chrono::minutes(2));
  EXPECT_EQ(rule.priority, 10);
  EXPECT_TRUE(rule.shadow);
  EXPECT_FALSE(rule.from_api);
  EXPECT_EQ(rule.then.scale_max_active, 0.7);
  EXPECT_EQ(rule.then.set_mode, core::Mode::kPause);
  ASSERT_EQ(config.schedules.size(), 1u);
  EXPECT_TRUE(config.schedules[0].shuffle);
  EXPECT_EQ(config.schedules[0].prequeue, std::chrono::minutes(30));
  ASSERT_TRUE(config.rooms[0].control.has_value());
  const control::ControlSpec& c = *config.rooms[0].control;
  EXPECT_EQ(c.algorithm, control::Algorithm::kGradient);
  EXPECT_EQ(c.interval, std::chrono::seconds(2));
  EXPECT_EQ(c.max_active, (control::Bounds{5, 1000}));
  EXPECT_EQ(c.admit_rate, (control::Bounds{1, 50}));
  EXPECT_EQ(c.on_unknown, control::OnUnknown::kMin);
  ASSERT_EQ(c.targets.size(), 1u);
  EXPECT_EQ(c.targets[0], (control::Target{"lat", 200}));
}

TEST(ControlConfig, AnUnknownSignalInAConditionIsRefusedAtItsLineAndColumn) {
  const ParseResult result = ParseConfig(WithSignals(R"(rules:
  - name: r
    room: shop
    when: lat > 5 and nosuch < 3
    then: { max_active: 10 }
rooms:
  - id: shop
)"));
  ASSERT_FALSE(result.ok());
  const ConfigError e = ErrorFor(result, "rules[0].when");
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.column, 23);  // "nosuch", in the file
  EXPECT_NE(e.message.find("unknown signal 'nosuch'"), std::string::npos) << e.message;
}

TEST(ControlConfig, AnErrorOnALaterLineOfABlockConditionPointsAtThatLine) {
  const ParseResult result = ParseConfig(WithSignals(R"(rules:
  - name: r
    room: shop
    when: |
      lat > 5 and
      db_used > nosuch
    then: { max_active: 10 }
rooms:
  - id: shop
)"));
  ASSERT_FALSE(result.ok());
  const ConfigError e = ErrorFor(result, "rules[0].when");
  EXPECT_EQ(e.line, 11) << e.ToString();
  EXPECT_NE(e.message.find("nosuch"), std::string::npos) << e.message;
}

TEST(ControlConfig, TypeErrorsInAConditionAreRefusedWithTheLine) {
  // A number where a truth is needed, and a truth where a number is needed.
  for (const char* when : {"lat * 2", "lat * (2 > 1) > 3", "not lat", "lat and true"}) {
    const ParseResult result = ParseConfig(WithSignals(std::string(R"(rules:
  - name: r
    room: shop
    when: )") + when + R"(
    then: { max_active: 10 }
rooms:
  - id: shop
)"));
    ASSERT_FALSE(result.ok()) << when;
    const ConfigError e = ErrorFor(result, "rules[0].when");
    EXPECT_EQ(e.line, 9) << when << ": " << e.ToString();
    EXPECT_GE(e.column, 11) << when;
  }
}

TEST(ControlConfig, ImpossibleBoundsAreRefusedWithTheLineOfTheControlSection) {
  const ParseResult result = ParseConfig(WithSignals(R"(rooms:
  - id: shop
    control:
      max_active: { min: 50, max: 10 }
      admit_rate: { min: 0, max: 5 }
      targets: [{ signal: lat, max: 1 }]
)"));
  ASSERT_FALSE(result.ok());
  const ConfigError a = ErrorFor(result, "rooms[0].control.max_active");
  EXPECT_EQ(a.line, 8) << a.ToString();
  EXPECT_NE(a.message.find("1 <= min <= max"), std::string::npos) << a.message;
  const ConfigError b = ErrorFor(result, "rooms[0].control.admit_rate");
  EXPECT_EQ(b.line, 8) << b.ToString();
}

TEST(ControlConfig, AControlTargetOnAnUnknownSignalIsRefused) {
  const ParseResult result = ParseConfig(WithSignals(R"(rooms:
  - id: shop
    control:
      max_active: { min: 5, max: 10 }
      targets: [{ signal: nosuch, max: 1 }]
)"));
  ASSERT_FALSE(result.ok());
  const ConfigError e = ErrorFor(result, "rooms[0].control.targets[0].signal");
  EXPECT_EQ(e.line, 8);
  EXPECT_NE(e.message.find("unknown signal 'nosuch'"), std::string::npos) << e.message;
}

TEST(ControlConfig, ARuleForAnUnknownRoomOrDoingNothingIsRefused) {
  const ParseResult result = ParseConfig(WithSignals(R"(rules:
  - name: r
    room: nosuch
    when: lat > 5
    then: {}
rooms:
  - id: shop
)"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(ErrorFor(result, "rules[0].room").line, 7) << Describe(result);
  EXPECT_EQ(ErrorFor(result, "rules[0].then").line, 7) << Describe(result);
}

TEST(ControlConfig, TwoRulesOfOneNameAndAnUnknownKeyAreRefused) {
  const ParseResult result = ParseConfig(WithSignals(R"(rules:
  - name: r
    room: shop
    when: lat > 5
    then: { max_active: 5 }
  - name: r
    room: shop
    when: lat > 6
    then: { max_active: 4 }
    colldown: 1m
rooms:
  - id: shop
)"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(ErrorFor(result, "rules[1].name").line, 11) << Describe(result);
  EXPECT_EQ(ErrorFor(result, "rules[1].colldown").line, 15) << Describe(result);
}

TEST(ControlConfig, AScheduleWithABadTimeIsRefusedWithItsLine) {
  const ParseResult result = ParseConfig(WithSignals(R"(schedules:
  - name: sale
    room: shop
    opens_at: tomorrow evening
rooms:
  - id: shop
)"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(ErrorFor(result, "schedules[0].opens_at").line, 9) << Describe(result);
}

}  // namespace
}  // namespace vwr::config
