#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "token/hmac_sha256.hpp"
#include "token/key.hpp"

namespace vwr::token {

// What a ticket says: a user's place in the line of one room during one lifetime of its state.
struct TicketClaims {
  std::uint64_t incarnation = 0;       // random id of the room's state lifetime
  std::uint64_t number = 0;            // ticket number, 1-based
  std::uint64_t frontier_at_join = 0;  // frontier when issued, gives initialPosition
  bool operator==(const TicketClaims&) const = default;
};

// Turns TicketClaims into the opaque string the client carries, and back.
//
// Wire format, base64url without padding:
//
//   0x01 | incarnation (8 bytes, big-endian) | varint(number) | varint(frontier_at_join) | mac
//
// varints are canonical unsigned LEB128; mac is the first 16 bytes of
// HMAC-SHA256(ticket_key, room || 0x00 || payload), where payload is everything before the mac.
// The room is bound through the MAC and not stored, so a ticket of room "a" fails in room "b".
// Tickets are 36 to 60 characters (39 to 44 for realistic numbers). Decode accepts exactly one
// text per claims: no trailing bytes, no redundant varint bytes, no non-zero base64 padding bits.
//
// The MAC key is derived from the master key (DeriveKey label "vwr.ticket.v1"), so pass the
// master key. Room ids must not contain NUL (Decode rejects them) so that room || 0x00 || payload
// is unambiguous.
//
// Decode runs on every status poll: it allocates nothing and costs two SHA-256 blocks plus the
// message (the HMAC key schedule is precomputed). Thread-safe after construction.
class TicketCodec {
 public:
  // Longer strings are rejected before any decoding.
  static constexpr std::size_t kMaxTicketLength = 128;

  explicit TicketCodec(const SecretKey& key);

  std::string Encode(std::string_view room, const TicketClaims& claims) const;
  // nullopt: malformed, wrong version, bad MAC, or issued for another room or key.
  std::optional<TicketClaims> Decode(std::string_view room, std::string_view ticket) const;

 private:
  HmacSha256 mac_;
};

}  // namespace vwr::token
