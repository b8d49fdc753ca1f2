// rooms[].session_max: a cap on time inside, counted from admission, that activity does not move;
// on a fake clock.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "core/room.hpp"
#include "unit/core/event_recorder.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using test_support::Recorder;

class SessionMaxTest : public ::testing::Test {
 protected:
  static Policy Capped(milliseconds session_max) {
    Policy p;
    p.max_active = 2;
    p.admit_rate = 100;
    p.burst = 100;
    p.session_timeout = seconds(60);
    p.session_max = session_max;
    return p;
  }
  Instant Now() const { return Instant::From(clock_); }
  void Start(const Policy& p) {
    room_.emplace("r", p, 7, clock_.Now());
    room_->SetEventSink(&events_);
  }
  // `d` in 100 ms ticks, with a heartbeat of every live session in `active` at each.
  void Run(util::Duration d, const std::vector<std::uint64_t>& active = {}) {
    for (util::Duration t{0}; t < d; t += milliseconds(100)) {
      clock_.Advance(milliseconds(100));
      for (std::uint64_t s : active) room_->Heartbeat(s, Now());
      room_->Tick(Now());
    }
  }

  util::FakeClock clock_;
  std::optional<Room> room_;
  Recorder events_;
};

TEST_F(SessionMaxTest, AnActiveSessionEndsAtItsCapAndFreesItsSlot) {
  Start(Capped(seconds(10)));
  const TicketOutcome a = room_->Join("", Now());
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  Run(seconds(5));
  const TicketOutcome b = room_->Join("", Now());  // admitted 5 s later: its cap is later too
  const TicketOutcome c = room_->Join("", Now());
  ASSERT_EQ(b.status, TicketStatus::kAdmitted);
  ASSERT_EQ(c.status, TicketStatus::kWaiting) << "max_active 2";
  Run(milliseconds(4900), {a.ticket, b.ticket});
  EXPECT_EQ(room_->active(), 2) << "a's cap not reached yet";
  Run(milliseconds(100), {a.ticket, b.ticket});
  EXPECT_EQ(room_->active(), 1) << "a ended at 10 s however active";
  EXPECT_FALSE(room_->Heartbeat(a.ticket, Now()));
  EXPECT_EQ(room_->Poll(a.ticket, Now()).status, TicketStatus::kExpired);
  EXPECT_EQ(room_->counters().expired_sessions, 1u);
  // Its slot went to the next in line.
  Run(milliseconds(200));
  EXPECT_EQ(room_->Poll(c.ticket, Now()).status, TicketStatus::kAdmitted);
  Run(milliseconds(4800), {b.ticket, c.ticket});
  EXPECT_FALSE(room_->Heartbeat(b.ticket, Now())) << "b ended at its own 10 s";
}

TEST_F(SessionMaxTest, AHeartbeatOrPollAtTheCapEndsTheSessionBeforeTheTick) {
  Start(Capped(seconds(3)));
  const TicketOutcome a = room_->Join("", Now());
  const TicketOutcome b = room_->Admit("pass-holder", Now());
  clock_.Advance(seconds(3));  // no tick yet
  EXPECT_FALSE(room_->Heartbeat(a.ticket, Now()));
  EXPECT_EQ(room_->Poll(b.ticket, Now()).status, TicketStatus::kExpired) << "a bypass session too";
  EXPECT_EQ(room_->active(), 0);
  // Reported as ended, so that every replica and every token check learns of it.
  int ended = 0;
  for (const RoomEvent& e : events_.events) ended += std::holds_alternative<SessionEnded>(e);
  EXPECT_EQ(ended, 2);
}

TEST_F(SessionMaxTest, ZeroIsNoCapAndARuntimeCapReachesSessionsAlreadyInside) {
  Start(Capped(milliseconds(0)));
  const TicketOutcome a = room_->Join("", Now());
  Run(seconds(30), {a.ticket});
  EXPECT_EQ(room_->active(), 1) << "no cap";
  room_->SetPolicy(Capped(seconds(20)));
  Run(milliseconds(100), {a.ticket});
  EXPECT_EQ(room_->active(), 0) << "inside for 30 s already: past the new cap of 20 s";
}

TEST_F(SessionMaxTest, ReplayAndSnapshotsKeepTheAdmissionTimes) {
  Start(Capped(seconds(10)));
  const TicketOutcome a = room_->Join("", Now());
  Run(seconds(6), {a.ticket});
  // A restart: the snapshot is replayed into a new room, which must end `a` at the same cap.
  Recorder snapshot;
  room_->Snapshot(snapshot, Now());
  Room restored("r", Capped(seconds(10)), 7, clock_.Now());
  for (const RoomEvent& e : snapshot.events) restored.Apply(e, Now());
  ASSERT_EQ(restored.active(), 1);
  clock_.Advance(milliseconds(3900));
  restored.Tick(Now());
  EXPECT_EQ(restored.active(), 1);
  clock_.Advance(milliseconds(100));
  restored.Tick(Now());
  EXPECT_EQ(restored.active(), 0);
}

TEST(SessionMaxPolicy, IsZeroOrBetweenASecondAndAWeek) {
  Policy p;
  EXPECT_TRUE(ValidatePolicy(p).empty());
  p.session_max = milliseconds(999);
  ASSERT_EQ(ValidatePolicy(p).size(), 1u);
  EXPECT_EQ(ValidatePolicy(p)[0].key, "session_max");
  p.session_max = seconds(7 * 86'400) + milliseconds(1);
  EXPECT_EQ(ValidatePolicy(p).size(), 1u);
  p.session_max = seconds(3600);
  EXPECT_TRUE(ValidatePolicy(p).empty());
}

}  // namespace
}  // namespace vwr::core
