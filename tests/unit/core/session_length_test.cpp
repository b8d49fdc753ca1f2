// How long sessions last (RoomCounters::session_lengths): every way a session ends is measured
// from its admission, in the buckets of core::kSessionLengthBoundsSeconds; on a fake clock.

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

// The bucket of a length, by the bounds' own words: (10 s, 30 s] is bucket 1.
constexpr std::size_t kUpTo10s = 0, kUpTo30s = 1, kUpTo60s = 2, kUpTo120s = 3, kUpTo300s = 4,
                      kLonger = 11;

SessionLengths Only(std::initializer_list<std::pair<std::size_t, std::uint64_t>> buckets,
                    std::uint64_t sum_ms) {
  SessionLengths lengths;
  for (const auto& [b, n] : buckets) lengths.buckets[b] = n;
  lengths.sum_ms = sum_ms;
  return lengths;
}

class SessionLengthTest : public ::testing::Test {
 protected:
  static Policy TestPolicy() {
    Policy p;
    p.max_active = 10;
    p.admit_rate = 100;
    p.burst = 100;
    p.session_timeout = seconds(20);
    return p;
  }
  Instant Now() const { return Instant::From(clock_); }
  void Start(const Policy& p) {
    room_.emplace("r", p, 7, clock_.Now());
    room_->SetEventSink(&events_);
  }
  std::uint64_t Admitted(std::string_view identity = "") {
    const TicketOutcome out = room_->Join(identity, Now());
    EXPECT_EQ(out.status, TicketStatus::kAdmitted);
    return out.ticket;
  }
  // `d` in 100 ms ticks, with a heartbeat of every session in `active` at each.
  void Run(util::Duration d, const std::vector<std::uint64_t>& active = {}) {
    for (util::Duration t{0}; t < d; t += milliseconds(100)) {
      clock_.Advance(milliseconds(100));
      for (std::uint64_t s : active) room_->Heartbeat(s, Now());
      room_->Tick(Now());
    }
  }
  const SessionLengths& Lengths() const { return room_->counters().session_lengths; }

  util::FakeClock clock_;
  std::optional<Room> room_;
  Recorder events_;
};

TEST(SessionLengths, ALengthEqualToABoundFallsInItsBucket) {
  EXPECT_EQ(SessionLengths::BucketOf(0), kUpTo10s);
  EXPECT_EQ(SessionLengths::BucketOf(-5'000), kUpTo10s) << "a clock stepped back: 0";
  EXPECT_EQ(SessionLengths::BucketOf(10'000), kUpTo10s);
  EXPECT_EQ(SessionLengths::BucketOf(10'001), kUpTo30s);
  EXPECT_EQ(SessionLengths::BucketOf(30'000), kUpTo30s);
  EXPECT_EQ(SessionLengths::BucketOf(14'400'000), kLonger - 1);
  EXPECT_EQ(SessionLengths::BucketOf(14'400'001), kLonger);
  EXPECT_EQ(SessionLengths::BucketOf(INT64_MAX), kLonger);
}

TEST_F(SessionLengthTest, ASessionThatLeavesAfter30SecondsLandsInTheBucketUpTo30Seconds) {
  Start(TestPolicy());
  const std::uint64_t a = Admitted();
  Run(seconds(15), {a});
  const std::uint64_t b = Admitted();
  Run(seconds(15), {a, b});
  ASSERT_TRUE(room_->Leave(a, Now()));  // 30 s after its admission
  EXPECT_EQ(Lengths(), Only({{kUpTo30s, 1}}, 30'000));
  Run(seconds(30), {b});
  ASSERT_TRUE(room_->Leave(b, Now()));  // 45 s
  EXPECT_EQ(Lengths(), Only({{kUpTo30s, 1}, {kUpTo60s, 1}}, 75'000));
  EXPECT_FALSE(room_->Leave(b, Now()));
  EXPECT_EQ(Lengths().count(), 2u) << "a session ends, and is measured, once";
  EXPECT_EQ(room_->counters().leaves, 2u);
}

TEST_F(SessionLengthTest, AnIdleSessionIsMeasuredUntilTheTickEndsIt) {
  Start(TestPolicy());  // session_timeout 20 s
  const std::uint64_t a = Admitted();
  Run(seconds(5), {a});  // last seen at 5 s: it ends at 25 s
  Run(seconds(25));
  ASSERT_EQ(room_->counters().expired_sessions, 1u);
  EXPECT_EQ(room_->FindSession(a), nullptr);
  EXPECT_EQ(Lengths(), Only({{kUpTo30s, 1}}, 25'000));
}

TEST_F(SessionLengthTest, ASessionAtSessionMaxIsMeasuredAtItsCap) {
  Policy p = TestPolicy();
  p.session_max = seconds(45);
  Start(p);
  const std::uint64_t ticked = Admitted();
  const std::uint64_t polled = Admitted();
  Run(seconds(44) + milliseconds(900), {ticked, polled});
  clock_.Advance(milliseconds(100));  // 45 s: the poll ends `polled` before any tick does
  EXPECT_EQ(room_->Poll(polled, Now()).status, TicketStatus::kExpired);
  room_->Tick(Now());
  ASSERT_EQ(room_->counters().expired_sessions, 2u);
  EXPECT_EQ(Lengths(), Only({{kUpTo60s, 2}}, 90'000));
}

TEST_F(SessionLengthTest, SessionsAnOperatorEndsAreMeasuredLikeLeaves) {
  Start(TestPolicy());
  const std::uint64_t a = Admitted("alice");
  const TicketOutcome bypass = room_->Admit("vip", Now());
  ASSERT_EQ(bypass.status, TicketStatus::kAdmitted);
  Run(seconds(100), {a, bypass.ticket});
  const std::uint64_t b = Admitted();
  Run(seconds(50), {a, bypass.ticket, b});
  ASSERT_TRUE(room_->LeaveIdentity("alice", Now()));  // a TRACER check-out: 150 s
  EXPECT_EQ(Lengths(), Only({{kUpTo300s, 1}}, 150'000));
  Run(seconds(50), {bypass.ticket, b});
  EXPECT_EQ(room_->LeaveAll(Now()), 2u);  // the bypass session 200 s, b 100 s
  EXPECT_EQ(Lengths(), Only({{kUpTo120s, 1}, {kUpTo300s, 2}}, 450'000));
}

// What the journal holds measures the same on replay, and a snapshot carries the counts; a
// session restored from a snapshot is measured from its first admission.
TEST_F(SessionLengthTest, LengthsSurviveJournalReplayAndSnapshots) {
  Start(TestPolicy());
  const std::uint64_t a = Admitted();
  const std::uint64_t b = Admitted();
  const std::uint64_t kept = Admitted();
  Run(seconds(8), {a, kept});
  ASSERT_TRUE(room_->Leave(a, Now()));  // 8 s
  Run(seconds(40), {kept});             // b idles out at 20 s
  ASSERT_EQ(room_->FindSession(b), nullptr);
  const SessionLengths before = Only({{kUpTo10s, 1}, {kUpTo30s, 1}}, 28'000);
  ASSERT_EQ(Lengths(), before);

  Room replayed("r", TestPolicy(), 7, clock_.Now());
  for (const RoomEvent& e : events_.events) replayed.Apply(e, Now());
  EXPECT_EQ(replayed.counters().session_lengths, before) << "journal replay";

  Recorder snapshot;
  room_->Snapshot(snapshot, Now());
  Room restored("r", TestPolicy(), 7, clock_.Now());
  for (const RoomEvent& e : snapshot.events) restored.Apply(e, Now());
  EXPECT_EQ(restored.counters().session_lengths, before) << "snapshot";

  Run(seconds(12), {kept});
  ASSERT_TRUE(restored.Leave(kept, Now()));  // admitted 60 s ago, before the snapshot
  EXPECT_EQ(restored.counters().session_lengths,
            Only({{kUpTo10s, 1}, {kUpTo30s, 1}, {kUpTo60s, 1}}, 88'000));
}

// A journal written before ends were timed still replays: its sessions end, unmeasured.
TEST_F(SessionLengthTest, AnEndRecordedWithoutItsTimeEndsTheSessionUnmeasured) {
  Start(TestPolicy());
  const std::uint64_t a = Admitted();
  Run(seconds(3), {a});
  Room replayed("r", TestPolicy(), 7, clock_.Now());
  for (const RoomEvent& e : events_.events) replayed.Apply(e, Now());
  ASSERT_NE(replayed.FindSession(a), nullptr);
  replayed.Apply(SessionEnded{a, EndReason::kLeave}, Now());
  EXPECT_EQ(replayed.FindSession(a), nullptr);
  EXPECT_EQ(replayed.counters().leaves, 1u);
  EXPECT_TRUE(replayed.counters().session_lengths.empty());
}

}  // namespace
}  // namespace vwr::core
