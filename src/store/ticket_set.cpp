#include "store/ticket_set.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <utility>

namespace vwr::store {
namespace {

constexpr std::uint64_t kEmpty = 0;
constexpr std::uint64_t kRemoved = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t kMinCapacity = 64;

// Each thread marks its reads in one of the reader counts, the same one every time, so that
// workers (few, long-lived) mostly have a cache line each.
std::size_t ReaderIndex(std::size_t counts) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed);
  return index % counts;
}

}  // namespace

struct TicketSet::Table {
  explicit Table(std::size_t capacity)
      : mask(capacity - 1),
        shift(64 - std::countr_zero(capacity)),
        slots(new std::atomic<std::uint64_t>[capacity]()) {}

  // Fibonacci hashing: consecutive tickets, and the line's and the bypass range's numbers with
  // the same low bits, land far apart.
  std::size_t Home(std::uint64_t ticket) const {
    return static_cast<std::size_t>((ticket * 0x9e3779b97f4a7c15ULL) >> shift) & mask;
  }
  std::size_t capacity() const { return mask + 1; }

  const std::size_t mask;
  const int shift;
  const std::unique_ptr<std::atomic<std::uint64_t>[]> slots;
};

TicketSet::TicketSet() : current_(std::make_unique<Table>(kMinCapacity)) {
  table_.store(current_.get(), std::memory_order_seq_cst);
}

TicketSet::~TicketSet() = default;

bool TicketSet::Contains(std::uint64_t ticket) const {
  if (ticket == kEmpty || ticket == kRemoved) return false;
  ReaderCount& mark = readers_[ReaderIndex(kReaderCounts)];
  // Counted before the table is read (both sequentially consistent): a writer that replaced
  // the table and then sees every count at zero knows no reader is still in the old one.
  mark.readers.fetch_add(1, std::memory_order_seq_cst);
  const Table* table = table_.load(std::memory_order_seq_cst);
  bool found = false;
  std::size_t i = table->Home(ticket);
  for (std::size_t probes = 0; probes < table->capacity(); ++probes) {
    const std::uint64_t slot = table->slots[i].load(std::memory_order_acquire);
    if (slot == ticket) {
      found = true;
      break;
    }
    if (slot == kEmpty) break;
    i = (i + 1) & table->mask;
  }
  mark.readers.fetch_sub(1, std::memory_order_release);
  return found;
}

bool TicketSet::Insert(std::uint64_t ticket) {
  if (ticket == kEmpty || ticket == kRemoved) return false;
  if (!retired_.empty()) Reclaim();
  Table* table = current_.get();
  std::size_t i = table->Home(ticket);
  std::size_t reuse = table->capacity();  // the first removed slot on the way, if any
  for (std::size_t probes = 0; probes < table->capacity(); ++probes) {
    const std::uint64_t slot = table->slots[i].load(std::memory_order_relaxed);
    if (slot == ticket) return false;
    if (slot == kEmpty) break;
    if (slot == kRemoved && reuse == table->capacity()) reuse = i;
    i = (i + 1) & table->mask;
  }
  if (reuse != table->capacity()) {
    // A reader looking for this number either passed the slot already (and reads the number
    // as absent, as it was when it started) or finds it there.
    table->slots[reuse].store(ticket, std::memory_order_release);
    ++live_;
    return true;
  }
  if ((used_ + 1) * 2 > table->capacity()) {
    Rebuild(live_ + 1);
    table = current_.get();
    i = table->Home(ticket);
    while (table->slots[i].load(std::memory_order_relaxed) != kEmpty) i = (i + 1) & table->mask;
  }
  table->slots[i].store(ticket, std::memory_order_release);
  ++used_;
  ++live_;
  return true;
}

bool TicketSet::Erase(std::uint64_t ticket) {
  if (ticket == kEmpty || ticket == kRemoved) return false;
  if (!retired_.empty()) Reclaim();
  Table* table = current_.get();
  std::size_t i = table->Home(ticket);
  for (std::size_t probes = 0; probes < table->capacity(); ++probes) {
    const std::uint64_t slot = table->slots[i].load(std::memory_order_relaxed);
    if (slot == ticket) {
      table->slots[i].store(kRemoved, std::memory_order_release);
      --live_;
      // A set that emptied after a busy time gives its memory back.
      if (live_ * 16 < table->capacity() && table->capacity() > kMinCapacity) Rebuild(live_);
      return true;
    }
    if (slot == kEmpty) return false;
    i = (i + 1) & table->mask;
  }
  return false;
}

void TicketSet::Clear() {
  if (used_ == 0) return;
  Replace(std::make_unique<Table>(kMinCapacity));
  live_ = 0;
  used_ = 0;
}

void TicketSet::Rebuild(std::size_t live) {
  // At most a quarter full afterwards, so that the next rebuild is as many changes away as
  // there are numbers now (amortised O(1) per change), and a set that shrank gets small again.
  const std::size_t capacity = std::max(kMinCapacity, std::bit_ceil(live * 4));
  auto next = std::make_unique<Table>(capacity);
  const Table& old = *current_;
  std::size_t placed = 0;
  for (std::size_t s = 0; s < old.capacity(); ++s) {
    const std::uint64_t ticket = old.slots[s].load(std::memory_order_relaxed);
    if (ticket == kEmpty || ticket == kRemoved) continue;
    std::size_t i = next->Home(ticket);
    while (next->slots[i].load(std::memory_order_relaxed) != kEmpty) i = (i + 1) & next->mask;
    next->slots[i].store(ticket, std::memory_order_relaxed);
    ++placed;
  }
  Replace(std::move(next));
  live_ = placed;
  used_ = placed;
}

void TicketSet::Replace(std::unique_ptr<Table> next) {
  // Published with everything placed in it (the store releases the slots written above).
  table_.store(next.get(), std::memory_order_seq_cst);
  retired_.push_back(std::exchange(current_, std::move(next)));
  Reclaim();
}

void TicketSet::Reclaim() {
  for (const ReaderCount& mark : readers_) {
    if (mark.readers.load(std::memory_order_seq_cst) != 0) return;  // tried again next change
  }
  retired_.clear();
}

}  // namespace vwr::store
