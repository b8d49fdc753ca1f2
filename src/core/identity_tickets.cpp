#include "core/identity_tickets.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <span>

#include "util/base64.hpp"

namespace vwr::core {
namespace {

// A pseudonym: the base64url text of 16 bytes (token::IdentityPseudonyms).
constexpr std::size_t kPseudonymLength = 22;
constexpr std::size_t kPseudonymBytes = 16;
static_assert(util::Base64UrlEncodedLength(kPseudonymBytes) == kPseudonymLength);

// Control bytes: a used slot holds the top 7 bits of its hash (0..127).
constexpr std::uint8_t kEmpty = 0x80;
constexpr std::uint8_t kRemoved = 0xFE;
constexpr std::size_t kMinSlots = 16;

std::uint8_t TagOf(std::uint64_t hash) { return static_cast<std::uint8_t>(hash >> 57); }

// The fewest slots (a power of two) that hold `count` records at most `sixteenths`/16 full.
std::size_t SlotsFor(std::size_t count, std::size_t sixteenths) {
  return std::max(kMinSlots, std::bit_ceil((count * 16 + sixteenths - 1) / sixteenths));
}
// A rebuild leaves the table at most 7/16 full: room to grow by as much again before the next.
constexpr std::size_t kRebuiltLoad = 7;
constexpr std::size_t kMaxLoad = 14;

template <class Index, class Match>
std::optional<std::size_t> FindSlot(const Index& index, std::uint64_t hash, Match&& match) {
  if (index.control.empty()) return std::nullopt;
  const std::size_t mask = index.control.size() - 1;
  const std::uint8_t tag = TagOf(hash);
  // At most 7/8 of the slots are used, so an empty one ends every probe.
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint8_t control = index.control[slot];
    if (control == kEmpty) return std::nullopt;
    if (control == tag && match(index.entry[slot])) return slot;
  }
}

// Places record `value` in the first free slot of `hash`'s probe sequence; the index has room.
template <class Index>
void Place(Index& index, std::uint64_t hash, std::uint32_t value) {
  const std::size_t mask = index.control.size() - 1;
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint8_t control = index.control[slot];
    if (control == kEmpty || control == kRemoved) {
      if (control == kRemoved) --index.removed;
      index.control[slot] = TagOf(hash);
      index.entry[slot] = value;
      ++index.full;
      return;
    }
  }
}

// Rebuilds `index` with `slots` slots (no markers left), placing each record it holds by
// `hash_of`. (Slow for a large table: its records are read in slot order, which is random.)
template <class Index, class HashOf>
void Rebuild(Index& index, std::size_t slots, HashOf&& hash_of) {
  Index rebuilt;
  rebuilt.control.assign(slots, kEmpty);
  rebuilt.entry.assign(slots, 0);
  for (std::size_t slot = 0; slot < index.control.size(); ++slot) {
    if (index.control[slot] < kEmpty) Place(rebuilt, hash_of(index.entry[slot]), index.entry[slot]);
  }
  index = std::move(rebuilt);
}

// The slots to rebuild `index` at before it takes one more record, or 0 when it has room: at
// 7/8 of the slots used, the same size when removal markers are most of them, twice the size
// otherwise.
template <class Index>
std::size_t GrowthFor(const Index& index) {
  const std::size_t slots = index.control.size();
  if ((index.full + index.removed + 1) * 16 <= slots * kMaxLoad) return 0;
  if (slots == 0) return kMinSlots;
  return (index.full + 1) * 16 > slots * kRebuiltLoad ? slots * 2 : slots;
}

template <class Index>
void EraseSlot(Index& index, std::size_t slot) {
  const std::size_t mask = index.control.size() - 1;
  --index.full;
  if (index.control[(slot + 1) & mask] != kEmpty) {
    // A probe for a record further on may pass through here.
    index.control[slot] = kRemoved;
    ++index.removed;
    return;
  }
  // Nothing lies beyond: this slot, and the markers right before it, end no probe any more.
  index.control[slot] = kEmpty;
  for (std::size_t before = (slot + mask) & mask; index.control[before] == kRemoved;
       before = (before + mask) & mask) {
    index.control[before] = kEmpty;
    --index.removed;
  }
}

template <class Index>
std::size_t IndexBytes(const Index& index) {
  return index.control.capacity() + index.entry.capacity() * sizeof(std::uint32_t);
}

// The finaliser of MurmurHash3: ticket numbers are issued by the room (one after the other), not
// chosen by anyone, so a good mix of the key and the number spreads them.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb3f99ab49a53ULL;
  x ^= x >> 33;
  return x;
}

// Where a pseudonym's 16 bytes go. They are an HMAC-SHA256 under the node's identity key
// (token::IdentityPseudonyms), so nobody can choose them to collide: they need no keyed hash
// of their own, only this table's key mixed in so that no two tables probe alike. (SipHash-2-4
// here made a restart that replays ten million joins spend a fifth of its time hashing: every
// growth of the index hashes every identity again.)
std::uint64_t SpreadPseudonym(const util::SipHashKey& key,
                              const std::array<std::uint8_t, kPseudonymBytes>& bytes) {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  std::memcpy(&low, bytes.data(), sizeof(low));
  std::memcpy(&high, bytes.data() + sizeof(low), sizeof(high));
  return Mix(low ^ key.k0 ^ Mix(high ^ key.k1));
}

}  // namespace

IdentityTickets::IdentityTickets() : IdentityTickets(util::RandomSipHashKey()) {}

IdentityTickets::IdentityTickets(const util::SipHashKey& key) : key_(key) {}

IdentityTickets::Probe IdentityTickets::ProbeOf(std::string_view identity) const {
  Probe probe;
  probe.text = identity;
  // Strict decoding: only the one canonical text of 16 bytes is held as those bytes.
  probe.compact = identity.size() == kPseudonymLength &&
                  util::Base64UrlDecodeInto(identity, probe.bytes) == kPseudonymBytes;
  probe.hash = probe.compact ? SpreadPseudonym(key_, probe.bytes) : util::SipHash24(key_, identity);
  return probe;
}

void IdentityTickets::Append(const Entry& entry, bool long_key) {
  if ((size_ >> kChunkShift) == chunks_.size()) {
    chunks_.emplace_back();
    chunks_.back().reserve(kChunk);
  }
  chunks_[size_ >> kChunkShift].push_back(entry);
  long_key_.push_back(long_key);
  ++size_;
}

void IdentityTickets::PopBack() {
  --size_;
  chunks_[size_ >> kChunkShift].pop_back();
  long_key_.pop_back();
  // One empty chunk is kept as a spare, so that a line hovering at a chunk's edge does not
  // allocate and free a chunk at every join.
  const std::size_t needed = (size_ + kChunk - 1) >> kChunkShift;
  if (chunks_.size() > needed + 1) chunks_.pop_back();
}

std::string_view IdentityTickets::LongText(std::uint32_t index) const {
  std::uint32_t place = 0;
  std::memcpy(&place, At(index).key.data(), sizeof(place));
  return long_identities_[place];
}

bool IdentityTickets::Matches(const Probe& probe, std::uint32_t index) const {
  if (probe.compact != !long_key_[index]) return false;
  return probe.compact ? At(index).key == probe.bytes : LongText(index) == probe.text;
}

std::uint64_t IdentityTickets::IdentityHashOf(std::uint32_t index) const {
  if (long_key_[index]) return util::SipHash24(key_, LongText(index));
  return SpreadPseudonym(key_, At(index).key);
}

std::uint64_t IdentityTickets::TicketHash(std::uint64_t ticket) const {
  return Mix(ticket ^ key_.k0);
}

std::optional<std::size_t> IdentityTickets::FindIdentitySlot(const Probe& probe) const {
  return FindSlot(by_identity_, probe.hash,
                  [&](std::uint32_t index) { return Matches(probe, index); });
}

std::optional<std::size_t> IdentityTickets::FindTicketSlot(std::uint64_t ticket) const {
  return FindSlot(by_ticket_, TicketHash(ticket),
                  [&](std::uint32_t index) { return At(index).ticket == ticket; });
}

std::optional<std::size_t> IdentityTickets::TicketSlotOfEntry(std::uint32_t index) const {
  return FindSlot(by_ticket_, TicketHash(At(index).ticket),
                  [&](std::uint32_t held) { return held == index; });
}

std::size_t IdentityTickets::IdentitySlotOfEntry(std::uint32_t index) const {
  // Every record is in by_identity_.
  return *FindSlot(by_identity_, IdentityHashOf(index),
                   [&](std::uint32_t held) { return held == index; });
}

std::optional<IdentityTickets::Held> IdentityTickets::Find(std::string_view identity) const {
  if (size_ == 0) return std::nullopt;
  const std::optional<std::size_t> slot = FindIdentitySlot(ProbeOf(identity));
  if (!slot) return std::nullopt;
  const Entry& entry = At(by_identity_.entry[*slot]);
  return Held{entry.ticket, entry.frontier_at_join};
}

void IdentityTickets::RebuildIdentityIndex(std::size_t slots, std::uint32_t except) {
  // Every record is in by_identity_ (but `except`, being added): they are placed in record
  // order, which reads them one after the other.
  Index rebuilt;
  rebuilt.control.assign(slots, kEmpty);
  rebuilt.entry.assign(slots, 0);
  for (std::uint32_t index = 0; index < size_; ++index) {
    if (index != except) Place(rebuilt, IdentityHashOf(index), index);
  }
  by_identity_ = std::move(rebuilt);
}

void IdentityTickets::RebuildTicketIndex(std::size_t slots, std::uint32_t except) {
  if (orphans_ > 0) {
    // Some records are not in by_ticket_: only the index itself knows which are.
    Rebuild(by_ticket_, slots, [&](std::uint32_t held) { return TicketHash(At(held).ticket); });
    return;
  }
  Index rebuilt;
  rebuilt.control.assign(slots, kEmpty);
  rebuilt.entry.assign(slots, 0);
  for (std::uint32_t index = 0; index < size_; ++index) {
    if (index != except) Place(rebuilt, TicketHash(At(index).ticket), index);
  }
  by_ticket_ = std::move(rebuilt);
}

void IdentityTickets::InsertIdentitySlot(std::uint64_t hash, std::uint32_t index) {
  if (const std::size_t slots = GrowthFor(by_identity_)) RebuildIdentityIndex(slots, index);
  Place(by_identity_, hash, index);
}

void IdentityTickets::LinkTicket(std::uint32_t index) {
  if (const std::optional<std::size_t> slot = FindTicketSlot(At(index).ticket)) {
    // Another identity held it: this one does from now on, and that one keeps its ticket
    // unfound by number.
    by_ticket_.entry[*slot] = index;
    ++orphans_;
    return;
  }
  if (const std::size_t slots = GrowthFor(by_ticket_)) RebuildTicketIndex(slots, index);
  Place(by_ticket_, TicketHash(At(index).ticket), index);
}

void IdentityTickets::Hold(std::string_view identity, Held held) {
  const Probe probe = ProbeOf(identity);
  std::uint32_t index = 0;
  if (const std::optional<std::size_t> slot = FindIdentitySlot(probe)) {
    index = by_identity_.entry[*slot];
    // Its ticket's slot is placed by the number: out with it before the number changes.
    if (const std::optional<std::size_t> old = TicketSlotOfEntry(index)) {
      EraseSlot(by_ticket_, *old);
    } else {
      --orphans_;  // another identity took its ticket; it is found by its own again below
    }
  } else {
    // Memory runs out long before; were it not to, the identity would simply hold no place.
    if (size_ >= std::numeric_limits<std::uint32_t>::max()) return;
    index = static_cast<std::uint32_t>(size_);
    Entry entry;
    if (probe.compact) {
      entry.key = probe.bytes;
    } else {
      std::uint32_t place = 0;
      if (free_long_.empty()) {
        place = static_cast<std::uint32_t>(long_identities_.size());
        long_identities_.emplace_back(identity);
      } else {
        place = free_long_.back();
        free_long_.pop_back();
        long_identities_[place] = identity;
      }
      std::memcpy(entry.key.data(), &place, sizeof(place));
    }
    Append(entry, !probe.compact);
    InsertIdentitySlot(probe.hash, index);
  }
  At(index).ticket = held.ticket;
  At(index).frontier_at_join = held.frontier_at_join;
  LinkTicket(index);
}

std::string IdentityTickets::IdentityOf(std::uint64_t ticket) const {
  if (size_ == 0) return {};
  const std::optional<std::size_t> slot = FindTicketSlot(ticket);
  if (!slot) return {};
  const std::uint32_t index = by_ticket_.entry[*slot];
  if (long_key_[index]) return std::string(LongText(index));
  return util::Base64UrlEncode(At(index).key);
}

bool IdentityTickets::ForgetTicket(std::uint64_t ticket) {
  if (size_ == 0) return false;
  const std::optional<std::size_t> slot = FindTicketSlot(ticket);
  if (!slot) return false;
  const std::uint32_t index = by_ticket_.entry[*slot];
  EraseSlot(by_ticket_, *slot);
  Erase(index);
  return true;
}

void IdentityTickets::Erase(std::uint32_t index) {
  EraseSlot(by_identity_, IdentitySlotOfEntry(index));
  if (long_key_[index]) {
    std::uint32_t place = 0;
    std::memcpy(&place, At(index).key.data(), sizeof(place));
    std::string().swap(long_identities_[place]);
    free_long_.push_back(place);
  }
  // The last record fills the hole, so that records stay packed; its slots follow it.
  const auto last = static_cast<std::uint32_t>(size_ - 1);
  if (index != last) {
    const std::size_t identity_slot = IdentitySlotOfEntry(last);
    const std::optional<std::size_t> ticket_slot = TicketSlotOfEntry(last);
    At(index) = At(last);
    long_key_[index] = long_key_[last];
    by_identity_.entry[identity_slot] = index;
    if (ticket_slot) by_ticket_.entry[*ticket_slot] = index;
  }
  PopBack();
  ShrinkIfSparse();
}

void IdentityTickets::ShrinkIfSparse() {
  if (size_ == 0) {
    Clear();
    return;
  }
  // Under 1/8 full: a rebuild at 7/16 gives back most of what a line that has moved on left.
  auto sparse = [](const Index& index) {
    return index.control.size() > kMinSlots && index.full * 8 < index.control.size();
  };
  if (sparse(by_identity_)) RebuildIdentityIndex(SlotsFor(by_identity_.full, kRebuiltLoad));
  if (sparse(by_ticket_)) RebuildTicketIndex(SlotsFor(by_ticket_.full, kRebuiltLoad));
  if (long_key_.capacity() > 4 * kChunk && size_ * 4 < long_key_.capacity()) {
    long_key_.shrink_to_fit();
  }
  if (free_long_.size() > 1024 && free_long_.size() * 2 > long_identities_.size()) {
    // Most long texts are gone: pack the rest.
    std::vector<std::string> packed;
    packed.reserve(long_identities_.size() - free_long_.size());
    for (std::uint32_t index = 0; index < size_; ++index) {
      if (!long_key_[index]) continue;
      const auto place = static_cast<std::uint32_t>(packed.size());
      packed.emplace_back(LongText(index));
      std::memcpy(At(index).key.data(), &place, sizeof(place));
    }
    long_identities_ = std::move(packed);
    free_long_.clear();
    free_long_.shrink_to_fit();
  }
}

void IdentityTickets::Clear() {
  // Assigned anew, not cleared: a cleared vector keeps its capacity.
  chunks_ = std::vector<std::vector<Entry>>();
  size_ = 0;
  long_key_ = std::vector<bool>();
  long_identities_ = std::vector<std::string>();
  free_long_ = std::vector<std::uint32_t>();
  by_identity_ = Index();
  by_ticket_ = Index();
  orphans_ = 0;
}

void IdentityTickets::Reserve(std::size_t count) {
  if (count <= size_) return;
  long_key_.reserve(count);
  const std::size_t slots = SlotsFor(count, kMaxLoad);
  if (slots > by_identity_.control.size()) RebuildIdentityIndex(slots);
  if (slots > by_ticket_.control.size()) RebuildTicketIndex(slots);
}

void IdentityTickets::ForEach(
    const std::function<void(std::string_view identity, const Held& held)>& visit) const {
  std::string text;
  for (std::uint32_t index = 0; index < size_; ++index) {
    const Entry& entry = At(index);
    std::string_view identity;
    if (long_key_[index]) {
      identity = LongText(index);
    } else {
      text.clear();
      util::Base64UrlEncodeAppend(entry.key, text);
      identity = text;
    }
    visit(identity, Held{entry.ticket, entry.frontier_at_join});
  }
}

std::size_t IdentityTickets::AllocatedBytes() const {
  std::size_t bytes = chunks_.capacity() * sizeof(std::vector<Entry>) + long_key_.capacity() / 8 +
                      IndexBytes(by_identity_) + IndexBytes(by_ticket_) +
                      long_identities_.capacity() * sizeof(std::string) +
                      free_long_.capacity() * sizeof(std::uint32_t);
  for (const std::vector<Entry>& chunk : chunks_) bytes += chunk.capacity() * sizeof(Entry);
  for (const std::string& text : long_identities_) {
    if (text.capacity() > std::string().capacity()) bytes += text.capacity() + 1;
  }
  return bytes;
}

std::size_t IdentityTickets::LongestProbe() const {
  const std::size_t slots = by_identity_.control.size();
  std::size_t longest = 0;
  for (std::size_t slot = 0; slot < slots; ++slot) {
    if (by_identity_.control[slot] >= kEmpty) continue;
    const std::size_t home = IdentityHashOf(by_identity_.entry[slot]) & (slots - 1);
    longest = std::max(longest, ((slot + slots - home) & (slots - 1)) + 1);
  }
  return longest;
}

}  // namespace vwr::core
