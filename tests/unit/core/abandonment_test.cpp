// Abandonment on a fake clock: a waiting ticket that stops polling leaves the line's size and
// is passed by the frontier without a slot; one that comes back first keeps its place. Every
// test that moves the line checks that no position ever grows and that admissions are in
// ticket order.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "core/attendance.hpp"
#include "core/room.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AbandonmentTest : public ::testing::Test {
 protected:
  // One place inside, the rest wait: only leaves move the line. pollAfterMs is 10 s (11 s with
  // jitter), so with 2 polls a ticket is abandoned after 22.1 s of silence.
  void Start(std::uint32_t after_polls = 2) {
    Policy p;
    p.max_active = 1;
    p.admit_rate = 100;
    p.burst = 100;
    p.claim_grace = seconds(20);
    p.session_timeout = seconds(600);
    // Every answer tells 10 s: pollAfterMs is clamped to [poll.min, claim_grace / 2].
    p.poll_min = seconds(10);
    p.abandon_after_polls = after_polls;
    room_.emplace("r", p, 7, clock_.Now());
  }
  // An operator's change of abandon_after_polls (the admin policy API).
  void SetAfterPolls(std::uint32_t n) {
    Policy p = room_->policy();
    p.abandon_after_polls = n;
    room_->SetPolicy(p);
  }
  Instant Now() const { return Instant::From(clock_); }
  TicketOutcome Poll(std::uint64_t n) {
    TicketOutcome out = room_->Poll(n, Now());
    if (out.status == TicketStatus::kWaiting) {
      const std::uint64_t position = n - room_->frontier();
      auto [it, first] = positions_.try_emplace(n, position);
      EXPECT_LE(position, it->second) << "position of ticket " << n << " grew";
      it->second = position;
    }
    if (out.status == TicketStatus::kAdmitted && !admitted_set_.contains(n)) {
      if (!admitted_.empty()) {
        EXPECT_GT(n, admitted_.back()) << "admitted out of order";
      }
      admitted_.push_back(n);
      admitted_set_[n] = true;
    }
    return out;
  }
  // Advances `total` in 100 ms ticks; every second, polls the tickets in `polling`.
  void Run(util::Duration total, const std::vector<std::uint64_t>& polling) {
    for (util::Duration t{0}; t < total; t += milliseconds(100)) {
      clock_.Advance(milliseconds(100));
      room_->Tick(Now());
      if ((t / milliseconds(100)) % 10 == 9) {
        for (std::uint64_t n : polling) Poll(n);
      }
    }
  }

  util::FakeClock clock_;
  std::optional<Room> room_;
  std::map<std::uint64_t, std::uint64_t> positions_;
  std::vector<std::uint64_t> admitted_;
  std::map<std::uint64_t, bool> admitted_set_;
};

TEST_F(AbandonmentTest, SilentTicketsLeaveTheLineAndArePassedWithoutASlot) {
  Start();
  ASSERT_EQ(room_->Join("", Now()).status, TicketStatus::kAdmitted);  // ticket 1 inside
  for (int i = 0; i < 5; ++i) ASSERT_EQ(room_->Join("", Now()).status, TicketStatus::kWaiting);
  EXPECT_EQ(room_->waiting(), 5u);
  // 2, 4 and 6 poll every second; 3 and 5 have gone quiet.
  Run(seconds(30), {2, 4, 6});
  EXPECT_EQ(room_->abandoned(), 2u);
  EXPECT_EQ(room_->waiting(), 3u);
  EXPECT_EQ(room_->counters().abandoned, 0u);  // marked, not yet passed

  // Each leave lets exactly one live ticket in; the silent ones take no slot.
  for (std::uint64_t inside : {1u, 2u, 4u}) {
    ASSERT_TRUE(room_->Leave(inside, Now()));
    Run(seconds(1), {2, 4, 6});
    EXPECT_EQ(room_->called_unclaimed() + room_->active(), 1);
  }
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{2, 4, 6}));
  EXPECT_EQ(room_->counters().abandoned, 2u);
  EXPECT_EQ(room_->counters().no_shows, 0u);
  EXPECT_EQ(room_->abandoned(), 0u);
  EXPECT_EQ(room_->Poll(3, Now()).status, TicketStatus::kExpired);
  EXPECT_EQ(room_->Poll(5, Now()).status, TicketStatus::kExpired);
}

TEST_F(AbandonmentTest, AReturningTicketKeepsItsPlace) {
  Start();
  room_->Join("", Now());                              // 1 inside
  for (int i = 0; i < 3; ++i) room_->Join("", Now());  // 2, 3, 4
  Run(seconds(30), {2, 4});
  EXPECT_EQ(room_->abandoned(), 1u);  // 3
  EXPECT_EQ(room_->waiting(), 2u);
  // 3 comes back before its place is reached.
  ASSERT_EQ(Poll(3).status, TicketStatus::kWaiting);
  EXPECT_EQ(room_->abandoned(), 0u);
  EXPECT_EQ(room_->waiting(), 3u);
  for (std::uint64_t inside : {1u, 2u, 3u}) {
    ASSERT_TRUE(room_->Leave(inside, Now()));
    Run(seconds(1), {2, 3, 4});
  }
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(room_->counters().abandoned, 0u);
}

TEST_F(AbandonmentTest, ZeroNeverAbandonsAndPardonsTheMarked) {
  Start(0);
  room_->Join("", Now());
  room_->Join("", Now());
  Run(seconds(120), {});
  EXPECT_EQ(room_->abandoned(), 0u);
  EXPECT_EQ(room_->waiting(), 1u);

  // Turned on: silent 3 is marked (2 polls and stays); turned off again, 3 is present again and
  // is called after 2.
  room_->Join("", Now());  // 3
  SetAfterPolls(2);        // everyone has 2 x poll.max (60 s) from now
  Run(seconds(70), {2});
  EXPECT_EQ(room_->abandoned(), 1u);
  EXPECT_EQ(room_->waiting(), 1u);
  SetAfterPolls(0);
  EXPECT_EQ(room_->abandoned(), 0u);
  EXPECT_EQ(room_->waiting(), 2u);
  ASSERT_TRUE(room_->Leave(1, Now()));
  Run(seconds(1), {2, 3});
  ASSERT_TRUE(room_->Leave(2, Now()));
  Run(seconds(1), {2, 3});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(room_->counters().abandoned, 0u);
}

// The boundary: a poll due by coarse time d is on time at d and late after it.
TEST(Attendance, APollDueAtTheSweepIsOnTimeOneUnitLaterIsNot) {
  util::FakeClock clock;
  Attendance a(clock.Now());
  a.set_after_polls(1);
  a.Expect(1, 50);
  a.Expect(2, 50);
  EXPECT_EQ(a.Sweep(0, 2, 50, 1000, 100), 0u);
  EXPECT_EQ(a.abandoned(), 0u);
  // Ticket 1 polls exactly at the boundary: due by 60 now.
  EXPECT_EQ(a.Renew(1, 60), Attendance::Renewal::kPresent);
  EXPECT_EQ(a.Sweep(0, 2, 51, 1000, 100), 1u);  // 2 is late by one unit
  EXPECT_TRUE(a.Abandoned(2));
  EXPECT_FALSE(a.Abandoned(1));
  EXPECT_EQ(a.Renew(2, 70), Attendance::Renewal::kReturned);
  EXPECT_EQ(a.abandoned(), 0u);
  // Passed by the frontier: a late poll cannot bring it back.
  EXPECT_FALSE(a.Pass(2));
  EXPECT_EQ(a.Renew(2, 80), Attendance::Renewal::kPassed);
  EXPECT_EQ(a.Sweep(2, 2, 1000, 1000, 100), 0u);
  EXPECT_EQ(a.abandoned(), 0u);
}

// Attack: one client holds many places by polling each just often enough. It keeps them only
// while it keeps polling every one of them; one round late and all are passed over without a
// slot, and the honest ticket behind is called next. Nobody's position grows.
TEST_F(AbandonmentTest, HoldingManyPlacesNeedsEveryPollAndLapsesAtOnce) {
  Start();
  room_->Join("", Now());  // 1 inside
  std::vector<std::uint64_t> held;
  for (int i = 0; i < 20; ++i) held.push_back(room_->Join("", Now()).ticket);  // 2..21
  const std::uint64_t honest = room_->Join("", Now()).ticket;                  // 22
  // The holder polls each place every 20 s: inside 2 x 10 s (+10 %), so all are kept.
  for (int round = 0; round < 3; ++round) {
    Run(seconds(20), {honest});
    for (std::uint64_t n : held) ASSERT_EQ(Poll(n).status, TicketStatus::kWaiting);
  }
  EXPECT_EQ(room_->abandoned(), 0u);
  EXPECT_EQ(room_->waiting(), 21u);
  // One round 5 s later than it may be: every held place is marked.
  // They are right behind the frontier, so it passes them at once, without a slot: the honest
  // ticket is next, while the one place inside is still taken.
  Run(seconds(28), {honest});
  EXPECT_EQ(room_->counters().abandoned, 20u);
  EXPECT_EQ(room_->waiting(), 1u);
  EXPECT_EQ(room_->called_unclaimed(), 0);
  EXPECT_EQ(honest - room_->frontier(), 1u);
  ASSERT_TRUE(room_->Leave(1, Now()));
  Run(seconds(1), {honest});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{honest}));
  EXPECT_EQ(room_->counters().abandoned, 20u);
  EXPECT_EQ(room_->counters().no_shows, 0u);
}

// Attack: a ticket polled once every N-1 intervals forever keeps its place and gets no better
// one: it is let in exactly in its turn, after the ticket ahead of it and before the one behind.
TEST_F(AbandonmentTest, PollingEveryNMinusOneIntervalsKeepsThePlaceAndGainsNothing) {
  Start(3);                                            // silent for 3 x 10 s abandons
  room_->Join("", Now());                              // 1 inside
  for (int i = 0; i < 3; ++i) room_->Join("", Now());  // 2, 3 (sparse), 4
  for (int round = 0; round < 10; ++round) {
    Run(seconds(20), {2, 4});  // 2 intervals of silence for 3
    ASSERT_EQ(Poll(3).status, TicketStatus::kWaiting);
    EXPECT_EQ(room_->abandoned(), 0u);
  }
  EXPECT_EQ(room_->waiting(), 3u);
  for (std::uint64_t inside : {1u, 2u, 3u}) {
    ASSERT_TRUE(room_->Leave(inside, Now()));
    Run(seconds(1), {2, 3, 4});
  }
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(room_->counters().abandoned, 0u);
}

// Attack: a flood of joins that never poll costs each tick a bounded amount of work: the sweep
// marks at most kSweepBudget per tick, and the frontier passes at most as many without a call.
TEST_F(AbandonmentTest, AFloodOfSilentJoinsIsMarkedAndPassedInBoundedBatches) {
  Start();
  room_->Join("", Now());  // 1 inside
  const std::uint64_t flood = Room::kSweepBudget + Room::kSweepBudget / 2;
  for (std::uint64_t i = 0; i < flood; ++i) room_->Join("", Now());
  clock_.Advance(seconds(30));  // all of them overdue at once
  room_->Tick(Now());
  EXPECT_EQ(room_->counters().abandoned + room_->abandoned(), Room::kSweepBudget);
  EXPECT_LE(room_->counters().abandoned, Room::kSweepBudget);
  room_->Tick(Now());
  EXPECT_EQ(room_->counters().abandoned + room_->abandoned(), flood);
  EXPECT_EQ(room_->waiting(), 0u);
  EXPECT_EQ(room_->called_unclaimed(), 0);
}

// A restart loses the marks (they are not journalled) but not the passing: the replayed
// frontier passes the abandoned tickets again without calling them.
TEST_F(AbandonmentTest, ReplayPassesAbandonedTicketsAgain) {
  struct Recorder : RoomEventSink {
    std::vector<RoomEvent> events;
    void OnEvent(const RoomEvent& e) override { events.push_back(e); }
  } recorder;
  Start();
  room_->SetEventSink(&recorder);
  room_->Join("", Now());
  for (int i = 0; i < 3; ++i) room_->Join("", Now());  // 2, 3, 4
  Run(seconds(30), {2, 4});
  ASSERT_TRUE(room_->Leave(1, Now()));
  Run(seconds(1), {2, 4});
  ASSERT_TRUE(room_->Leave(2, Now()));
  Run(seconds(1), {2, 4});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{2, 4}));
  room_->SetEventSink(nullptr);

  Room replayed("r", room_->policy(), 7, clock_.Now());
  for (const RoomEvent& e : recorder.events) replayed.Apply(e, Now());
  EXPECT_EQ(replayed.frontier(), room_->frontier());
  EXPECT_EQ(replayed.called_unclaimed(), room_->called_unclaimed());
  EXPECT_EQ(replayed.active(), room_->active());
  EXPECT_EQ(replayed.counters().abandoned, 1u);
}

}  // namespace
}  // namespace vwr::core
