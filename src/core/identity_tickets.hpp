#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/siphash.hpp"

namespace vwr::core {

// The places that identities hold in a room's line: identity -> (ticket, frontier at join), so
// that a second join by the same identity gets its ticket back, and ticket -> identity, so that
// the session a ticket becomes carries it and a spent ticket lets it go. Ten million waiting users
// with an identity must fit in well under a GiB, so nothing here is a node on the heap:
//
//   chunks_       one 32-byte record per identity, packed (an erase moves the last record into
//                 the hole), in chunks of 4096 that never move (no copy as the line grows, at most
//                 two chunks not full): the identity's key, its ticket, the frontier when it
//                 joined. A node holds identities as 22-character pseudonyms
//                 (token::IdentityPseudonyms), the base64url text of 16 bytes, so the key is those
//                 16 bytes: the text comes back from them exactly (decoding is strict: one text per
//                 byte string). Any other text (Room takes any identity; tests use "alice")
//                 is kept whole in long_identities_, and the key holds its index there.
//   by_identity_  open addressing over the records: a 1-byte control per slot (empty, removed,
//   by_ticket_    or 7 bits of the hash) and a 4-byte record index. Linear probing, at most 7/8
//                 of the slots used; a removal leaves a marker only where a probe may pass
//                 through. by_identity_ hashes any text with SipHash-2-4 under this table's own
//                 random key, and mixes a pseudonym's bytes (an HMAC output: nobody chooses
//                 them) with that key; by_ticket_ mixes the ticket number with it (numbers are
//                 issued in order by the room: nobody chooses them either).
//
// About 32 bytes per record and 5 bytes per slot of each index, 43 to 55 bytes per identity
// in all. Lookups compare the full key, so two identities are never confused whatever their
// hashes; the hashes are keyed so that nobody who picks identities can know which ones share a
// probe sequence (and make every join walk a long one).
//
// Ticket -> identity is the inverse of identity -> ticket: holding a new ticket lets the old one
// go, and a ticket held by a second identity (only a damaged record could say so) is that
// identity's from then on (the first keeps its ticket, found by identity only), as a map from
// tickets to identities overwritten by the later record would answer.
//
// Records are indexed by 32 bits: at most 2^32 - 1 identities (far above what memory allows).
// Not thread-safe (the room's owner serialises access).
class IdentityTickets {
 public:
  struct Held {
    std::uint64_t ticket = 0;
    std::uint64_t frontier_at_join = 0;
  };

  // Keyed from the kernel's random source.
  IdentityTickets();
  // Keyed with `key` (tests that need to know which identities collide).
  explicit IdentityTickets(const util::SipHashKey& key);

  // What `identity` holds, if anything.
  std::optional<Held> Find(std::string_view identity) const;
  // `identity` holds `held` from now on (a ticket it held before is let go).
  void Hold(std::string_view identity, Held held);
  // The identity holding `ticket`, or "" when none does.
  std::string IdentityOf(std::uint64_t ticket) const;
  // Lets go of the identity holding `ticket`. False when none did.
  bool ForgetTicket(std::uint64_t ticket);
  void Clear();
  // Makes room for `count` identities without growing again (a restore that knows its size).
  void Reserve(std::size_t count);

  std::size_t size() const { return size_; }
  // Calls `visit` with each identity and what it holds, in no particular order. The view is
  // valid during the call only.
  void ForEach(const std::function<void(std::string_view identity, const Held& held)>& visit) const;

  // Heap bytes held (capacity, not size): what the table costs.
  std::size_t AllocatedBytes() const;
  // The longest probe sequence of any identity, in slots (1: found at its home slot). For
  // tests of how identities spread.
  std::size_t LongestProbe() const;

 private:
  struct Entry {
    std::array<std::uint8_t, 16> key{};  // pseudonym bytes, or the index of the long text
    std::uint64_t ticket = 0;
    std::uint64_t frontier_at_join = 0;
  };
  static_assert(sizeof(Entry) == 32);

  // An open-addressing index of record numbers (see the class comment).
  static constexpr std::uint32_t kNoRecord = ~std::uint32_t{0};
  static constexpr std::size_t kChunkShift = 12;
  static constexpr std::size_t kChunk = std::size_t{1} << kChunkShift;

  struct Index {
    std::vector<std::uint8_t> control;  // capacity: 0 or a power of two
    std::vector<std::uint32_t> entry;
    std::size_t full = 0;
    std::size_t removed = 0;
  };

  // An identity as looked up: its key and hash.
  struct Probe {
    bool compact = false;
    std::array<std::uint8_t, 16> bytes{};
    std::string_view text;
    std::uint64_t hash = 0;
  };

  Probe ProbeOf(std::string_view identity) const;
  bool Matches(const Probe& probe, std::uint32_t index) const;
  std::uint64_t IdentityHashOf(std::uint32_t index) const;
  std::uint64_t TicketHash(std::uint64_t ticket) const;
  Entry& At(std::uint32_t index) { return chunks_[index >> kChunkShift][index & (kChunk - 1)]; }
  const Entry& At(std::uint32_t index) const {
    return chunks_[index >> kChunkShift][index & (kChunk - 1)];
  }
  void Append(const Entry& entry, bool long_key);
  void PopBack();
  std::string_view LongText(std::uint32_t index) const;
  std::optional<std::size_t> FindIdentitySlot(const Probe& probe) const;
  std::optional<std::size_t> FindTicketSlot(std::uint64_t ticket) const;
  // The by_ticket_ slot of record `index`, if it is the one holding its ticket.
  std::optional<std::size_t> TicketSlotOfEntry(std::uint32_t index) const;
  std::size_t IdentitySlotOfEntry(std::uint32_t index) const;
  // Rebuild an index with `slots` slots from the records, leaving out record `except` (one
  // being added).
  void RebuildIdentityIndex(std::size_t slots, std::uint32_t except = kNoRecord);
  void RebuildTicketIndex(std::size_t slots, std::uint32_t except = kNoRecord);
  void InsertIdentitySlot(std::uint64_t hash, std::uint32_t index);
  void LinkTicket(std::uint32_t index);
  void Erase(std::uint32_t index);
  void ShrinkIfSparse();

  util::SipHashKey key_;
  std::vector<std::vector<Entry>> chunks_;  // each reserved to kChunk
  std::size_t size_ = 0;                    // records
  std::vector<bool> long_key_;              // record i keeps its text in long_identities_
  std::vector<std::string> long_identities_;
  std::vector<std::uint32_t> free_long_;  // spare places in long_identities_
  Index by_identity_;
  Index by_ticket_;
  // Records whose ticket another identity holds since (not in by_ticket_).
  std::size_t orphans_ = 0;
};

}  // namespace vwr::core
