#include "loadgen/arrivals.hpp"

#include <gtest/gtest.h>

#include "loadgen/scenario.hpp"

namespace vwr::loadgen {
namespace {

using std::chrono::seconds;

std::vector<double> All(ArrivalSchedule s) {
  std::vector<double> out;
  while (auto t = s.Next()) out.push_back(std::chrono::duration<double>(*t).count());
  return out;
}

TEST(Arrivals, BurstIsEveryoneAtOnceScaled) {
  ArrivalSpec spec = *ParseArrivals("burst:100").value;
  const auto times = All(ArrivalSchedule(spec, 0.5, 1, seconds(10), 1));
  ASSERT_EQ(times.size(), 50u);
  for (double t : times) EXPECT_EQ(t, 0);
}

TEST(Arrivals, RampRisesLinearlyThenHolds) {
  ArrivalSpec spec = *ParseArrivals("ramp:10:30:10s").value;
  const auto times = All(ArrivalSchedule(spec, 1, 1, seconds(15), 1));
  // 10 s rising from 10/s to 30/s (mean 20/s), then 5 s at 30/s.
  EXPECT_EQ(times.size(), 200u + 150u);
  std::size_t first_second = 0, last_second = 0;
  for (double t : times) {
    first_second += t < 1;
    last_second += t >= 14;
  }
  EXPECT_EQ(first_second, 11u);  // the rate at 0.5 s: 11/s
  EXPECT_EQ(last_second, 30u);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  EXPECT_LT(times.back(), 15);
}

TEST(Arrivals, PoissonHasTheRightMeanAndIsReproducible) {
  ArrivalSpec spec = *ParseArrivals("poisson:200").value;
  const auto a = All(ArrivalSchedule(spec, 1, 1, seconds(50), 42));
  const auto b = All(ArrivalSchedule(spec, 1, 1, seconds(50), 42));
  EXPECT_EQ(a, b);
  EXPECT_NEAR(static_cast<double>(a.size()), 10000, 400);  // 4 standard deviations
}

TEST(Arrivals, ReplayCarriesFractionsAndPlaysFaster) {
  ArrivalSpec spec;
  spec.kind = ArrivalSpec::Kind::kReplay;
  spec.per_second = {2.5, 2.5, 0, 4};
  const auto times = All(ArrivalSchedule(spec, 1, 2, seconds(100), 1));
  ASSERT_EQ(times.size(), 9u);  // 2, then 3 (with the carried half), then 0, then 4
  EXPECT_LT(times[1], 0.5);     // second 0 of the file is the first half second at speed 2
  EXPECT_GE(times[2], 0.5);
  EXPECT_GE(times[5], 1.5);
  EXPECT_LT(times.back(), 2.0);  // four seconds of file in two
}

TEST(Arrivals, NobodyArrivesAfterTheEnd) {
  ArrivalSpec spec = *ParseArrivals("poisson:100").value;
  const auto times = All(ArrivalSchedule(spec, 1, 1, seconds(2), 1));
  for (double t : times) EXPECT_LT(t, 2);
}

TEST(Arrivals, TheIncidentHourHas300000PeopleMostInTheFirst20Minutes) {
  const auto rows = IncidentArrivals();
  ASSERT_EQ(rows.size(), 3600u);
  double total = 0, first20 = 0, peak = 0;
  std::size_t peak_at = 0;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    total += rows[s];
    if (s < 1200) first20 += rows[s];
    if (rows[s] > peak) peak = rows[s], peak_at = s;
  }
  EXPECT_NEAR(total, 300000, 3000);
  EXPECT_GT(first20 - 1200 * 20000.0 / 3600, 0.97 * 280000);
  EXPECT_LT(peak_at, 60u);
  EXPECT_NEAR(rows[3599], 20000.0 / 3600, 0.5);  // the normal hour's trickle at the end
}

}  // namespace
}  // namespace vwr::loadgen
