#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

// The traffic analysis' keys (analytics.*).
namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using testing::ErrorFor;
using testing::ParseOk;

constexpr milliseconds kDay{86'400'000};

TEST(Analytics, DefaultsAreTheDocumentedValues) {
  const AnalyticsConfig a = ParseOk("").analytics;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.keep_seconds, milliseconds(3'600'000));
  EXPECT_EQ(a.keep_minutes, 30 * kDay);
  EXPECT_EQ(a.keep_hours, 730 * kDay);
  EXPECT_EQ(a.keep_top_minutes, kDay);
  EXPECT_EQ(a.keep_top_hours, 30 * kDay);
  EXPECT_EQ(a.top_keys, 20);
  EXPECT_EQ(a.poll_sample, 8);
  EXPECT_EQ(a.surge_factor, 3.0);
  EXPECT_EQ(a.surge_min_rate, 20.0);
  EXPECT_EQ(a.surge_window, milliseconds(5'000));
  EXPECT_EQ(a.surge_baseline, milliseconds(300'000));
  EXPECT_EQ(a.live_streams, 32);
  EXPECT_EQ(ParseOk("analytics:\n").analytics, AnalyticsConfig{}) << "an empty section";
}

TEST(Analytics, EveryKeyIsRead) {
  const AnalyticsConfig a = ParseOk(R"(
analytics:
  enabled: false
  retention:
    seconds: 10m
    minutes: 7d
    hours: 0
    top_minutes: 2h
    top_hours: 90d
  top_keys: 50
  poll_sample: 1
  surge:
    factor: 2.5
    min_rate: 0
    window: 10s
    baseline: 1h
  live_streams: 4
)")
                                .analytics;
  EXPECT_FALSE(a.enabled);
  EXPECT_EQ(a.keep_seconds, milliseconds(600'000));
  EXPECT_EQ(a.keep_minutes, 7 * kDay);
  EXPECT_EQ(a.keep_hours, milliseconds(0)) << "0: kept for ever";
  EXPECT_EQ(a.keep_top_minutes, milliseconds(7'200'000));
  EXPECT_EQ(a.keep_top_hours, 90 * kDay);
  EXPECT_EQ(a.top_keys, 50);
  EXPECT_EQ(a.poll_sample, 1);
  EXPECT_EQ(a.surge_factor, 2.5);
  EXPECT_EQ(a.surge_min_rate, 0.0);
  EXPECT_EQ(a.surge_window, milliseconds(10'000));
  EXPECT_EQ(a.surge_baseline, milliseconds(3'600'000));
  EXPECT_EQ(a.live_streams, 4);
}

TEST(Analytics, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(analytics:
  enabled: yes
  retention:
    seconds: 2h
    minutes: 10s
    hours: 99999d
    top_minutes: -1d
  top_keys: 0
  poll_sample: 1000000
  surge:
    factor: 1
    min_rate: -5
    window: 0s
    baseline: 2d
  live_streams: 100000
  retension: 1d
)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorFor(r, "analytics.enabled").line, 2);
  EXPECT_NE(ErrorFor(r, "analytics.retention.seconds").message.find("between 1m and 1h"),
            std::string::npos)
      << ErrorFor(r, "analytics.retention.seconds").message;
  EXPECT_EQ(ErrorFor(r, "analytics.retention.minutes").line, 5);
  EXPECT_NE(ErrorFor(r, "analytics.retention.hours").message.find("kept for ever"),
            std::string::npos);
  EXPECT_EQ(ErrorFor(r, "analytics.retention.top_minutes").line, 7);
  EXPECT_EQ(ErrorFor(r, "analytics.top_keys").line, 8);
  EXPECT_EQ(ErrorFor(r, "analytics.poll_sample").line, 9);
  EXPECT_EQ(ErrorFor(r, "analytics.surge.factor").line, 11);
  EXPECT_EQ(ErrorFor(r, "analytics.surge.min_rate").line, 12);
  EXPECT_EQ(ErrorFor(r, "analytics.surge.window").line, 13);
  EXPECT_EQ(ErrorFor(r, "analytics.surge.baseline").line, 14);
  EXPECT_EQ(ErrorFor(r, "analytics.live_streams").line, 15);
  EXPECT_NE(ErrorFor(r, "analytics.retension").message.find("did you mean \"retention\""),
            std::string::npos);
  const ParseResult inverted =
      ParseConfig("analytics:\n  surge:\n    window: 5m\n    baseline: 1m\n");
  ASSERT_FALSE(inverted.ok());
  EXPECT_NE(ErrorFor(inverted, "analytics.surge").message.find("longer than window"),
            std::string::npos);
  EXPECT_FALSE(ParseConfig("analytics: 5\n").ok());
}

}  // namespace
}  // namespace vwr::config
