#include "control/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "control/time_zone.hpp"

namespace vwr::control {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

std::string Seed() {
  std::string seed;
  for (int i = 0; i < 32; ++i) seed += static_cast<char>(i);
  return seed;
}

TEST(Draw, MatchesThePublishedAlgorithm) {
  // Computed independently with the Python in schedule.hpp.
  EXPECT_EQ(Draw::Commitment(Seed()),
            "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd");
  EXPECT_EQ(Draw::Order(Seed(), "tickets", 1, 10),
            (std::vector<std::uint64_t>{1, 8, 9, 3, 6, 10, 7, 4, 5, 2}));
  EXPECT_EQ(
      Draw::Order(Seed(), "tickets", 1000, 1020),
      (std::vector<std::uint64_t>{1011, 1002, 1000, 1016, 1001, 1009, 1004, 1013, 1005, 1003, 1014,
                                  1017, 1018, 1020, 1010, 1008, 1007, 1012, 1006, 1019, 1015}));
  // Another seed or another room gives another order; the same inputs the same.
  std::string other = Seed();
  other[0] = 1;
  EXPECT_NE(Draw::Order(other, "tickets", 1, 10), Draw::Order(Seed(), "tickets", 1, 10));
  EXPECT_NE(Draw::Order(Seed(), "shop", 1, 10), Draw::Order(Seed(), "tickets", 1, 10));
  auto big = Draw::Order(Seed(), "tickets", 1, 5000);
  ASSERT_EQ(big.size(), 5000u);
  std::sort(big.begin(), big.end());
  EXPECT_EQ(big.front(), 1u);
  EXPECT_EQ(std::adjacent_find(big.begin(), big.end()), big.end()) << "a permutation";
  EXPECT_TRUE(Draw::Order(Seed(), "tickets", 5, 4).empty());
  EXPECT_EQ(FromHex(ToHex(Seed())), Seed());
}

TEST(Schedule, PrequeueThenOpeningOnTimeWithAReproducibleDraw) {
  util::FakeClock clock;
  EventSpec event;
  event.name = "concert";
  event.room = "tickets";
  event.opens_at = clock.WallNow() + minutes(60);
  event.prequeue = minutes(30);
  event.open_max_active = 500;
  event.open_admit_rate = 50;
  event.shuffle = true;
  event.seed = Seed();
  std::vector<std::string> problems;
  auto schedule = Schedule::Build({event}, {"tickets"}, problems);
  ASSERT_TRUE(schedule.has_value());
  core::Policy policy;
  auto tick = [&](util::Duration step) {
    clock.Advance(step);
    auto steps = schedule->Evaluate("tickets", clock.WallNow(), policy);
    for (const auto& s : steps) policy = s.decision.change.AppliedTo(policy);
    return steps;
  };
  // Published before anything happens: the commitment, not the seed.
  auto status = schedule->Status();
  EXPECT_EQ(status[0].phase, "scheduled");
  EXPECT_EQ(status[0].commitment, Draw::Commitment(Seed()));
  EXPECT_TRUE(status[0].seed_hex.empty());

  EXPECT_TRUE(tick(minutes(29) + seconds(59)).empty());
  auto pre = tick(seconds(1));  // T − 30 min
  ASSERT_EQ(pre.size(), 1u);
  EXPECT_EQ(policy.mode, core::Mode::kPause);
  EXPECT_EQ(pre[0].decision.source, DecisionSource::kSchedule);
  EXPECT_NE(pre[0].decision.reason.find("opens in 1800s"), std::string::npos);
  EXPECT_TRUE(tick(minutes(29) + seconds(59)).empty());
  EXPECT_EQ(schedule->Status()[0].phase, "prequeue");
  auto open = tick(seconds(1));  // T
  ASSERT_EQ(open.size(), 1u);
  EXPECT_TRUE(open[0].draw);
  EXPECT_EQ(policy.mode, core::Mode::kFifo);
  EXPECT_EQ(policy.max_active, 500);
  EXPECT_EQ(policy.admit_rate, 50);
  EXPECT_NE(open[0].decision.reason.find(Draw::Commitment(Seed())), std::string::npos);
  // The node draws over the tickets issued before the opening; then the seed is revealed and
  // anyone can check both the commitment and the order.
  const auto order = schedule->Drawn("concert", 1, 10);
  status = schedule->Status();
  EXPECT_EQ(status[0].phase, "open");
  ASSERT_EQ(status[0].seed_hex, ToHex(Seed()));
  EXPECT_EQ(Draw::Commitment(*FromHex(status[0].seed_hex)), status[0].commitment);
  EXPECT_EQ(order, Draw::Order(*FromHex(status[0].seed_hex), "tickets", *status[0].first_ticket,
                               *status[0].last_ticket));
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 8, 9, 3, 6, 10, 7, 4, 5, 2}));
  EXPECT_TRUE(tick(minutes(10)).empty()) << "each moment acts once";
}

TEST(Schedule, AMomentLongPastIsNotReplayedOnStart) {
  util::FakeClock clock;
  EventSpec event;
  event.name = "old";
  event.room = "tickets";
  event.opens_at = clock.WallNow() - minutes(30);
  event.open_max_active = 5;
  std::vector<std::string> problems;
  auto schedule = Schedule::Build({event}, {"tickets"}, problems);
  ASSERT_TRUE(schedule.has_value());
  EXPECT_TRUE(schedule->Evaluate("tickets", clock.WallNow(), core::Policy{}).empty());
  EXPECT_EQ(schedule->Status()[0].phase, "open");
}

TEST(Schedule, OpensAtIsAnRfc3339Time) {
  const auto seoul = ParseTimestamp("2027-03-01T20:00:00+09:00");
  const auto utc = ParseTimestamp("2027-03-01T11:00:00Z");
  ASSERT_TRUE(seoul.has_value());
  EXPECT_EQ(seoul, utc);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(utc->time_since_epoch()).count(),
            DaysFromCivil(2027, 3, 1) * 86400 + 11 * 3600);
  EXPECT_EQ(ParseTimestamp("2027-03-01T11:00:00.250Z"), utc);
  EXPECT_FALSE(ParseTimestamp("2027-03-01T11:00:00"));
  EXPECT_FALSE(ParseTimestamp("2027-02-29T11:00:00Z")) << "not a leap year";
  EXPECT_TRUE(ParseTimestamp("2028-02-29T11:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2027-13-01T11:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2027-03-01 11:00"));
}

TEST(Schedule, ProblemsNameTheEvent) {
  EventSpec event;
  event.name = "x";
  event.room = "nowhere";
  event.shuffle = true;
  std::vector<std::string> problems;
  EXPECT_FALSE(Schedule::Build({event}, {"tickets"}, problems).has_value());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "schedules.x.room: unknown room 'nowhere'");
  EXPECT_EQ(problems[1], "schedules.x.shuffle: the draw needs a secret seed of at least 16 bytes");
}

}  // namespace
}  // namespace vwr::control
