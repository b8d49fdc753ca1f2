#include "util/recycling_allocator.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
#include <cstddef>
#include <thread>
#include <vector>

namespace vwr::util {
namespace {

// Takes every block of `bytes`' size class that the calling thread has in stock (and one more
// from the heap), so that a test starts from an empty stock of that class whatever ran before.
class EmptiedClass {
 public:
  explicit EmptiedClass(std::size_t bytes) : bytes_(bytes) {
    for (std::size_t i = 0; i <= RecycledBlocksKeptAtMost(bytes); ++i) {
      held_.push_back(RecycledAllocate(bytes_));
    }
  }
  EmptiedClass(const EmptiedClass&) = delete;
  EmptiedClass& operator=(const EmptiedClass&) = delete;
  ~EmptiedClass() {
    for (void* block : held_) RecycledDeallocate(block, bytes_);
  }

 private:
  std::size_t bytes_;
  std::vector<void*> held_;
};

TEST(RecyclingAllocator, AFreedBlockServesTheNextRequestOfItsSizeClass) {
  EmptiedClass emptied(100);  // the class of 65 to 128 bytes
  void* block = RecycledAllocate(100);
  RecycledDeallocate(block, 100);
  void* again = RecycledAllocate(120);
  EXPECT_EQ(again, block);
  static_cast<char*>(again)[119] = 'x';  // all of what was asked for is usable
  RecycledDeallocate(again, 120);
}

TEST(RecyclingAllocator, OtherSizeClassesDoNotShareBlocks) {
  EmptiedClass small(100);
  EmptiedClass larger(300);
  void* block = RecycledAllocate(100);
  RecycledDeallocate(block, 100);
  void* other = RecycledAllocate(300);
  EXPECT_NE(other, block);
  RecycledDeallocate(other, 300);
}

TEST(RecyclingAllocator, AThreadKeepsABoundedStockPerSizeClass) {
  // On a thread of its own, so that its stock starts empty.
  std::thread([] {
    EXPECT_EQ(RecycledBlocksKeptAtMost(200), 256u);  // of 256 bytes: 64 KiB
    EXPECT_EQ(RecycledBlocksKeptAtMost(20), 2048u);  // of 32 bytes
    EXPECT_EQ(RecycledBlocksKeptAtMost(kLargestRecycledBlock), 32u);
    for (const std::size_t bytes : {std::size_t{200}, kLargestRecycledBlock}) {
      std::vector<void*> blocks;
      for (std::size_t i = 0; i < RecycledBlocksKeptAtMost(bytes) + 10; ++i) {
        blocks.push_back(RecycledAllocate(bytes));
      }
      const std::size_t kept = RecycledBlocksKept();
      for (void* block : blocks) RecycledDeallocate(block, bytes);
      EXPECT_EQ(RecycledBlocksKept(), kept + RecycledBlocksKeptAtMost(bytes))
          << bytes << " bytes: the rest went back to the heap";
    }
  }).join();
}

TEST(RecyclingAllocator, LargeBlocksGoBackToTheHeap) {
  std::thread([] {
    void* block = RecycledAllocate(kLargestRecycledBlock + 1);
    RecycledDeallocate(block, kLargestRecycledBlock + 1);
    EXPECT_EQ(RecycledBlocksKept(), 0u);
    block = RecycledAllocate(kLargestRecycledBlock);
    RecycledDeallocate(block, kLargestRecycledBlock);
    EXPECT_EQ(RecycledBlocksKept(), 1u);
  }).join();
}

TEST(RecyclingAllocator, ABlockFreedOnAnotherThreadJoinsThatThreadsStock) {
  // An answer made on a store's thread and written by a worker: the worker reuses its memory.
  EmptiedClass emptied(64);
  void* block = RecycledAllocate(64);
  const std::size_t kept_here = RecycledBlocksKept();
  std::thread([block] {
    RecycledDeallocate(block, 64);
    EXPECT_EQ(RecycledBlocksKept(), 1u);
    void* again = RecycledAllocate(64);
    EXPECT_EQ(again, block);
    RecycledDeallocate(again, 64);
    // The thread ends with the block in its stock: it goes back to the heap (a leak checker
    // would say otherwise).
  }).join();
  EXPECT_EQ(RecycledBlocksKept(), kept_here);
}

TEST(RecyclingAllocator, HeaderFieldsMadeAndDroppedAgainCostNoNewBlocks) {
  std::thread([] {
    using Fields = boost::beast::http::basic_fields<RecyclingAllocator<char>>;
    const void* first_node = nullptr;
    for (int round = 0; round < 3; ++round) {
      Fields fields;
      fields.set(boost::beast::http::field::host, "queue.example.com");
      fields.set("X-VWR-Ticket", "a-ticket-of-some-length");
      EXPECT_EQ(fields["x-vwr-ticket"], "a-ticket-of-some-length");
      EXPECT_EQ(RecycledBlocksKept(), 0u) << "round " << round << ": both nodes in use";
      if (round == 0) first_node = &*fields.begin();
      if (round > 0) {
        // The nodes of the round before, reused (the stock is last in, first out).
        EXPECT_TRUE(&*fields.begin() == first_node || &*std::next(fields.begin()) == first_node);
      }
    }
    EXPECT_EQ(RecycledBlocksKept(), 2u);
  }).join();
}

}  // namespace
}  // namespace vwr::util
