#include "store/embedded_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace vwr::store {
namespace {

using std::chrono::milliseconds;

core::Policy TightPolicy() {
  core::Policy p;
  p.max_active = 10;
  p.admit_rate = 100;
  p.burst = 10;
  p.session_timeout = std::chrono::seconds(1);
  return p;
}

TEST(EmbeddedRoom, WaitingStatusComesFromPublishedFigures) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);
  RoomState* room = store.Find("r");
  ASSERT_NE(room, nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(room->Join("").status, core::TicketStatus::kAdmitted);
  const TicketAnswer waiting = room->Join("");
  ASSERT_EQ(waiting.status, core::TicketStatus::kWaiting);
  const TicketAnswer polled = room->Status(waiting.ticket, waiting.frontier_at_join);
  EXPECT_EQ(polled.status, core::TicketStatus::kWaiting);
  EXPECT_EQ(polled.position, 1u);
  EXPECT_EQ(polled.queue_size, 1u);
  EXPECT_EQ(polled.eta_seconds, 1);
}

TEST(EmbeddedRoom, UnknownRoomIsNull) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);
  EXPECT_EQ(store.Find("x"), nullptr);
  EXPECT_EQ(store.Rooms().size(), 1u);
}

// Many threads joining, polling and leaving while another ticks: the limits hold throughout and
// every ticket number is issued exactly once. (Run under ThreadSanitizer in the tsan preset.)
TEST(EmbeddedRoom, ConcurrentUseKeepsInvariants) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);
  RoomState* room = store.Find("r");
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> max_seen_active{0};
  std::thread ticker([&] {
    while (!stop.load()) {
      clock.Advance(milliseconds(10));
      store.Tick();
      const RoomFigures f = room->Figures();
      std::uint64_t seen = max_seen_active.load();
      const auto now = static_cast<std::uint64_t>(f.active + f.called_unclaimed);
      while (now > seen && !max_seen_active.compare_exchange_weak(seen, now)) {
      }
    }
  });
  constexpr int kThreads = 4;
  constexpr int kJoinsPerThread = 500;
  std::vector<std::vector<std::uint64_t>> issued(kThreads);
  std::vector<std::thread> users;
  for (int t = 0; t < kThreads; ++t) {
    users.emplace_back([&, t] {
      for (int i = 0; i < kJoinsPerThread; ++i) {
        const TicketAnswer a = room->Join("");
        issued[t].push_back(a.ticket);
        const TicketAnswer s = room->Status(a.ticket, a.frontier_at_join);
        if (s.status == core::TicketStatus::kAdmitted) room->Leave(a.ticket);
      }
    });
  }
  for (auto& u : users) u.join();
  stop = true;
  ticker.join();
  std::vector<std::uint64_t> all;
  for (auto& v : issued) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kJoinsPerThread));
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);
  EXPECT_LE(max_seen_active.load(), 10u);
}

}  // namespace
}  // namespace vwr::store
