#include "core/pacing.hpp"

#include <gtest/gtest.h>

#include "core/rate_budget.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(EstimateWaitSeconds, PositionOverRate) {
  EXPECT_EQ(EstimateWaitSeconds(100, 10.0, Mode::kFifo), 10);
  EXPECT_EQ(EstimateWaitSeconds(101, 10.0, Mode::kFifo), 11);
  EXPECT_EQ(EstimateWaitSeconds(0, 10.0, Mode::kFifo), 0);
}

TEST(EstimateWaitSeconds, UnknownWhenPausedClosedOrStill) {
  EXPECT_EQ(EstimateWaitSeconds(5, 10.0, Mode::kPause), std::nullopt);
  EXPECT_EQ(EstimateWaitSeconds(5, 10.0, Mode::kReject), std::nullopt);
  EXPECT_EQ(EstimateWaitSeconds(5, 0.0, Mode::kFifo), std::nullopt);
}

TEST(PollAfterMs, GrowsWithEtaWithinBounds) {
  Policy p;  // 1 s .. 30 s, claim grace 20 s caps at 10 s
  EXPECT_EQ(PollAfterMs(0, p, 0.5), 1000);
  EXPECT_EQ(PollAfterMs(50, p, 0.5), 5000);
  EXPECT_EQ(PollAfterMs(10'000, p, 0.5), 10'000) << "never beyond half the claim grace";
  p.claim_grace = seconds(120);
  EXPECT_EQ(PollAfterMs(10'000, p, 0.5), 30'000);
  EXPECT_EQ(PollAfterMs(std::nullopt, p, 0.5), 30'000);
}

TEST(PollAfterMs, JitterIsPlusMinusTenPercent) {
  Policy p;
  p.claim_grace = seconds(120);
  EXPECT_EQ(PollAfterMs(100, p, 0.0), 9000);
  EXPECT_EQ(PollAfterMs(100, p, 0.999999), 11'000);
  EXPECT_EQ(PollAfterMs(0, p, 0.0), 1000) << "never below poll.min";
}

TEST(AdvanceRateEstimator, ConvergesToObservedRate) {
  AdvanceRateEstimator e(100.0);
  for (int i = 0; i < 1200; ++i) e.Observe(1, milliseconds(100));  // 10/s for two minutes
  EXPECT_NEAR(e.rate(), 10.0, 1.0);
  e.Reset(50.0);
  EXPECT_DOUBLE_EQ(e.rate(), 50.0);
}

TEST(RateBudget, StartsFullAndCapsIdleAccumulation) {
  util::FakeClock clock;
  RateBudget b(10.0, 4, clock.Now());
  EXPECT_EQ(b.Available(), 4);
  clock.Advance(seconds(100));
  b.Refill(clock.Now(), false);
  EXPECT_EQ(b.Available(), 4);
}

TEST(RateBudget, KeepsAccrualWhileDemandWaits) {
  util::FakeClock clock;
  RateBudget b(50.0, 1, clock.Now());
  b.Take(1);
  clock.Advance(milliseconds(100));
  b.Refill(clock.Now(), true);
  EXPECT_EQ(b.Available(), 5);
}

}  // namespace
}  // namespace vwr::core
