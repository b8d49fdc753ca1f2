#include "core/wait_model.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/room.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Policy Slots(std::int64_t max_active, double admit_rate = 50) {
  Policy p;
  p.max_active = max_active;
  p.admit_rate = admit_rate;
  p.burst = 10;
  p.session_timeout = seconds(600);
  p.claim_grace = seconds(20);
  return p;
}

// A room on a fake clock whose admitted users stay exactly `session` and whose waiting users
// claim the tick after being called; ticked every 100 ms as the server ticks it.
class Burst {
 public:
  Burst(const Policy& policy, util::Duration session)
      : room_("r", policy, 1, clock_.Now()), session_(session) {}

  void Join(int people) {
    for (int i = 0; i < people; ++i) {
      const TicketOutcome out = room_.Join("", Now());
      if (out.status == TicketStatus::kAdmitted) ends_.push_back({out.ticket, Later()});
      waiting_.push_back(out.ticket);
    }
  }
  void Run(util::Duration total) {
    for (util::Duration t{0}; t < total; t += milliseconds(100)) {
      clock_.Advance(milliseconds(100));
      for (auto it = ends_.begin(); it != ends_.end();) {
        if (it->second <= clock_.Now()) {
          room_.Leave(it->first, Now());
          it = ends_.erase(it);
        } else {
          ++it;
        }
      }
      room_.Tick(Now());
      for (std::uint64_t ticket : waiting_) {
        if (ticket > room_.frontier() || claimed_.count(ticket) > 0) continue;
        if (room_.Poll(ticket, Now()).status == TicketStatus::kAdmitted) {
          claimed_.insert(ticket);
          ends_.push_back({ticket, Later()});
        }
      }
    }
  }
  Room& room() { return room_; }
  util::FakeClock& clock() { return clock_; }
  Instant Now() const { return Instant::From(clock_); }

 private:
  util::TimePoint Later() const { return clock_.Now() + session_; }

  util::FakeClock clock_;
  Room room_;
  util::Duration session_;
  std::vector<std::uint64_t> waiting_;
  std::set<std::uint64_t> claimed_;
  std::vector<std::pair<std::uint64_t, util::TimePoint>> ends_;
};

TEST(WaitModel, NoEstimateWhilePausedOrClosedAndNoneNeededInPassthrough) {
  util::FakeClock clock;
  const WaitModel model(Slots(10), clock.Now());
  EXPECT_EQ(model.Estimate(5, Mode::kPause), std::nullopt);
  EXPECT_EQ(model.Estimate(5, Mode::kReject), std::nullopt);
  EXPECT_EQ(model.Estimate(5, Mode::kPassthrough), WaitEstimate{});
  EXPECT_EQ(model.Estimate(0, Mode::kFifo), WaitEstimate{}) << "nobody ahead";
}

TEST(WaitModel, BeforeAnyTickThePolicySetsThePace) {
  util::FakeClock clock;
  const WaitModel model(Slots(1000, 10), clock.Now());
  EXPECT_EQ(model.curve().basis, WaitBasis::kPolicy);
  const std::optional<WaitEstimate> first = model.Estimate(1, Mode::kFifo);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->eta_seconds, 1) << "never 0 while waiting";
  // 10 of the 200 ride on the budget's burst; the other 190 come at 10/s.
  const std::optional<WaitEstimate> back = model.Estimate(200, Mode::kFifo);
  ASSERT_TRUE(back.has_value());
  EXPECT_NEAR(static_cast<double>(back->eta_seconds), 19.5, 1.0);
  EXPECT_LE(back->low_seconds, back->eta_seconds);
  EXPECT_GE(back->high_seconds, back->eta_seconds);
}

TEST(WaitModel, AdmitRateBindingIsForeseenExactly) {
  Burst burst(Slots(1000, 4), seconds(5));
  burst.Join(400);
  burst.Run(seconds(30));
  // Slots are plenty: calls come at 4/s, whatever the sessions do.
  const std::uint64_t position = 200;
  const std::optional<WaitEstimate> wait = burst.room().EstimateWait(position);
  ASSERT_TRUE(wait.has_value());
  EXPECT_NEAR(static_cast<double>(wait->eta_seconds), 50.0, 1.5);
  EXPECT_GE(wait->low_seconds, 45);
  EXPECT_LE(wait->high_seconds, 56) << "the budget is exact: a narrow range";
}

TEST(WaitModel, ColdUntilASessionEndsThenLearnsHowLongSlotsStayTaken) {
  Burst burst(Slots(20), seconds(5));
  burst.Join(300);
  burst.Run(seconds(3));
  const WaitModel& model = burst.room().wait_model();
  EXPECT_EQ(model.curve().basis, WaitBasis::kPolicy) << "nobody has left yet";
  const std::optional<WaitEstimate> cold = burst.room().EstimateWait(200);
  ASSERT_TRUE(cold.has_value());
  EXPECT_GE(cold->high_seconds, 3 * cold->low_seconds) << "a guess says so with a wide range";

  burst.Run(seconds(40));
  EXPECT_EQ(model.curve().basis, WaitBasis::kObserved);
  // Each slot: 5 s of session after a claim the tick after its call.
  EXPECT_NEAR(model.mean_holding_seconds(), 5.1, 0.3);
  // 20 slots turning over every 5.1 s: 100 places back is about 25 s away.
  const std::optional<WaitEstimate> warm = burst.room().EstimateWait(100);
  ASSERT_TRUE(warm.has_value());
  EXPECT_NEAR(static_cast<double>(warm->eta_seconds), 100 * 5.1 / 20, 3.0);
  EXPECT_LE(warm->low_seconds, 25);
  EXPECT_GE(warm->high_seconds, 26);
  EXPECT_LT(warm->high_seconds - warm->low_seconds, 25) << "narrower once learned";
}

TEST(WaitModel, ASlotTakenAndGivenUpBetweenTwoTicksIsLearned) {
  // Two people let in and one gone again before the room's first tick: the tick sees one more
  // end than there were occupants at the last tick. That end is a session too, a young one.
  util::FakeClock clock;
  Room room("r", Slots(2), 1, clock.Now());
  const Instant now = Instant::From(clock);
  const TicketOutcome first = room.Join("", now);
  ASSERT_EQ(first.status, TicketStatus::kAdmitted);
  ASSERT_EQ(room.Join("", now).status, TicketStatus::kAdmitted);
  ASSERT_EQ(room.Join("", now).status, TicketStatus::kWaiting);
  ASSERT_TRUE(room.Leave(first.ticket, now));
  clock.Advance(milliseconds(100));
  room.Tick(Instant::From(clock));
  EXPECT_EQ(room.wait_model().curve().basis, WaitBasis::kObserved);
  EXPECT_LT(room.wait_model().mean_holding_seconds(), 60.0);
}

TEST(WaitModel, RaisingMaxActiveSpeedsTheEstimateAtTheNextTick) {
  Burst burst(Slots(20), seconds(5));
  burst.Join(600);
  burst.Run(seconds(40));
  const std::int64_t before = burst.room().EstimateWait(400)->eta_seconds;
  Policy wider = Slots(40);
  burst.room().SetPolicy(wider);
  burst.Run(milliseconds(100));
  const std::int64_t after = burst.room().EstimateWait(400)->eta_seconds;
  // Twice the slots at the same holding: about half the wait, at once (not over a minute).
  EXPECT_NEAR(static_cast<double>(after), static_cast<double>(before) / 2,
              0.15 * static_cast<double>(before));
}

TEST(WaitModel, LearnsFromFiguresAloneAsASharedStoreNodeDoes) {
  // A node sees only the room's figures at its own ticks: here a room whose 10 slots each turn
  // over every 4 s (one cohort of 10 ends and 10 new calls every 4 s), observed every 100 ms.
  util::FakeClock clock;
  const Policy policy = Slots(10);
  WaitModel node(policy, clock.Now());
  RoomShape shape;
  shape.last_issued = 1000;
  shape.active = 10;
  for (int tick = 1; tick <= 600; ++tick) {
    clock.Advance(milliseconds(100));
    if (tick % 40 == 0) {
      shape.counters.leaves += 10;
      shape.frontier += 10;
      shape.counters.admissions += 10;
    }
    shape.waiting = shape.last_issued - shape.frontier;
    node.Observe(clock.Now(), policy, shape);
  }
  EXPECT_EQ(node.curve().basis, WaitBasis::kObserved);
  EXPECT_NEAR(node.mean_holding_seconds(), 4.0, 0.3);
  // 100 places: ten turnovers of the 10 slots.
  EXPECT_NEAR(static_cast<double>(node.Estimate(100, Mode::kFifo)->eta_seconds), 40.0, 4.0);
}

TEST(WaitModel, CountersThatGoBackStartAfresh) {
  util::FakeClock clock;
  const Policy policy = Slots(10);
  WaitModel node(policy, clock.Now());
  RoomShape shape;
  shape.last_issued = 500;
  shape.active = 10;
  for (int tick = 1; tick <= 300; ++tick) {
    clock.Advance(milliseconds(100));
    if (tick % 40 == 0) {
      shape.counters.leaves += 10;
      shape.frontier += 10;
    }
    shape.waiting = shape.last_issued - shape.frontier;
    node.Observe(clock.Now(), policy, shape);
  }
  ASSERT_EQ(node.curve().basis, WaitBasis::kObserved);
  // The room's state began anew (a new incarnation): its history says nothing any more.
  clock.Advance(milliseconds(100));
  RoomShape anew;
  anew.last_issued = 5;
  anew.waiting = 5;
  anew.active = 10;
  node.Observe(clock.Now(), policy, anew);
  EXPECT_EQ(node.curve().basis, WaitBasis::kPolicy);
}

TEST(WaitModel, PlacesGivenBackArePassedOverWithoutACall) {
  util::FakeClock clock;
  const Policy policy = Slots(1000, 10);
  WaitModel model(policy, clock.Now());
  RoomShape shape;
  shape.last_issued = 200;
  shape.waiting = 100;  // half the places ahead were given back
  clock.Advance(milliseconds(100));
  model.Observe(clock.Now(), policy, shape);
  WaitModel full(policy, clock.Now());
  shape.waiting = 200;
  full.Observe(clock.Now(), policy, shape);
  const std::int64_t thinned = model.Estimate(200, Mode::kFifo)->eta_seconds;
  const std::int64_t whole = full.Estimate(200, Mode::kFifo)->eta_seconds;
  EXPECT_NEAR(static_cast<double>(thinned), static_cast<double>(whole) / 2, 2.0);
}

TEST(WaitModel, NoShowsHoldTheirSlotForTheClaimGrace) {
  // Every other call is never claimed: its slot stays taken for the grace (10 s) where a
  // session holds it 2 s. The model must learn the mix, not the sessions alone.
  util::FakeClock clock;
  Policy policy = Slots(10);
  policy.claim_grace = seconds(10);
  Room room("r", policy, 1, clock.Now());
  std::vector<std::pair<std::uint64_t, util::TimePoint>> ends;
  std::vector<std::uint64_t> line;
  for (int i = 0; i < 400; ++i) {
    const TicketOutcome out = room.Join("", Instant::From(clock));
    if (out.status == TicketStatus::kAdmitted) {
      ends.push_back({out.ticket, clock.Now() + seconds(2)});
    } else {
      line.push_back(out.ticket);
    }
  }
  std::set<std::uint64_t> settled;
  for (int tick = 0; tick < 1200; ++tick) {
    clock.Advance(milliseconds(100));
    const Instant now = Instant::From(clock);
    for (auto it = ends.begin(); it != ends.end();) {
      if (it->second <= clock.Now()) {
        room.Leave(it->first, now);
        it = ends.erase(it);
      } else {
        ++it;
      }
    }
    room.Tick(now);
    for (std::uint64_t ticket : line) {
      if (ticket > room.frontier() || settled.count(ticket) > 0) continue;
      settled.insert(ticket);
      if (ticket % 2 == 0) continue;  // a no-show
      room.Poll(ticket, now);
      ends.push_back({ticket, clock.Now() + seconds(2)});
    }
  }
  ASSERT_GT(room.counters().no_shows, 50u);
  // Half the slots held 2 s, half 10 s: 6 s on average (sessions alone would say 2). Which
  // call was a no-show is not in the figures, only how many there were: within 15 %.
  EXPECT_NEAR(room.wait_model().mean_holding_seconds(), 6.0, 0.9);
}

TEST(EstimateWait, ReadsTheCurveAndKeepsTheRangeInOrder) {
  WaitCurve c;
  c.calls_per_knot = 10;  // knots at 0, 10, ..., 160 calls
  for (std::size_t i = 0; i <= WaitCurve::kKnots; ++i) {
    c.seconds[i] = 2.0 * static_cast<double>(i);  // 5 calls a second
    c.low_seconds[i] = 1.5 * static_cast<double>(i);
    c.high_seconds[i] = 3.0 * static_cast<double>(i);
  }
  c.seconds_per_call = 0.2;
  c.low_seconds_per_call = 0.15;
  c.high_seconds_per_call = 0.3;
  c.claim_lag_seconds = 0.5;
  // 51 calls: 10.2 s to the call and half a second to the claim; the range 7.65 .. 15.3 s.
  EXPECT_EQ(EstimateWait(c, 51, Mode::kFifo), (WaitEstimate{11, 7, 16}));
  // Beyond the last knot: straight on (32 s for 160 calls, 0.2 s for each of 101 more).
  EXPECT_EQ(EstimateWait(c, 261, Mode::kFifo)->eta_seconds, 53);
  // Half the places given back: half the calls.
  c.people_per_position = 0.5;
  EXPECT_EQ(EstimateWait(c, 101, Mode::kFifo)->eta_seconds, 11);
  // A curve read while a tick rewrote it may be out of order: the answer never is.
  c.low_seconds.fill(100);
  const WaitEstimate mixed = *EstimateWait(c, 51, Mode::kFifo);
  EXPECT_LE(mixed.low_seconds, mixed.eta_seconds);
  EXPECT_GE(mixed.high_seconds, mixed.eta_seconds);
  // Nothing is moving: no number rather than an absurd one.
  c.seconds_per_call = 1e12;
  EXPECT_EQ(EstimateWait(c, 1000, Mode::kFifo), std::nullopt);
}

}  // namespace
}  // namespace vwr::core
