#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "token/hmac_sha256.hpp"
#include "token/key.hpp"
#include "util/string_hash.hpp"

namespace vwr::token {

// Proof of work on join (rooms[].pow_difficulty). A client asks
// GET /api/v1/rooms/{room}/challenge for a challenge, finds a nonce such that
// SHA-256(challenge || nonce) starts with `difficulty` zero bits (about 2^difficulty hashes), and
// joins with both. The server checks it with one SHA-256 and one HMAC, and the room's store
// takes each challenge only once (RoomState::ConsumeOnce), so one solution buys one join.
//
// A challenge is stateless and signed: base64url without padding of
//
//   0x01 | expires_ms (8 bytes BE, unix ms) | difficulty (1 byte) | random (16 bytes) | mac
//
// where mac is the first 16 bytes of HMAC-SHA256(challenge_key, room || 0x00 || everything
// before the mac), challenge_key = DeriveKey(master, "vwr.challenge.v1"). Every node that shares
// the master key (secrets.ticket_key_file) verifies every other node's challenges. 56 characters.
//
// The nonce is what the client appends: 1 to kMaxNonceLength characters of [A-Za-z0-9_-]
// (the SDK counts in decimal). The hash is over the challenge text as sent, then the nonce text.

// What a room asks of a joining client (rooms[].pow_difficulty, pow_challenge_lifetime).
struct PowSetting {
  int difficulty = 0;  // leading zero bits; 0: no proof of work
  std::chrono::milliseconds lifetime{120'000};
};
using PowSettings = std::unordered_map<std::string, PowSetting, util::StringHash, std::equal_to<>>;

// Why a join's proof of work is not accepted (API codes pow_required, pow_invalid, pow_expired;
// pow_replayed comes from the store, see ConsumeOnce).
enum class PowError {
  kRequired = 1,  // no challenge or no nonce
  kInvalid,       // malformed, forged, another room's, too easy, or the hash misses the target
  kExpired,       // a genuine challenge past its expiry
};
std::string_view PowErrorName(PowError error);

// What a genuine challenge says.
struct ChallengeClaims {
  std::int64_t expires_ms = 0;
  int difficulty = 0;
};

class ChallengeCodec {
 public:
  static constexpr int kMaxDifficulty = 32;
  static constexpr std::size_t kChallengeLength = 56;
  static constexpr std::size_t kMaxNonceLength = 64;

  // `master`: the process master key (the one tickets are made from).
  explicit ChallengeCodec(const token::SecretKey& master);

  // A fresh challenge for `room` (random part from the kernel).
  std::string Issue(std::string_view room, int difficulty, std::int64_t expires_ms) const;

  // Checks a join's `challenge` and `nonce` for `room` at `now_ms`: genuine, for this room, not
  // expired, at least `required_difficulty` (a room made harder since it was issued refuses the
  // easier ones), and SHA-256(challenge || nonce) has the challenge's difficulty in leading zero
  // bits. Costs one HMAC and one SHA-256 of under 128 bytes; allocates nothing.
  // Replays are not this codec's business: the caller consumes the challenge in the store.
  struct Result {
    bool ok = false;
    PowError error = PowError::kInvalid;
    ChallengeClaims claims;
  };
  Result Verify(std::string_view room, std::string_view challenge, std::string_view nonce,
                std::int64_t now_ms, int required_difficulty) const;

 private:
  token::HmacSha256 mac_;
};

// Whether `digest` starts with at least `bits` zero bits (0..256).
bool HasLeadingZeroBits(std::span<const std::uint8_t> digest, int bits);

}  // namespace vwr::token
