#include "core/room.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A room on a fake clock, ticked the way the server ticks it.
class RoomTest : public ::testing::Test {
 protected:
  Policy MakePolicy() {
    Policy p;
    p.max_active = 5;
    p.admit_rate = 10;
    p.burst = 5;
    p.session_timeout = seconds(60);
    p.claim_grace = seconds(20);
    return p;
  }

  Instant Now() const { return Instant::From(clock_); }

  void Start(const Policy& p) { room_.emplace("r", p, 7, clock_.Now()); }

  // Advances the clock in tick-sized steps, ticking the room at each.
  void Run(util::Duration total, util::Duration tick = milliseconds(100)) {
    for (util::Duration t{0}; t < total; t += tick) {
      clock_.Advance(tick);
      room_->Tick(Now());
    }
  }

  TicketOutcome Join(std::string_view id = "") { return room_->Join(id, Now()); }
  TicketOutcome Poll(std::uint64_t n) { return room_->Poll(n, Now()); }

  util::FakeClock clock_;
  std::optional<Room> room_;
};

TEST_F(RoomTest, AdmitsImmediatelyUpToMaxActiveThenQueues) {
  Policy p = MakePolicy();
  p.burst = 100;  // only max_active limits here
  Start(p);
  for (int i = 1; i <= 5; ++i) {
    TicketOutcome out = Join();
    EXPECT_EQ(out.status, TicketStatus::kAdmitted) << i;
    EXPECT_EQ(out.ticket, static_cast<std::uint64_t>(i));
    ASSERT_NE(out.session, nullptr);
  }
  TicketOutcome sixth = Join();
  EXPECT_EQ(sixth.status, TicketStatus::kWaiting);
  EXPECT_EQ(sixth.ticket, 6u);
  EXPECT_EQ(room_->active(), 5);
  EXPECT_EQ(room_->waiting(), 1u);
  EXPECT_EQ(room_->counters().immediate, 5u);
}

TEST_F(RoomTest, ImmediateAdmissionRespectsRateBudget) {
  Policy p = MakePolicy();
  p.burst = 2;
  p.max_active = 100;
  Start(p);
  EXPECT_EQ(Join().status, TicketStatus::kAdmitted);
  EXPECT_EQ(Join().status, TicketStatus::kAdmitted);
  EXPECT_EQ(Join().status, TicketStatus::kWaiting);
}

TEST_F(RoomTest, NoImmediateAdmissionWhileOthersWait) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  TicketOutcome first = Join();
  ASSERT_EQ(first.status, TicketStatus::kAdmitted);
  TicketOutcome second = Join();
  ASSERT_EQ(second.status, TicketStatus::kWaiting);
  ASSERT_TRUE(room_->Leave(first.ticket, Now()));
  // A slot is free, but someone is waiting: the newcomer must not jump the line.
  TicketOutcome third = Join();
  EXPECT_EQ(third.status, TicketStatus::kWaiting);
  EXPECT_EQ(third.ticket, 3u);
}

TEST_F(RoomTest, FifoOrder) {
  Policy p = MakePolicy();
  p.max_active = 1;
  p.burst = 1;
  Start(p);
  std::vector<std::uint64_t> tickets;
  for (int i = 0; i < 4; ++i) tickets.push_back(Join().ticket);
  ASSERT_EQ(Poll(tickets[0]).status, TicketStatus::kAdmitted);
  for (std::size_t next = 1; next < tickets.size(); ++next) {
    // Everyone behind `next` is still waiting, whatever they do.
    Run(seconds(1));
    for (std::size_t later = next + 1; later < tickets.size(); ++later) {
      EXPECT_EQ(Poll(tickets[later]).status, TicketStatus::kWaiting);
    }
    EXPECT_EQ(Poll(tickets[next]).status, TicketStatus::kWaiting) << "slot still taken";
    ASSERT_TRUE(room_->Leave(tickets[next - 1], Now()));
    Run(milliseconds(200));
    EXPECT_EQ(Poll(tickets[next]).status, TicketStatus::kAdmitted) << next;
  }
}

TEST_F(RoomTest, RateLimitAdmitsExactlyTheConfiguredRate) {
  Policy p = MakePolicy();
  p.max_active = 1'000'000;
  p.admit_rate = 50;
  p.burst = 1;
  Start(p);
  for (int i = 0; i < 1000; ++i) Join();
  Run(seconds(10));
  const std::uint64_t called = room_->frontier();
  EXPECT_NEAR(static_cast<double>(called), 500.0, 5.0);
}

TEST_F(RoomTest, RateIsExactWhateverTheTickPeriodAndBurst) {
  for (auto tick : {milliseconds(10), milliseconds(100), milliseconds(250), milliseconds(1000)}) {
    for (std::int64_t burst : {1, 10, 1000}) {
      Policy p = MakePolicy();
      p.max_active = 1'000'000;
      p.admit_rate = 37;
      p.burst = burst;
      Start(p);
      for (int i = 0; i < 2000; ++i) Join();
      const std::uint64_t start = room_->frontier();  // the initial burst
      Run(seconds(20), tick);
      EXPECT_NEAR(static_cast<double>(room_->frontier() - start), 740.0, 2.0)
          << "tick " << tick.count() << "ms burst " << burst;
    }
  }
}

TEST_F(RoomTest, BurstOneAdmitsEvenly) {
  Policy p = MakePolicy();
  p.max_active = 1'000'000;
  p.admit_rate = 50;
  p.burst = 1;
  Start(p);
  for (int i = 0; i < 1000; ++i) Join();
  Run(seconds(1));
  for (int i = 0; i < 20; ++i) {
    const std::uint64_t before = room_->frontier();
    Run(milliseconds(100));
    EXPECT_EQ(room_->frontier() - before, 5u);
  }
}

TEST_F(RoomTest, IdleBudgetAccumulatesOnlyUpToBurst) {
  Policy p = MakePolicy();
  p.max_active = 1'000'000;
  p.admit_rate = 10;
  p.burst = 3;
  Start(p);
  Run(seconds(60));  // nobody around: the budget stays at burst
  int admitted = 0;
  for (int i = 0; i < 20; ++i) admitted += Join().status == TicketStatus::kAdmitted;
  EXPECT_EQ(admitted, 3);
}

TEST_F(RoomTest, MaxActiveBoundsTheAdvance) {
  Policy p = MakePolicy();
  p.max_active = 3;
  p.admit_rate = 1000;
  p.burst = 1000;
  Start(p);
  for (int i = 0; i < 10; ++i) Join();
  Run(seconds(5));
  EXPECT_EQ(room_->active() + room_->called_unclaimed(), 3);
  EXPECT_EQ(room_->frontier(), 3u);
}

TEST_F(RoomTest, ClaimIsExactlyOnceAndIdempotent) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  TicketOutcome a = Join();
  TicketOutcome b = Join();
  ASSERT_EQ(b.status, TicketStatus::kWaiting);
  room_->Leave(a.ticket, Now());
  Run(milliseconds(100));
  EXPECT_EQ(room_->called_unclaimed(), 1);
  TicketOutcome first = Poll(b.ticket);
  ASSERT_EQ(first.status, TicketStatus::kAdmitted);
  const std::int64_t admitted_at = first.session->admitted_unix_ms;
  clock_.Advance(seconds(3));
  TicketOutcome again = Poll(b.ticket);
  ASSERT_EQ(again.status, TicketStatus::kAdmitted);
  EXPECT_EQ(again.session->ticket, b.ticket);
  EXPECT_EQ(again.session->admitted_unix_ms, admitted_at);
  EXPECT_EQ(room_->active(), 1);
  EXPECT_EQ(room_->called_unclaimed(), 0);
  EXPECT_EQ(room_->counters().admissions, 2u);
}

TEST_F(RoomTest, NoShowReturnsSlotAfterClaimGrace) {
  Policy p = MakePolicy();
  p.max_active = 1;
  p.claim_grace = seconds(20);
  Start(p);
  TicketOutcome a = Join();
  TicketOutcome b = Join();
  TicketOutcome c = Join();
  room_->Leave(a.ticket, Now());
  Run(milliseconds(100));  // b is called
  EXPECT_EQ(room_->called_unclaimed(), 1);
  Run(seconds(19));
  EXPECT_EQ(Poll(c.ticket).status, TicketStatus::kWaiting) << "b's slot is still held";
  Run(seconds(1) + milliseconds(100));
  EXPECT_EQ(room_->counters().no_shows, 1u);
  EXPECT_EQ(Poll(b.ticket).status, TicketStatus::kExpired);
  EXPECT_EQ(Poll(c.ticket).status, TicketStatus::kAdmitted);
}

TEST_F(RoomTest, LateClaimBeforeTickStillExpires) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  TicketOutcome a = Join();
  TicketOutcome b = Join();
  room_->Leave(a.ticket, Now());
  Run(milliseconds(100));
  clock_.Advance(seconds(21));  // no tick in between
  EXPECT_EQ(Poll(b.ticket).status, TicketStatus::kExpired);
  EXPECT_EQ(room_->called_unclaimed(), 0);
}

TEST_F(RoomTest, IdleSessionExpiresAndHeartbeatKeepsItAlive) {
  Policy p = MakePolicy();
  p.session_timeout = seconds(60);
  Start(p);
  TicketOutcome idle = Join();
  TicketOutcome busy = Join();
  for (int i = 0; i < 5; ++i) {
    Run(seconds(20));
    ASSERT_TRUE(room_->Heartbeat(busy.ticket, Now()));
  }
  EXPECT_EQ(room_->FindSession(idle.ticket), nullptr);
  EXPECT_NE(room_->FindSession(busy.ticket), nullptr);
  EXPECT_EQ(room_->counters().expired_sessions, 1u);
  EXPECT_FALSE(room_->Heartbeat(idle.ticket, Now()));
  EXPECT_EQ(Poll(idle.ticket).status, TicketStatus::kExpired);
}

TEST_F(RoomTest, LeaveFreesSlotAtOnce) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  TicketOutcome a = Join();
  TicketOutcome b = Join();
  EXPECT_TRUE(room_->Leave(a.ticket, Now()));
  EXPECT_FALSE(room_->Leave(a.ticket, Now()));
  EXPECT_EQ(room_->active(), 0);
  Run(milliseconds(100));
  EXPECT_EQ(Poll(b.ticket).status, TicketStatus::kAdmitted);
  EXPECT_EQ(room_->counters().leaves, 1u);
}

TEST_F(RoomTest, LeaveAllEndsEverySessionAndTheLineStays) {
  Policy p = MakePolicy();
  p.max_active = 2;
  Start(p);
  const TicketOutcome a = Join();
  const TicketOutcome b = Join();
  const TicketOutcome bypass = room_->Admit("pass", Now());
  const TicketOutcome waiting = Join();
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);
  EXPECT_EQ(room_->LeaveAll(Now()), 3u);
  EXPECT_EQ(room_->active(), 0);
  EXPECT_EQ(room_->counters().leaves, 3u);
  for (std::uint64_t ended : {a.ticket, b.ticket, bypass.ticket}) {
    EXPECT_EQ(room_->FindSession(ended), nullptr);
  }
  EXPECT_EQ(room_->waiting(), 1u) << "the line is not a session";
  EXPECT_EQ(room_->LeaveAll(Now()), 0u);
  Run(milliseconds(100));
  EXPECT_EQ(Poll(waiting.ticket).status, TicketStatus::kAdmitted);
}

TEST_F(RoomTest, PositionsNeverIncrease) {
  Policy p = MakePolicy();
  p.max_active = 10;
  p.admit_rate = 3;
  p.burst = 1;
  p.session_timeout = seconds(2);
  Start(p);
  std::vector<std::uint64_t> tickets;
  for (int i = 0; i < 200; ++i) tickets.push_back(Join().ticket);
  std::vector<std::uint64_t> last(tickets.size(), UINT64_MAX);
  for (int step = 0; step < 300; ++step) {
    Run(milliseconds(100));
    if (step % 7 == 0) Join();  // newcomers never push anyone back
    for (std::size_t i = 0; i < tickets.size(); ++i) {
      if (tickets[i] <= room_->frontier()) continue;
      const std::uint64_t position = tickets[i] - room_->frontier();
      EXPECT_LE(position, last[i]);
      last[i] = position;
    }
  }
}

TEST_F(RoomTest, SameUserKeepsTicket) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  Join("someone-else");
  TicketOutcome first = Join("alice");
  ASSERT_EQ(first.status, TicketStatus::kWaiting);
  Join("bob");
  TicketOutcome again = Join("alice");
  EXPECT_EQ(again.status, TicketStatus::kWaiting);
  EXPECT_EQ(again.ticket, first.ticket);
  EXPECT_EQ(again.frontier_at_join, first.frontier_at_join);
  EXPECT_EQ(room_->last_issued(), 3u);
}

TEST_F(RoomTest, SameUserAdmittedGetsSameSession) {
  Start(MakePolicy());
  TicketOutcome first = Join("alice");
  ASSERT_EQ(first.status, TicketStatus::kAdmitted);
  TicketOutcome again = Join("alice");
  ASSERT_EQ(again.status, TicketStatus::kAdmitted);
  EXPECT_EQ(again.ticket, first.ticket);
  EXPECT_EQ(again.frontier_at_join, first.frontier_at_join) << "same ticket, same initial place";
  EXPECT_EQ(first.frontier_at_join, first.ticket) << "admitted at once: nobody was ahead";
  EXPECT_EQ(room_->active(), 1);
}

TEST_F(RoomTest, SameUserAfterExpiryGetsNewTicket) {
  Policy p = MakePolicy();
  p.session_timeout = seconds(5);
  Start(p);
  TicketOutcome first = Join("alice");
  Run(seconds(6));
  TicketOutcome again = Join("alice");
  EXPECT_NE(again.ticket, first.ticket);
  EXPECT_EQ(again.status, TicketStatus::kAdmitted);
}

TEST_F(RoomTest, CalledUserRejoiningClaims) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  TicketOutcome a = Join();
  TicketOutcome alice = Join("alice");
  room_->Leave(a.ticket, Now());
  Run(milliseconds(100));
  TicketOutcome again = Join("alice");
  EXPECT_EQ(again.status, TicketStatus::kAdmitted);
  EXPECT_EQ(again.ticket, alice.ticket);
}

TEST_F(RoomTest, PassthroughAdmitsEveryoneAndCounts) {
  Policy p = MakePolicy();
  p.mode = Mode::kPassthrough;
  p.max_active = 2;
  Start(p);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Join().status, TicketStatus::kAdmitted);
  EXPECT_EQ(room_->active(), 50);
  EXPECT_EQ(room_->waiting(), 0u);
}

TEST_F(RoomTest, SwitchToPassthroughCallsEveryoneWaiting) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  Join();
  TicketOutcome waiting = Join();
  p.mode = Mode::kPassthrough;
  room_->SetPolicy(p);
  Run(milliseconds(100));
  EXPECT_EQ(Poll(waiting.ticket).status, TicketStatus::kAdmitted);
}

TEST_F(RoomTest, RejectModeRefusesJoinsAndWaitingTickets) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  TicketOutcome admitted = Join();
  TicketOutcome waiting = Join();
  p.mode = Mode::kReject;
  room_->SetPolicy(p);
  TicketOutcome refused = Join();
  EXPECT_EQ(refused.status, TicketStatus::kRejected);
  EXPECT_EQ(refused.ticket, 0u);
  EXPECT_EQ(Poll(waiting.ticket).status, TicketStatus::kRejected);
  EXPECT_EQ(Poll(admitted.ticket).status, TicketStatus::kAdmitted) << "sessions continue";
  EXPECT_EQ(room_->counters().rejected, 1u);
  p.mode = Mode::kFifo;
  room_->SetPolicy(p);
  EXPECT_EQ(Poll(waiting.ticket).status, TicketStatus::kWaiting) << "reopening keeps places";
}

TEST_F(RoomTest, PauseQueuesButAdmitsNobody) {
  Policy p = MakePolicy();
  p.mode = Mode::kPause;
  Start(p);
  TicketOutcome a = Join();
  EXPECT_EQ(a.status, TicketStatus::kWaiting);
  Run(seconds(10));
  EXPECT_EQ(room_->frontier(), 0u);
  EXPECT_EQ(room_->NewcomerWaitSeconds(), std::nullopt);
  p.mode = Mode::kFifo;
  room_->SetPolicy(p);
  Run(milliseconds(100));
  EXPECT_EQ(Poll(a.ticket).status, TicketStatus::kAdmitted);
}

TEST_F(RoomTest, QueueLimitAnswersFull) {
  Policy p = MakePolicy();
  p.max_active = 1;
  p.queue_limit = 3;
  Start(p);
  Join();  // admitted
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Join().status, TicketStatus::kWaiting);
  TicketOutcome full = Join();
  EXPECT_EQ(full.status, TicketStatus::kFull);
  EXPECT_EQ(full.ticket, 0u);
  EXPECT_EQ(room_->last_issued(), 4u);
  EXPECT_EQ(room_->counters().full, 1u);
}

TEST_F(RoomTest, EstimateFollowsObservedThroughput) {
  Policy p = MakePolicy();
  p.max_active = 1'000'000;
  p.admit_rate = 20;
  p.burst = 1;
  p.session_timeout = std::chrono::hours(1);  // nobody leaves and nobody is a no-show here
  p.claim_grace = std::chrono::hours(1);
  Start(p);
  for (int i = 0; i < 5000; ++i) Join();
  EXPECT_DOUBLE_EQ(room_->advance_rate(), 20.0) << "no history: the configured rate";
  Run(seconds(30));
  EXPECT_NEAR(room_->advance_rate(), 20.0, 0.5);
  // max_active now binds: only what leaves can enter, and the estimate must follow.
  p.max_active = static_cast<std::int64_t>(room_->active() + room_->called_unclaimed());
  room_->SetPolicy(p);
  Run(seconds(120));
  EXPECT_LT(room_->advance_rate(), 2.0);
}

TEST_F(RoomTest, AdmitAdmitsAtOnceWhateverTheLimits) {
  Policy p = MakePolicy();
  p.max_active = 1;
  p.queue_limit = 1;
  Start(p);
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  const TicketOutcome waiting = Join("alice");
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);
  ASSERT_EQ(Join().status, TicketStatus::kFull);

  // Full, a line, the queue limit reached: admitted all the same, from the bypass range.
  const TicketOutcome first = room_->Admit("vip", Now());
  EXPECT_EQ(first.status, TicketStatus::kAdmitted);
  EXPECT_EQ(first.ticket, kBypassTicketBase + 1);
  EXPECT_EQ(first.frontier_at_join, first.ticket) << "nobody ahead: initialPosition 0";
  ASSERT_NE(first.session, nullptr);
  EXPECT_EQ(first.session->identity, "vip");
  EXPECT_EQ(first.session->admitted_unix_ms, Now().unix_ms);

  for (const Mode mode : {Mode::kReject, Mode::kPause, Mode::kFifo}) {
    Policy closed = p;
    closed.mode = mode;
    closed.admit_rate = 0;
    closed.burst = 0;
    room_->SetPolicy(closed);
    EXPECT_EQ(room_->Admit("", Now()).status, TicketStatus::kAdmitted) << ModeName(mode);
  }
  EXPECT_EQ(room_->active(), 5) << "each is a session like any other";
  EXPECT_EQ(room_->bypass_issued(), 4u);
  // The line is as it was.
  EXPECT_EQ(room_->last_issued(), 2u);
  EXPECT_EQ(room_->frontier(), 1u);
  EXPECT_EQ(room_->waiting(), 1u);
  const RoomCounters& c = room_->counters();
  EXPECT_EQ(c.bypass, 4u);
  EXPECT_EQ(c.admissions, 1u) << "bypass admissions are counted apart";
  EXPECT_EQ(c.joins, 2u);
}

TEST_F(RoomTest, ABypassSessionTakesAPlaceInMaxActive) {
  Policy p = MakePolicy();
  p.max_active = 2;
  Start(p);
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  const TicketOutcome bypass = room_->Admit("", Now());
  const TicketOutcome next = Join();
  EXPECT_EQ(next.status, TicketStatus::kWaiting) << "the bypass session holds the second place";
  Run(seconds(1));
  EXPECT_EQ(Poll(next.ticket).status, TicketStatus::kWaiting);
  ASSERT_TRUE(room_->Leave(bypass.ticket, Now()));
  Run(milliseconds(100));
  EXPECT_EQ(Poll(next.ticket).status, TicketStatus::kAdmitted) << "its leave frees the place";
}

TEST_F(RoomTest, ABypassSessionHeartbeatsPollsAndLeaves) {
  Start(MakePolicy());
  const TicketOutcome a = room_->Admit("", Now());
  clock_.Advance(seconds(30));
  EXPECT_TRUE(room_->Heartbeat(a.ticket, Now()));
  const TicketOutcome polled = Poll(a.ticket);
  EXPECT_EQ(polled.status, TicketStatus::kAdmitted);
  ASSERT_NE(polled.session, nullptr);
  EXPECT_EQ(polled.session->admitted_unix_ms, a.session->admitted_unix_ms);
  EXPECT_TRUE(room_->Leave(a.ticket, Now()));
  EXPECT_FALSE(room_->Leave(a.ticket, Now()));
  EXPECT_FALSE(room_->Heartbeat(a.ticket, Now()));
  EXPECT_EQ(Poll(a.ticket).status, TicketStatus::kExpired);
  EXPECT_EQ(room_->active(), 0);
  EXPECT_EQ(room_->counters().leaves, 1u);
  EXPECT_EQ(room_->Admit("", Now()).ticket, a.ticket + 1) << "never reused";
  EXPECT_EQ(Poll(kBypassTicketBase + 9).status, TicketStatus::kExpired) << "never issued";
}

TEST_F(RoomTest, AnIdleBypassSessionExpiresAndHeartbeatsKeepOneAlive) {
  Policy p = MakePolicy();
  p.session_timeout = seconds(60);
  Start(p);
  const TicketOutcome idle = room_->Admit("", Now());
  const TicketOutcome busy = room_->Admit("", Now());
  Run(seconds(50));
  ASSERT_TRUE(room_->Heartbeat(busy.ticket, Now()));
  ASSERT_EQ(Poll(idle.ticket).status, TicketStatus::kAdmitted) << "a poll is activity too";
  Run(seconds(59));
  ASSERT_TRUE(room_->Heartbeat(busy.ticket, Now()));
  EXPECT_NE(room_->FindSession(idle.ticket), nullptr) << "59 s since its poll";
  Run(seconds(2));
  EXPECT_EQ(room_->FindSession(idle.ticket), nullptr);
  EXPECT_NE(room_->FindSession(busy.ticket), nullptr);
  EXPECT_EQ(Poll(idle.ticket).status, TicketStatus::kExpired);
  EXPECT_EQ(room_->counters().expired_sessions, 1u);
  EXPECT_EQ(room_->active(), 1);
}

TEST_F(RoomTest, AdmitLeavesTheIdentitysPlaceInLine) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  Join();
  const TicketOutcome waiting = Join("alice");
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);
  const TicketOutcome pass = room_->Admit("alice", Now());
  EXPECT_EQ(pass.session->identity, "alice");
  const TicketOutcome again = Join("alice");
  EXPECT_EQ(again.status, TicketStatus::kWaiting) << "a join is answered with her place in line";
  EXPECT_EQ(again.ticket, waiting.ticket);
  ASSERT_TRUE(room_->Leave(pass.ticket, Now()));
  EXPECT_EQ(Join("alice").ticket, waiting.ticket) << "the bypass session's end leaves it too";
}

TEST_F(RoomTest, AdmitHoldsOneSessionPerIdentityAtATime) {
  Policy p = MakePolicy();
  p.max_active = 3;
  Start(p);
  // One entry pass replayed many times (its key is the identity): one session, not many.
  const TicketOutcome first = room_->Admit("pass:1", Now());
  for (int i = 0; i < 50; ++i) {
    const TicketOutcome again = room_->Admit("pass:1", Now());
    ASSERT_EQ(again.status, TicketStatus::kAdmitted);
    EXPECT_EQ(again.ticket, first.ticket) << i;
  }
  EXPECT_EQ(room_->active(), 1);
  EXPECT_EQ(room_->counters().bypass, 1u);
  EXPECT_NE(room_->Admit("pass:2", Now()).ticket, first.ticket) << "another identity";
  EXPECT_NE(room_->Admit("", Now()).ticket, room_->Admit("", Now()).ticket)
      << "no identity: nothing to hold one to";
  EXPECT_EQ(room_->active(), 4);

  // Once its session has ended, the identity may have a new one (still one at a time).
  ASSERT_TRUE(room_->Leave(first.ticket, Now()));
  const TicketOutcome next = room_->Admit("pass:1", Now());
  EXPECT_NE(next.ticket, first.ticket);
  EXPECT_EQ(room_->Admit("pass:1", Now()).ticket, next.ticket);
  Run(seconds(61));
  EXPECT_EQ(room_->FindSession(next.ticket), nullptr) << "idle past session_timeout";
  EXPECT_NE(room_->Admit("pass:1", Now()).ticket, next.ticket);
}

TEST_F(RoomTest, AdmitAgainKeepsTheHeldSessionAlive) {
  Policy p = MakePolicy();
  p.session_timeout = seconds(60);
  Start(p);
  const TicketOutcome held = room_->Admit("pass:1", Now());
  Run(seconds(50));
  EXPECT_EQ(room_->Admit("pass:1", Now()).ticket, held.ticket);
  Run(seconds(50));
  EXPECT_NE(room_->FindSession(held.ticket), nullptr) << "the second admit was activity";
}

TEST_F(RoomTest, AWithdrawnPlaceLeavesTheLineAndTakesNoSlot) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  const TicketOutcome holder = Join();
  ASSERT_EQ(holder.status, TicketStatus::kAdmitted);
  const TicketOutcome a = Join("a");
  const TicketOutcome b = Join("b");
  const TicketOutcome c = Join();
  ASSERT_EQ(room_->waiting(), 3u);
  EXPECT_TRUE(room_->Withdraw(a.ticket));
  EXPECT_FALSE(room_->Withdraw(a.ticket)) << "given back once";
  EXPECT_EQ(room_->waiting(), 2u) << "it no longer counts in the line";
  EXPECT_EQ(room_->departed(), 1u);
  EXPECT_EQ(Poll(a.ticket).status, TicketStatus::kExpired);
  EXPECT_EQ(Join("a").ticket, c.ticket + 1) << "its identity holds no place any more";
  // The slot that frees goes to b, the next in line: a is passed over, not called.
  const std::uint64_t b_position_before = b.ticket - room_->frontier();
  ASSERT_TRUE(room_->Leave(holder.ticket, Now()));
  Run(milliseconds(100));
  EXPECT_EQ(room_->called_unclaimed(), 1) << "one call, for b";
  EXPECT_EQ(room_->frontier(), b.ticket);
  EXPECT_LT(b.ticket - room_->frontier(), b_position_before) << "positions only fall";
  EXPECT_EQ(Poll(b.ticket).status, TicketStatus::kAdmitted);
  EXPECT_EQ(room_->departed(), 0u);
  EXPECT_EQ(room_->counters().withdrawn, 1u);
  EXPECT_EQ(room_->counters().no_shows, 0u) << "a place given back is no no-show";
  EXPECT_FALSE(room_->Withdraw(b.ticket)) << "a session is left, not withdrawn";
  EXPECT_FALSE(room_->Withdraw(c.ticket + 100)) << "never issued";
}

TEST_F(RoomTest, PlacesGivenBackAtTheHeadOfTheLineArePassedOverAtOnce) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  Join();
  const TicketOutcome a = Join();
  const TicketOutcome b = Join();
  ASSERT_TRUE(room_->Withdraw(b.ticket));
  ASSERT_TRUE(room_->Withdraw(a.ticket));
  EXPECT_EQ(room_->waiting(), 0u);
  Run(milliseconds(100));
  EXPECT_EQ(room_->frontier(), b.ticket) << "nobody waits for them: no slot was needed";
  EXPECT_EQ(room_->called_unclaimed(), 0);
  EXPECT_EQ(room_->departed(), 0u);
  const TicketOutcome c = Join();
  EXPECT_EQ(c.status, TicketStatus::kWaiting) << "the one slot is still the first's";
  EXPECT_EQ(c.ticket - room_->frontier(), 1u) << "first in line";
}

TEST_F(RoomTest, AWithdrawnCallReturnsItsSlotAtOnce) {
  Policy p = MakePolicy();
  p.max_active = 1;
  p.claim_grace = seconds(20);
  Start(p);
  const TicketOutcome holder = Join();
  const TicketOutcome called = Join();
  const TicketOutcome next = Join();
  ASSERT_TRUE(room_->Leave(holder.ticket, Now()));
  Run(milliseconds(100));
  ASSERT_EQ(room_->called_unclaimed(), 1);
  EXPECT_TRUE(room_->Withdraw(called.ticket));
  EXPECT_EQ(room_->called_unclaimed(), 0);
  Run(milliseconds(100));
  EXPECT_EQ(Poll(next.ticket).status, TicketStatus::kAdmitted)
      << "its slot went on at the next tick, not after claim_grace";
  EXPECT_EQ(Poll(called.ticket).status, TicketStatus::kExpired);
}

TEST_F(RoomTest, LeaveIdentityGivesBackAWaitingPlaceOrEndsASession) {
  Policy p = MakePolicy();
  p.max_active = 1;
  Start(p);
  const TicketOutcome in = Join("in");
  const TicketOutcome waiting = Join("waiting");
  EXPECT_TRUE(room_->LeaveIdentity("waiting", Now()));
  EXPECT_EQ(room_->waiting(), 0u);
  EXPECT_EQ(Poll(waiting.ticket).status, TicketStatus::kExpired);
  EXPECT_TRUE(room_->LeaveIdentity("in", Now()));
  EXPECT_EQ(room_->active(), 0);
  EXPECT_FALSE(room_->LeaveIdentity("in", Now()));
  EXPECT_FALSE(room_->LeaveIdentity("nobody", Now()));
  (void)in;
}

TEST_F(RoomTest, PassthroughAndJoinsCountOnlyThePeopleStillInLine) {
  Policy p = MakePolicy();
  p.max_active = 1;
  p.queue_limit = 2;
  Start(p);
  Join();
  const TicketOutcome a = Join();
  Join();
  EXPECT_EQ(Join().status, TicketStatus::kFull);
  ASSERT_TRUE(room_->Withdraw(a.ticket));
  EXPECT_EQ(Join().status, TicketStatus::kWaiting) << "a place given back is room in the line";
  Policy open = p;
  open.mode = Mode::kPassthrough;
  room_->SetPolicy(open);
  EXPECT_EQ(Join().status, TicketStatus::kAdmitted);
  EXPECT_EQ(room_->waiting(), 0u);
  EXPECT_EQ(room_->called_unclaimed(), 2) << "the two still in line were called, a passed over";
}

TEST_F(RoomTest, TicketsFromAnotherLifeAreExpired) {
  Start(MakePolicy());
  EXPECT_EQ(Poll(42).status, TicketStatus::kExpired);
  EXPECT_EQ(Poll(0).status, TicketStatus::kExpired);
}

}  // namespace
}  // namespace vwr::core
