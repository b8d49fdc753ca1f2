#pragma once

#include <bit>
#include <cstddef>

namespace vwr::util {

// Small blocks kept for reuse by the thread that freed them, so that memory which is made and
// dropped on every request (a request's and an answer's header fields) costs no call to the
// heap once a thread is warm.
//
// Each thread keeps a stock of freed blocks per size class (powers of two from
// kSmallestRecycledBlock to kLargestRecycledBlock bytes), up to kRecycledBytesPerClass of each
// class: RecycledAllocate takes from the calling thread's stock, or from the heap when it is
// empty; RecycledDeallocate gives the block to the calling thread's stock, or back to the heap
// when that is full. A block may be freed on another thread than the one it came from (an
// answer made on a store's thread and written by a worker): it simply joins that thread's
// stock. Larger sizes go to the heap and back every time. At most 7 x 64 KiB stay with a thread;
// they go back to the heap when it ends.
//
// Why 64 KiB a class: a worker's stock must hold what a burst of requests frees, or the surplus
// goes back to the heap and the next burst takes it out again. Asio takes up to 128 ready sockets
// from one epoll_wait and runs their reads (parse, handler, answer) before any of their writes
// completes, so up to 128 polls' fields are alive at once; four of a poll's are in the 128-byte
// class (Host, and the answer's three): 512 blocks, 64 KiB.
//
// Under AddressSanitizer a stocked block is poisoned, so that a use after free of a recycled
// block is still reported.
//
// Thread-safe in the sense that every thread has its own stock; no lock, no atomic.
inline constexpr std::size_t kSmallestRecycledBlock = 32;
inline constexpr std::size_t kLargestRecycledBlock = 2048;
inline constexpr std::size_t kRecycledBytesPerClass = 64 * 1024;

// The size of the blocks that serve `bytes` (at most kLargestRecycledBlock): the power of two
// at or above it, kSmallestRecycledBlock at least.
constexpr std::size_t RecycledBlockSize(std::size_t bytes) {
  return bytes <= kSmallestRecycledBlock ? kSmallestRecycledBlock : std::bit_ceil(bytes);
}
// How many blocks of that size a thread keeps at most.
constexpr std::size_t RecycledBlocksKeptAtMost(std::size_t bytes) {
  return kRecycledBytesPerClass / RecycledBlockSize(bytes);
}

// At least `bytes`, aligned for any fundamental type; throws std::bad_alloc as operator new does.
void* RecycledAllocate(std::size_t bytes);
// `bytes` is what RecycledAllocate was asked for.
void RecycledDeallocate(void* block, std::size_t bytes) noexcept;
// Blocks in the calling thread's stock (for tests).
std::size_t RecycledBlocksKept() noexcept;

// A standard allocator over the per-thread stocks above. Stateless: any two compare equal, so
// containers move and swap their memory freely whatever thread made it.
template <class T>
class RecyclingAllocator {
 public:
  using value_type = T;

  RecyclingAllocator() noexcept = default;
  template <class U>
  RecyclingAllocator(const RecyclingAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "over-aligned: not recycled");
    return static_cast<T*>(RecycledAllocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { RecycledDeallocate(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const RecyclingAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

}  // namespace vwr::util
