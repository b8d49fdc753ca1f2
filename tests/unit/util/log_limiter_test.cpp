#include "util/log_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

namespace vwr::util {
namespace {

using std::chrono::milliseconds;

TEST(LogLimiter, LetsAFewLinesThroughEachSecondAndCountsTheRest) {
  util::FakeClock clock;
  LogLimiter log(clock, 2);
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(log.Allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(log.Allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(log.Allow(suppressed));

  clock.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(log.Allow(suppressed));
  EXPECT_EQ(suppressed, 5u);  // the next line reports what was held back
  EXPECT_TRUE(log.Allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(log.Allow(suppressed));
}

TEST(LogLimiter, AFloodLogsAtTheConfiguredRate) {
  util::FakeClock clock;
  LogLimiter log(clock, 1);
  int written = 0;
  std::uint64_t reported = 0;
  for (int i = 0; i < 10'000; ++i) {  // one failure per millisecond for 10 s
    std::uint64_t suppressed = 0;
    if (log.Allow(suppressed)) {
      ++written;
      reported += suppressed;
    }
    clock.Advance(milliseconds(1));
  }
  EXPECT_LE(written, 11);
  EXPECT_GE(written, 10);
  // Every failure is written or counted in a later line, except those after the last line.
  const std::uint64_t accounted = reported + static_cast<std::uint64_t>(written);
  EXPECT_LE(accounted, 10'000u);
  EXPECT_GE(accounted, 9'000u);
}

}  // namespace
}  // namespace vwr::util
