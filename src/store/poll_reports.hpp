#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "util/clock.hpp"

namespace vwr::store {

// The polls of waiting tickets one node answered from its cache since its last tick, to be
// reported with the next (Redis mode): ticket -> when its next poll is due at the latest (this
// node's clock). Several polls of one ticket between two ticks are one report, due at the latest
// of their times.
//
// Layout. Sharded by ticket, so that workers polling different tickets rarely meet on one lock
// (held for a few loads and stores, never for I/O); each shard is an open-addressing table with
// linear probing, and a list of its used slots in the order they were first noted. Take()
// empties only the slots it used, so a tick costs what was noted, not the table's size. The
// tables keep their size from tick to tick: once they have grown to a node's usual number of
// polls per tick, a poll's note allocates nothing. Each shard is bounded (kMaxPerShard reports;
// a report beyond that is dropped and counted, and its ticket is judged by its earlier reports).
//
// Thread-safety: Note() and dropped() from any thread; Take() from one thread at a time.
class PollReports {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxPerShard = std::size_t{1} << 18;  // 4 M tickets a tick in all

  // A poll of waiting `ticket`, whose next poll is due by `due`.
  void Note(std::uint64_t ticket, util::TimePoint due);
  // Moves up to `most` reports into `args` as pairs (ticket, ms from `now` until due, at least
  // 0), the oldest noted first within a shard; the rest wait for the next call.
  void Take(util::TimePoint now, std::size_t most, std::vector<std::string>& args);
  // Reports dropped because a shard was full.
  std::uint64_t dropped() const;
  // Reports waiting to be taken (for tests).
  std::size_t pending() const;
  // The shard `ticket`'s reports go to (for tests).
  static std::size_t ShardOf(std::uint64_t ticket) { return Hash(ticket) % kShards; }

 private:
  struct Entry {
    std::uint64_t key = 0;  // ticket + 1; 0: an empty slot
    util::TimePoint due{};
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<Entry> slots;         // a power of two in size, at most half full
    std::vector<std::uint32_t> used;  // the slots in use, in the order first noted
    std::atomic<std::uint64_t> dropped{0};
  };
  static constexpr std::size_t kFirstSlots = 1024;

  static std::size_t Hash(std::uint64_t ticket);
  // The slot of `key` in `slots`, or the empty slot where it would go.
  static std::size_t Probe(const std::vector<Entry>& slots, std::uint64_t key);
  // Doubles `shard`'s table, keeping its entries and their order.
  static void Grow(Shard& shard);
  // Empties `shard` and notes again its entries from `keep` on (a Take that stopped midway).
  static void KeepFrom(Shard& shard, std::size_t keep);

  std::array<Shard, kShards> shards_;
};

}  // namespace vwr::store
