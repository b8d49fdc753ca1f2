#include "store/poll_reports.hpp"

#include <algorithm>

namespace vwr::store {

std::size_t PollReports::Hash(std::uint64_t ticket) {
  // Tickets are consecutive numbers: mixed (a 64-bit finaliser) so that neighbours spread over
  // the shards and the slots alike.
  std::uint64_t x = ticket;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<std::size_t>(x);
}

std::size_t PollReports::Probe(const std::vector<Entry>& slots, std::uint64_t key) {
  const std::size_t mask = slots.size() - 1;
  std::size_t i = (Hash(key - 1) / kShards) & mask;
  while (slots[i].key != 0 && slots[i].key != key) i = (i + 1) & mask;
  return i;
}

void PollReports::Grow(Shard& shard) {
  std::vector<Entry> bigger(std::max(kFirstSlots, shard.slots.size() * 2));
  for (std::uint32_t& index : shard.used) {
    const Entry entry = shard.slots[index];
    const std::size_t at = Probe(bigger, entry.key);
    bigger[at] = entry;
    index = static_cast<std::uint32_t>(at);
  }
  shard.slots = std::move(bigger);
}

void PollReports::Note(std::uint64_t ticket, util::TimePoint due) {
  Shard& shard = shards_[Hash(ticket) % kShards];
  const std::uint64_t key = ticket + 1;
  if (key == 0) return;  // no ticket is numbered 2^64 - 1
  std::lock_guard lock(shard.mu);
  if (shard.slots.empty()) Grow(shard);
  std::size_t at = Probe(shard.slots, key);
  if (shard.slots[at].key == key) {
    shard.slots[at].due = std::max(shard.slots[at].due, due);
    return;
  }
  if (shard.used.size() >= kMaxPerShard) {
    shard.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if ((shard.used.size() + 1) * 2 > shard.slots.size()) {
    Grow(shard);
    at = Probe(shard.slots, key);
  }
  shard.slots[at] = Entry{key, due};
  shard.used.push_back(static_cast<std::uint32_t>(at));
}

void PollReports::KeepFrom(Shard& shard, std::size_t keep) {
  std::vector<Entry> rest;
  rest.reserve(shard.used.size() - keep);
  for (std::size_t i = keep; i < shard.used.size(); ++i) rest.push_back(shard.slots[shard.used[i]]);
  for (const std::uint32_t index : shard.used) shard.slots[index] = Entry{};
  shard.used.clear();
  for (const Entry& entry : rest) {
    const std::size_t at = Probe(shard.slots, entry.key);
    shard.slots[at] = entry;
    shard.used.push_back(static_cast<std::uint32_t>(at));
  }
}

void PollReports::Take(util::TimePoint now, std::size_t most, std::vector<std::string>& args) {
  for (Shard& shard : shards_) {
    if (most == 0) return;
    std::lock_guard lock(shard.mu);
    const std::size_t taken = std::min(most, shard.used.size());
    for (std::size_t i = 0; i < taken; ++i) {
      const Entry& entry = shard.slots[shard.used[i]];
      const std::int64_t after_ms = std::max<std::int64_t>(0, util::ToMillis(entry.due - now));
      args.push_back(std::to_string(entry.key - 1));
      args.push_back(std::to_string(after_ms));
    }
    most -= taken;
    if (taken == shard.used.size()) {
      for (const std::uint32_t index : shard.used) shard.slots[index] = Entry{};
      shard.used.clear();
    } else {
      KeepFrom(shard, taken);
    }
  }
}

std::uint64_t PollReports::dropped() const {
  std::uint64_t n = 0;
  for (const Shard& s : shards_) n += s.dropped.load(std::memory_order_relaxed);
  return n;
}

std::size_t PollReports::pending() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.used.size();
  }
  return n;
}

}  // namespace vwr::store
