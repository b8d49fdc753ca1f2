#include "store/ticket_set.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/room.hpp"

namespace vwr::store {
namespace {

constexpr std::uint64_t kBypass = core::kBypassTicketBase;

TEST(TicketSet, HoldsWhatWasInsertedUntilErased) {
  TicketSet set;
  EXPECT_FALSE(set.Contains(7));
  EXPECT_TRUE(set.Insert(7));
  EXPECT_FALSE(set.Insert(7)) << "already there";
  EXPECT_TRUE(set.Insert(kBypass + 7)) << "the same low bits in the bypass range";
  EXPECT_TRUE(set.Contains(7));
  EXPECT_TRUE(set.Contains(kBypass + 7));
  EXPECT_FALSE(set.Contains(8));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.Erase(7));
  EXPECT_FALSE(set.Erase(7));
  EXPECT_FALSE(set.Contains(7));
  EXPECT_TRUE(set.Contains(kBypass + 7));
  EXPECT_EQ(set.size(), 1u);
  set.Clear();
  EXPECT_FALSE(set.Contains(kBypass + 7));
  EXPECT_EQ(set.size(), 0u);
}

TEST(TicketSet, NumbersNoTicketHasAreNeverHeld) {
  TicketSet set;
  EXPECT_FALSE(set.Insert(0));
  EXPECT_FALSE(set.Insert(~std::uint64_t{0}));
  EXPECT_FALSE(set.Contains(0));
  EXPECT_FALSE(set.Contains(~std::uint64_t{0}));
  EXPECT_EQ(set.size(), 0u);
}

TEST(TicketSet, GrowsShrinksAndReusesRemovedSlots) {
  TicketSet set;
  constexpr std::uint64_t kCount = 100'000;
  for (std::uint64_t n = 1; n <= kCount; ++n) {
    ASSERT_TRUE(set.Insert(n));
    ASSERT_TRUE(set.Insert(kBypass + n));
  }
  EXPECT_EQ(set.size(), 2 * kCount);
  for (std::uint64_t n = 1; n <= kCount; ++n) {
    ASSERT_TRUE(set.Contains(n)) << n;
    ASSERT_TRUE(set.Contains(kBypass + n)) << n;
  }
  EXPECT_FALSE(set.Contains(kCount + 1));
  EXPECT_FALSE(set.Contains(kBypass + kCount + 1));
  // Sessions end in any order; new ones begin meanwhile (a sliding window, as in a busy room).
  for (std::uint64_t n = 1; n <= kCount; ++n) {
    ASSERT_TRUE(set.Erase(kBypass + n));
    ASSERT_TRUE(set.Erase(n));
    ASSERT_TRUE(set.Insert(2 * kCount + n));
    if (n % 1000 == 0 && n < kCount) {
      ASSERT_FALSE(set.Contains(n));
      ASSERT_TRUE(set.Contains(2 * kCount + n));
      ASSERT_TRUE(set.Contains(n + 1));
    }
  }
  EXPECT_EQ(set.size(), kCount);
  for (std::uint64_t n = 1; n <= kCount; ++n) {
    ASSERT_TRUE(set.Erase(2 * kCount + n));
  }
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.Contains(2 * kCount + 1));
  EXPECT_EQ(set.retired_tables(), 0u) << "no reader: replaced tables are freed at once";
}

// Readers on other threads never miss a number that stays, nor see one that was never there,
// while the writer grows, shrinks and replaces the table under them. (Run under ThreadSanitizer
// in the tsan preset: a reader in a freed table is a use after free.)
TEST(TicketSet, ReadersSeeAConsistentSetWhileItIsRebuilt) {
  TicketSet set;
  std::vector<std::uint64_t> staying;
  for (std::uint64_t n = 1; n <= 64; ++n) {
    staying.push_back(n * 1'000'003);
    set.Insert(n * 1'000'003);
  }
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> phantoms{0};
  std::atomic<std::uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::size_t i = static_cast<std::size_t>(r);
      while (!stop.load(std::memory_order_relaxed)) {
        if (!set.Contains(staying[i % staying.size()])) misses.fetch_add(1);
        if (set.Contains(kBypass - 1 - i % 1000)) phantoms.fetch_add(1);
        reads.fetch_add(1, std::memory_order_relaxed);
        ++i;
      }
    });
  }
  std::uint64_t next = 1;
  for (int round = 0; round < 30; ++round) {
    // Grow well past the table's size, then shrink back: each way replaces the table.
    std::vector<std::uint64_t> batch;
    for (int i = 0; i < 5000; ++i) batch.push_back(next++);
    for (const std::uint64_t n : batch) set.Insert(n);
    for (const std::uint64_t n : batch) set.Erase(n);
    const std::uint64_t seen = reads.load();
    while (reads.load() < seen + 50) std::this_thread::yield();  // readers are really reading
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0u);
  EXPECT_EQ(phantoms.load(), 0u);
  for (const std::uint64_t n : staying) EXPECT_TRUE(set.Contains(n));
  set.Insert(next);  // a change with no reader about frees whatever is left
  EXPECT_EQ(set.retired_tables(), 0u);
}

}  // namespace
}  // namespace vwr::store
