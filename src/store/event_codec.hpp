#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/room_events.hpp"

namespace vwr::store {

// The binary encoding of one room event: the payload of one journal or snapshot record. These
// bytes are on disk, so the format below only ever grows: a tag is never renumbered or reused,
// and an event whose fields change gets a new tag (the old one keeps decoding as before), except
// for fields appended after the last one and written only when set (PolicyChanged, SessionEnded,
// RoomCheckpoint): a record without them reads as before.
//
//   payload = tag (1 byte) | str(room_id) | fields of the event, in the order listed below
//
// Field encodings:
//   uN    unsigned LEB128 varint, canonical (no redundant trailing 0x80 / 0x00 groups), at most
//         10 bytes, value < 2^64
//   sN    signed: the zigzag of the value ((v << 1) ^ (v >> 63)) as a uN
//   ms    a std::chrono::milliseconds count, as an sN
//   str   uN byte length, then the bytes (any bytes; room id at most kMaxRoomIdBytes, identity
//         at most kMaxIdentityBytes)
//   bool  one byte, 0 or 1
//   f64   IEEE 754 binary64, 8 bytes little-endian, finite
//   enum  one byte, with the values listed here (independent of the C++ enumerator values):
//           Mode:       0 kFifo, 1 kPassthrough, 2 kReject, 3 kPause
//           EndReason:  1 kLeave, 2 kIdle
//           CallStatus: 0 kUnclaimed, 1 kClaimed, 2 kExpired
//
//   tag  event             fields
//   ---  ----------------  ----------------------------------------------------------------
//     0  (never used: a zeroed payload does not decode)
//     1  TicketIssued      number uN, frontier_at_join uN, identity str
//     2  FrontierMoved     frontier uN, at_unix_ms sN
//     3  TicketClaimed     number uN, at_unix_ms sN, immediate bool
//     4  SessionSeen       number uN, at_unix_ms sN
//     5  SessionEnded      number uN, reason enum EndReason, then, only when above 0,
//                          at_unix_ms sN
//     6  CallExpired       number uN
//     7  PolicyChanged     base policy, policy policy, then, only when either is set
//                          base session_max ms, policy session_max ms (zigzag varints)
//     8  RoomCheckpoint    last_issued, frontier, pending_base, joins, rejected, full,
//                          admissions, immediate, no_shows, expired_sessions, leaves (all uN),
//                          then, only when any is not 0, session_lengths: 12 bucket counts and
//                          sum_ms (all uN)
//     9  CallRestored      number uN, called_unix_ms sN, status enum CallStatus
//    10  SessionRestored   number uN, admitted_unix_ms sN, last_seen_unix_ms sN, identity str
//    11  IdentityRestored  number uN, frontier_at_join uN, identity str
//    12  BypassAdmitted    number uN, at_unix_ms sN, identity str
//    13  BypassCheckpoint  issued uN, bypass uN
//    14  TicketWithdrawn   number uN
//    15  WithdrawnCheckpoint withdrawn uN
//    16  TicketAbandoned   number uN
//    17  AbandonedCheckpoint abandoned uN
//    18  TicketsDrawn      first uN, count uN (at most core::kMaxDrawnTickets), then count
//                          tickets uN (the ticket at each place from first on; that they are a
//                          permutation of the range is the room's to check)
//
//   policy = max_active sN, admit_rate f64, burst sN, session_timeout ms, claim_grace ms,
//            mode enum Mode, queue_limit sN, poll_min ms, poll_max ms
//
// Decoding accepts exactly the bytes EncodeEvent produces for some (room id, event) within the
// limits: one encoding per value, so whatever decodes re-encodes to the same bytes. It checks the
// format only, not meaning (a PolicyChanged's policies are not run through ValidatePolicy, a
// negative admit_rate decodes); the caller applying the event decides what it accepts.
//
// Stateless and thread-safe.

inline constexpr std::size_t kMaxRoomIdBytes = 64;
inline constexpr std::size_t kMaxIdentityBytes = 256;

// Appends the encoding of `event` for room `room_id` to `out`. Never fails; allocates nothing
// except to grow `out`. The caller keeps room ids and identities within the limits above (config
// and the public API already do): a record written beyond them would not decode on replay.
void EncodeEvent(std::string_view room_id, const core::RoomEvent& event, std::string& out);

struct DecodedEvent {
  std::string room_id;
  core::RoomEvent event;
};

// Decodes one record payload: exactly what EncodeEvent appended for one event. nullopt when the
// payload is malformed in any way (unknown tag, truncated, trailing bytes, non-canonical varint,
// out-of-range enum or bool byte, string over its limit, non-finite admit_rate). Never throws or
// crashes for any input, and allocates at most the two bounded strings it returns, or a draw's
// order of no more tickets than the payload has bytes.
std::optional<DecodedEvent> DecodeEvent(std::span<const std::uint8_t> payload);

}  // namespace vwr::store
