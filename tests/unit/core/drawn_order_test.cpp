#include "core/drawn_order.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/room.hpp"
#include "unit/core/event_recorder.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using test_support::Recorder;

// The order docs/control.md gives for its example seed (tickets 1..10).
const std::vector<std::uint64_t> kDrawn = {1, 8, 9, 3, 6, 10, 7, 4, 5, 2};

TEST(DrawnOrder, MapsPlacesAndTicketsBothWays) {
  const std::optional<DrawnOrder> d = DrawnOrder::Make(11, {13, 11, 12});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->TicketOf(11), 13u);
  EXPECT_EQ(d->TicketOf(12), 11u);
  EXPECT_EQ(d->PlaceOf(13), 11u);
  EXPECT_EQ(d->PlaceOf(11), 12u);
  EXPECT_EQ(d->PlaceOf(12), 13u);
  // Outside the range a number is its own place.
  EXPECT_EQ(d->PlaceOf(10), 10u);
  EXPECT_EQ(d->TicketOf(14), 14u);
}

TEST(DrawnOrder, OnlyAPermutationOfTheRangeIsADraw) {
  EXPECT_FALSE(DrawnOrder::Make(1, {}));
  EXPECT_FALSE(DrawnOrder::Make(0, {0}));              // ticket 0 is nobody's
  EXPECT_FALSE(DrawnOrder::Make(1, {1, 1}));           // one ticket twice, one left out
  EXPECT_FALSE(DrawnOrder::Make(1, {1, 3}));           // outside the range
  EXPECT_FALSE(DrawnOrder::Make(5, {4, 5}));           // below it
  EXPECT_FALSE(DrawnOrder::Make(UINT64_MAX, {1, 2}));  // the range would wrap
  std::vector<std::uint64_t> too_many(kMaxDrawnTickets + 1);
  for (std::size_t i = 0; i < too_many.size(); ++i) too_many[i] = i + 1;
  EXPECT_FALSE(DrawnOrder::Make(1, too_many));
  too_many.pop_back();
  EXPECT_TRUE(DrawnOrder::Make(1, too_many));
}

// A room on a fake clock, with a pre-queue (pause) of ten people, then the opening.
class DrawTest : public ::testing::Test {
 protected:
  static Policy Paused() {
    Policy p;
    p.mode = Mode::kPause;
    p.max_active = 1;
    p.admit_rate = 100;
    p.burst = 100;
    p.session_timeout = seconds(60);
    p.claim_grace = seconds(20);
    return p;
  }
  static Policy Open(std::int64_t max_active = 1) {
    Policy p = Paused();
    p.mode = Mode::kFifo;
    p.max_active = max_active;
    return p;
  }

  Instant Now() const { return Instant::From(clock_); }
  void Start() {
    room_.emplace("tickets", Paused(), 7, clock_.Now());
    room_->SetEventSink(&recorder_);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(room_->Join("", Now()).status, TicketStatus::kWaiting);
  }
  void Tick(Room& room) {
    clock_.Advance(milliseconds(100));
    room.Tick(Now());
  }
  // Polls every ticket of 1..10 until one is admitted (a claim), and returns it; then leaves,
  // so that the next one is called. 0 when nobody was called.
  std::uint64_t NextAdmitted(Room& room) {
    Tick(room);
    for (std::uint64_t t = 1; t <= 10; ++t) {
      const TicketOutcome out = room.Poll(t, Now());
      if (out.status == TicketStatus::kAdmitted && room.FindSession(t) != nullptr) {
        room.Leave(t, Now());
        return t;
      }
    }
    return 0;
  }
  std::vector<std::uint64_t> AdmitAll(Room& room, std::size_t most = 10) {
    std::vector<std::uint64_t> order;
    while (order.size() < most) {
      const std::uint64_t t = NextAdmitted(room);
      if (t == 0) break;
      order.push_back(t);
    }
    return order;
  }

  util::FakeClock clock_;
  Recorder recorder_;
  std::optional<Room> room_;
};

TEST_F(DrawTest, AdmissionsFollowTheDrawnOrder) {
  Start();
  ASSERT_TRUE(room_->Draw(1, kDrawn));
  room_->SetPolicy(Open());
  EXPECT_EQ(AdmitAll(*room_), kDrawn);
}

TEST_F(DrawTest, WithoutADrawAdmissionsFollowTheTicketNumbers) {
  Start();
  room_->SetPolicy(Open());
  EXPECT_EQ(AdmitAll(*room_), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(DrawTest, PositionsAreTheDrawnPlacesAndNeverIncreaseAfterTheOpening) {
  Start();
  ASSERT_TRUE(room_->Draw(1, kDrawn));
  room_->SetPolicy(Open());
  // At the opening, the ticket drawn i-th is i-th in line.
  for (std::size_t i = 0; i < kDrawn.size(); ++i) {
    EXPECT_EQ(room_->PlaceOf(kDrawn[i]) - room_->frontier(), i + 1) << kDrawn[i];
  }
  std::vector<std::uint64_t> told(11, UINT64_MAX);
  for (int step = 0; step < 10; ++step) {
    for (std::uint64_t t = 1; t <= 10; ++t) {
      if (room_->PlaceOf(t) <= room_->frontier()) continue;  // called already
      const std::uint64_t position = room_->PlaceOf(t) - room_->frontier();
      EXPECT_LE(position, told[t]) << "ticket " << t << " moved back";
      told[t] = position;
    }
    NextAdmitted(*room_);
  }
}

TEST_F(DrawTest, ADrawnTicketGivenBackIsPassedOver) {
  Start();
  // Given back before the draw (ticket 9, drawn third) and after it (ticket 8, drawn second).
  ASSERT_TRUE(room_->Withdraw(9));
  ASSERT_TRUE(room_->Draw(1, kDrawn));
  EXPECT_EQ(room_->Poll(9, Now()).status, TicketStatus::kExpired);
  ASSERT_TRUE(room_->Withdraw(8));
  EXPECT_FALSE(room_->Withdraw(8));
  EXPECT_EQ(room_->waiting(), 8u);
  room_->SetPolicy(Open());
  EXPECT_EQ(AdmitAll(*room_), (std::vector<std::uint64_t>{1, 3, 6, 10, 7, 4, 5, 2}));
  EXPECT_EQ(room_->waiting(), 0u);
}

TEST_F(DrawTest, ADrawnCallGivenUpOrMissedGoesToTheNext) {
  Start();
  ASSERT_TRUE(room_->Draw(1, kDrawn));
  room_->SetPolicy(Open());
  Tick(*room_);
  // Place 1 (ticket 1) is called: it gives its call up; place 2 (ticket 8) is called next.
  ASSERT_TRUE(room_->Withdraw(1));
  Tick(*room_);
  EXPECT_EQ(room_->called_unclaimed(), 1);
  // Ticket 8 does not come: a no-show after claim_grace, then ticket 9.
  clock_.Advance(seconds(21));
  Tick(*room_);
  EXPECT_EQ(room_->Poll(8, Now()).status, TicketStatus::kExpired);
  EXPECT_EQ(room_->counters().no_shows, 1u);
  EXPECT_EQ(AdmitAll(*room_), (std::vector<std::uint64_t>{9, 3, 6, 10, 7, 4, 5, 2}));
}

TEST_F(DrawTest, ReplayAndSnapshotKeepTheDrawnOrder) {
  Start();
  ASSERT_TRUE(room_->Draw(1, kDrawn));
  room_->SetPolicy(Open());
  ASSERT_EQ(AdmitAll(*room_, 3), (std::vector<std::uint64_t>{1, 8, 9}));
  Tick(*room_);  // ticket 3 is called, not claimed yet
  ASSERT_TRUE(room_->Withdraw(7));

  Room replayed("tickets", Paused(), 7, clock_.Now());
  for (const RoomEvent& e : recorder_.events) replayed.Apply(e, Now());
  Recorder snapshot;
  room_->Snapshot(snapshot, Now());
  Room restored("tickets", Paused(), 7, clock_.Now());
  for (const RoomEvent& e : snapshot.events) restored.Apply(e, Now());

  for (Room* room : {&*room_, &replayed, &restored}) {
    EXPECT_EQ(room->frontier(), 4u);
    EXPECT_EQ(room->PlaceOf(3), 4u);
    EXPECT_EQ(room->called_unclaimed(), 1);
    EXPECT_EQ(room->waiting(), 5u);
    EXPECT_EQ(room->Poll(3, Now()).status, TicketStatus::kAdmitted);
    room->Leave(3, Now());
    EXPECT_EQ(AdmitAll(*room), (std::vector<std::uint64_t>{6, 10, 4, 5, 2}));
  }
}

TEST_F(DrawTest, AForgedDrawInTheJournalIsRefused) {
  Start();
  std::vector<RoomEvent> events = recorder_.events;
  for (const std::vector<std::uint64_t>& forged :
       {std::vector<std::uint64_t>{1, 8, 8, 3, 6, 10, 7, 4, 5, 2},   // 9 left out
        std::vector<std::uint64_t>{1, 8, 9, 3, 6, 10, 7, 4, 5, 11},  // not issued
        std::vector<std::uint64_t>{}}) {
    Room replayed("tickets", Paused(), 7, clock_.Now());
    for (const RoomEvent& e : events) replayed.Apply(e, Now());
    replayed.Apply(TicketsDrawn{1, forged}, Now());
    EXPECT_EQ(replayed.drawn(), nullptr);
    replayed.SetPolicy(Open());
    EXPECT_EQ(AdmitAll(replayed), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  }
  // Over tickets already called (a journal record out of its place) too.
  Room replayed("tickets", Open(3), 7, clock_.Now());
  for (const RoomEvent& e : events) replayed.Apply(e, Now());
  Tick(replayed);
  ASSERT_EQ(replayed.frontier(), 3u);
  replayed.Apply(TicketsDrawn{1, kDrawn}, Now());
  EXPECT_EQ(replayed.drawn(), nullptr);
}

TEST_F(DrawTest, ADrawOverCalledTicketsOrWhileAnotherIsInUseIsRefused) {
  Start();
  room_->SetPolicy(Open());
  Tick(*room_);  // ticket 1 is called
  EXPECT_FALSE(room_->Draw(1, kDrawn));
  EXPECT_FALSE(room_->Draw(2, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));  // 11 not issued
  ASSERT_TRUE(room_->Draw(2, {10, 9, 8, 7, 6, 5, 4, 3, 2}));
  EXPECT_FALSE(room_->Draw(3, {3, 4}));  // the first one's places wait still
  ASSERT_EQ(room_->Poll(1, Now()).status, TicketStatus::kAdmitted);
  room_->Leave(1, Now());
  EXPECT_EQ(AdmitAll(*room_), (std::vector<std::uint64_t>{10, 9, 8, 7, 6, 5, 4, 3, 2}));
  // Every place of it is settled: it is dropped at the next tick, and a new draw may come.
  room_->SetPolicy(Open(10));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(room_->Join("", Now()).status, TicketStatus::kAdmitted);
  room_->SetPolicy(Paused());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(room_->Join("", Now()).status, TicketStatus::kWaiting);
  Tick(*room_);
  EXPECT_EQ(room_->drawn(), nullptr);
  EXPECT_TRUE(room_->Draw(14, {16, 14, 15}));
}

TEST_F(DrawTest, TicketsIssuedAfterTheDrawQueueBehindIt) {
  Start();
  ASSERT_TRUE(room_->Draw(1, kDrawn));
  room_->SetPolicy(Open());
  const TicketOutcome late = room_->Join("", Now());
  ASSERT_EQ(late.status, TicketStatus::kWaiting);
  EXPECT_EQ(late.ticket, 11u);
  EXPECT_EQ(room_->PlaceOf(11) - room_->frontier(), 11u);
}

}  // namespace
}  // namespace vwr::core
