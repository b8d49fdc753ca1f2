#include "util/recycling_allocator.hpp"

#include <bit>
#include <cstdint>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VWR_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VWR_ASAN 1
#endif
#ifdef VWR_ASAN
#include <sanitizer/asan_interface.h>
#define VWR_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define VWR_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define VWR_POISON(p, n) ((void)(p), (void)(n))
#define VWR_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace vwr::util {
namespace {

constexpr unsigned kSmallestShift = std::countr_zero(kSmallestRecycledBlock);
constexpr std::size_t kClasses =
    std::countr_zero(kLargestRecycledBlock) - std::countr_zero(kSmallestRecycledBlock) + 1;
static_assert(std::has_single_bit(kSmallestRecycledBlock) &&
              std::has_single_bit(kLargestRecycledBlock));

struct FreeBlock {
  FreeBlock* next;
};

// A thread's stock. Trivially destructible and constant-initialised, so that reaching it is a
// plain thread-local access; the blocks go back to the heap at the thread's end through
// StockReturner below.
struct Stock {
  FreeBlock* blocks[kClasses]{};
  std::uint32_t count[kClasses]{};
  bool armed = false;   // the StockReturner of this thread is registered
  bool closed = false;  // the thread is ending: no more stocking
};
constinit thread_local Stock t_stock;

void ReturnAll(Stock& stock) noexcept {
  for (std::size_t c = 0; c < kClasses; ++c) {
    while (FreeBlock* block = stock.blocks[c]) {
      VWR_UNPOISON(block, kSmallestRecycledBlock << c);
      stock.blocks[c] = block->next;
      ::operator delete(block);
    }
    stock.count[c] = 0;
  }
}

struct StockReturner {
  StockReturner() = default;
  StockReturner(const StockReturner&) = delete;
  StockReturner& operator=(const StockReturner&) = delete;
  ~StockReturner() {
    t_stock.closed = true;
    ReturnAll(t_stock);
  }
};

// Registers the thread's StockReturner, before its stock first takes a block (once a thread).
void Arm(Stock& stock) {
  thread_local StockReturner returner;
  (void)returner;
  stock.armed = true;
}

// The size class of `bytes` (<= kLargestRecycledBlock): blocks of kSmallest << class bytes.
std::size_t ClassOf(std::size_t bytes) noexcept {
  const unsigned width = bytes <= kSmallestRecycledBlock
                             ? kSmallestShift
                             : static_cast<unsigned>(std::bit_width(bytes - 1));
  return width - kSmallestShift;
}

}  // namespace

void* RecycledAllocate(std::size_t bytes) {
  if (bytes > kLargestRecycledBlock) return ::operator new(bytes);
  const std::size_t c = ClassOf(bytes);
  Stock& stock = t_stock;
  void* block = stock.blocks[c];
  if (block != nullptr) {
    VWR_UNPOISON(block, kSmallestRecycledBlock << c);
    stock.blocks[c] = stock.blocks[c]->next;
    --stock.count[c];
  } else {
    block = ::operator new(kSmallestRecycledBlock << c);
  }
  // What the caller did not ask for stays out of bounds for AddressSanitizer.
  VWR_POISON(static_cast<char*>(block) + bytes, (kSmallestRecycledBlock << c) - bytes);
  return block;
}

void RecycledDeallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  // Unsized deletes throughout: clang 14 (the fuzzing build) has no sized deallocation by default.
  if (bytes > kLargestRecycledBlock) return ::operator delete(block);
  const std::size_t c = ClassOf(bytes);
  Stock& stock = t_stock;
  if (stock.closed || stock.count[c] >= kRecycledBytesPerClass >> (kSmallestShift + c)) {
    VWR_UNPOISON(block, kSmallestRecycledBlock << c);  // the heap's again
    return ::operator delete(block);
  }
  if (!stock.armed) Arm(stock);
  VWR_UNPOISON(block, kSmallestRecycledBlock << c);
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = stock.blocks[c];
  stock.blocks[c] = free_block;
  ++stock.count[c];
  VWR_POISON(free_block, kSmallestRecycledBlock << c);
}

std::size_t RecycledBlocksKept() noexcept {
  std::size_t kept = 0;
  for (const std::uint32_t n : t_stock.count) kept += n;
  return kept;
}

}  // namespace vwr::util
