#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace vwr::store {

// A set of ticket numbers that any thread tests without a lock while one writer at a time
// changes it: the live sessions of an embedded room, the ended sessions a Redis node has
// learned of. RoomState::SessionEnded asks it on every /api/v1/verify, so a test must not wait
// for the writer, nor for the other readers, nor allocate.
//
// An open-addressing table (linear probing) of atomic slots: 0 is empty, ~0 a removed number
// (tickets are never 0, and no ticket reaches ~0: the line stays below core::kBypassTicketBase
// and the bypass range counts up from it). A slot never becomes empty again in a table in use,
// so a reader walking a probe sequence always reaches a number present in it. When removed
// numbers and new ones fill half the table (or what is present fills a sixteenth of it), the
// writer builds a new one sized for what is present, at most a quarter full, and publishes it
// with one atomic store; the old table is freed once no reader can
// hold it, which the writer knows from per-thread reader counts (a reader marks itself in its
// own cache line around its probe; the writer frees retired tables when it sees every count at
// zero, at its next change).
//
// Thread-safety: Contains() from any thread at any time, wait-free apart from the probe. Insert,
// Erase and Clear one at a time (the caller serialises them: a room's mutex, a store's thread).
class TicketSet {
 public:
  TicketSet();
  ~TicketSet();
  TicketSet(const TicketSet&) = delete;
  TicketSet& operator=(const TicketSet&) = delete;

  // Whether `ticket` is in the set. Any thread; no lock, no allocation.
  bool Contains(std::uint64_t ticket) const;

  // Writer side. Insert returns false when the number was there already (or is 0 or ~0, which
  // cannot be held); Erase false when it was not there.
  bool Insert(std::uint64_t ticket);
  bool Erase(std::uint64_t ticket);
  void Clear();
  // Numbers held (writer side).
  std::size_t size() const { return live_; }
  // Tables replaced but not yet freed, because a reader might still be in them (for tests).
  std::size_t retired_tables() const { return retired_.size(); }

 private:
  struct Table;
  static constexpr std::size_t kReaderCounts = 16;
  struct alignas(64) ReaderCount {
    std::atomic<std::uint64_t> readers{0};
  };

  // Places the numbers of the current table into a new one with room for `live` numbers, makes
  // it current and retires the old one.
  void Rebuild(std::size_t live);
  void Replace(std::unique_ptr<Table> next);
  // Frees the retired tables if no reader is in any table now.
  void Reclaim();

  std::atomic<Table*> table_;
  mutable std::array<ReaderCount, kReaderCounts> readers_;
  // Writer side only.
  std::unique_ptr<Table> current_;  // owns what table_ points to
  std::vector<std::unique_ptr<Table>> retired_;
  std::size_t live_ = 0;  // numbers present
  std::size_t used_ = 0;  // slots not empty: numbers and removed ones
};

}  // namespace vwr::store
