#include "config/duration.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace vwr::config {
namespace {

using std::chrono::milliseconds;

struct DurationCase {
  std::string_view text;
  std::int64_t ms;
};

TEST(ParseDuration, AcceptsEveryUnit) {
  constexpr DurationCase kCases[] = {
      {"600s", 600'000}, {"20s", 20'000},     {"1500ms", 1'500},   {"5m", 300'000},
      {"1h", 3'600'000}, {"1d", 86'400'000},  {"0s", 0},           {"0ms", 0},
      {"1ms", 1},        {"007s", 7'000},     {"2d", 172'800'000}, {"90m", 5'400'000},
      {"100ms", 100},    {"7d", 604'800'000},
  };
  for (const DurationCase& c : kCases) {
    EXPECT_EQ(ParseDuration(c.text), milliseconds(c.ms)) << c.text;
  }
}

TEST(ParseDuration, BareNumberMeansSeconds) {
  EXPECT_EQ(ParseDuration("600"), milliseconds(600'000));
  EXPECT_EQ(ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(ParseDuration("0.25"), milliseconds(250));
}

TEST(ParseDuration, AcceptsFractionsThatAreWholeMilliseconds) {
  constexpr DurationCase kCases[] = {
      {"1.5s", 1'500},
      {"0.1s", 100},
      {"1.25m", 75'000},
      {"0.5h", 1'800'000},
      {"1.5d", 129'600'000},
      {"2.000s", 2'000},
      {"0.001s", 1},
      {"1.0ms", 1},
      {"1.500000000000s", 1'500},  // trailing zeros do not count as precision
  };
  for (const DurationCase& c : kCases) {
    EXPECT_EQ(ParseDuration(c.text), milliseconds(c.ms)) << c.text;
  }
}

TEST(ParseDuration, RejectsNegativeEmptyAndGarbage) {
  constexpr std::string_view kBad[] = {
      "",      "-1s", "-1",  "+1s", "s",     "ms",   " 1s",  "1s ",    "1 s",   "1S",
      "1sec",  "1ss", "1.s", ".5s", "1..5s", "1,5s", "abc",  "1e3s",   "0x10s", "1s2",
      "1m30s", "nan", "inf", "1y",  "1w",    "1us",  "--1s", "1.5.5s",
  };
  for (std::string_view text : kBad) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ParseDuration, RejectsPrecisionFinerThanAMillisecond) {
  EXPECT_EQ(ParseDuration("0.0001s"), std::nullopt);
  EXPECT_EQ(ParseDuration("1.5ms"), std::nullopt);
  EXPECT_EQ(ParseDuration("0.0000000001d"), std::nullopt);
}

TEST(ParseDuration, RejectsOverflow) {
  EXPECT_EQ(ParseDuration("9223372036854775807ms"), milliseconds(INT64_MAX));
  EXPECT_EQ(ParseDuration("9223372036854775808ms"), std::nullopt);
  EXPECT_EQ(ParseDuration("99999999999999999999999s"), std::nullopt);
  EXPECT_EQ(ParseDuration("9223372036854775807s"), std::nullopt);
  EXPECT_EQ(ParseDuration("106751991167d"), milliseconds(9'223'372'036'828'800'000));
  EXPECT_EQ(ParseDuration("106751991168d"), std::nullopt);
  EXPECT_EQ(ParseDuration("9223372036854775807.5ms"), std::nullopt);
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(1'500)), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds(20'000)), "20s");
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "90s");
  EXPECT_EQ(FormatDuration(milliseconds(300'000)), "5m");
  EXPECT_EQ(FormatDuration(milliseconds(600'000)), "10m");
  EXPECT_EQ(FormatDuration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "90m");
  EXPECT_EQ(FormatDuration(milliseconds(86'400'000)), "1d");
  EXPECT_EQ(FormatDuration(milliseconds(1)), "1ms");
  EXPECT_EQ(FormatDuration(milliseconds(-5'000)), "-5s");
  EXPECT_EQ(FormatDuration(milliseconds(std::numeric_limits<std::int64_t>::min())),
            "-9223372036854775808ms");
}

TEST(FormatDuration, RoundTripsThroughParseDuration) {
  constexpr std::int64_t kValues[] = {0,         1,          999,        1'000,
                                      1'001,     59'999,     60'000,     3'599'999,
                                      3'600'000, 86'400'000, 86'400'001, INT64_MAX};
  for (std::int64_t ms : kValues) {
    const std::string text = FormatDuration(milliseconds(ms));
    EXPECT_EQ(ParseDuration(text), milliseconds(ms)) << text;
  }
}

}  // namespace
}  // namespace vwr::config
