#include "token/challenge.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "util/base64.hpp"
#include "util/random.hpp"

// SHA256_* are deprecated in OpenSSL 3 but allocate nothing (EVP_Digest* fetches a provider per
// use); see token/hmac_sha256.cpp.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vwr::token {
namespace {

constexpr std::uint8_t kVersion = 0x01;
constexpr std::size_t kRandomBytes = 16;
constexpr std::size_t kMacBytes = 16;
constexpr std::size_t kPayloadBytes = 1 + 8 + 1 + kRandomBytes;
constexpr std::size_t kTotalBytes = kPayloadBytes + kMacBytes;
static_assert(util::Base64UrlEncodedLength(kTotalBytes) == ChallengeCodec::kChallengeLength);

using Mac = std::array<std::uint8_t, kMacBytes>;

Mac MacOf(const token::HmacSha256& key, std::string_view room,
          std::span<const std::uint8_t> payload) {
  token::HmacSha256::Stream s = key.Begin();
  s.Update(room);
  const std::uint8_t sep = 0;
  s.Update(std::span<const std::uint8_t>(&sep, 1));
  s.Update(payload);
  const token::HmacSha256::Digest d = s.Finish();
  Mac mac;
  std::copy_n(d.begin(), kMacBytes, mac.begin());
  return mac;
}

bool IsNonceChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string_view PowErrorName(PowError error) {
  switch (error) {
    case PowError::kRequired:
      return "required";
    case PowError::kInvalid:
      return "invalid";
    case PowError::kExpired:
      return "expired";
  }
  return "invalid";
}

bool HasLeadingZeroBits(std::span<const std::uint8_t> digest, int bits) {
  if (bits <= 0) return true;
  const auto whole = static_cast<std::size_t>(bits / 8);
  if (whole > digest.size() || (whole == digest.size() && bits % 8 != 0)) return false;
  for (std::size_t i = 0; i < whole; ++i) {
    if (digest[i] != 0) return false;
  }
  const int rest = bits % 8;
  if (rest == 0) return true;
  return (digest[whole] >> (8 - rest)) == 0;
}

ChallengeCodec::ChallengeCodec(const token::SecretKey& master)
    : mac_(token::DeriveKey(master, "vwr.challenge.v1").bytes) {}

std::string ChallengeCodec::Issue(std::string_view room, int difficulty,
                                  std::int64_t expires_ms) const {
  std::array<std::uint8_t, kTotalBytes> bytes{};
  bytes[0] = kVersion;
  const auto exp = static_cast<std::uint64_t>(expires_ms);
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<std::uint8_t>(exp >> (56 - 8 * i));
  bytes[9] = static_cast<std::uint8_t>(std::clamp(difficulty, 0, kMaxDifficulty));
  util::SecureRandom(std::span<std::uint8_t>(bytes.data() + 10, kRandomBytes));
  const Mac mac = MacOf(mac_, room, std::span<const std::uint8_t>(bytes.data(), kPayloadBytes));
  std::copy(mac.begin(), mac.end(), bytes.begin() + kPayloadBytes);
  return util::Base64UrlEncode(std::span<const std::uint8_t>(bytes));
}

ChallengeCodec::Result ChallengeCodec::Verify(std::string_view room, std::string_view challenge,
                                              std::string_view nonce, std::int64_t now_ms,
                                              int required_difficulty) const {
  Result r;
  if (challenge.empty() || nonce.empty()) {
    r.error = PowError::kRequired;
    return r;
  }
  r.error = PowError::kInvalid;
  if (challenge.size() != kChallengeLength || nonce.size() > kMaxNonceLength ||
      !std::all_of(nonce.begin(), nonce.end(), IsNonceChar)) {
    return r;
  }
  std::array<std::uint8_t, kTotalBytes> bytes{};
  const std::optional<std::size_t> n = util::Base64UrlDecodeInto(challenge, bytes);
  if (!n || *n != kTotalBytes || bytes[0] != kVersion) return r;
  const Mac mac = MacOf(mac_, room, std::span<const std::uint8_t>(bytes.data(), kPayloadBytes));
  // Constant time: a forger learns nothing from how long a wrong MAC takes to refuse.
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < kMacBytes; ++i) {
    diff = static_cast<std::uint8_t>(diff | (mac[i] ^ bytes[kPayloadBytes + i]));
  }
  if (diff != 0) return r;
  std::uint64_t exp = 0;
  for (int i = 0; i < 8; ++i) exp = (exp << 8) | bytes[1 + i];
  r.claims.expires_ms = static_cast<std::int64_t>(exp);
  r.claims.difficulty = bytes[9];
  if (r.claims.difficulty < required_difficulty) return r;
  if (now_ms >= r.claims.expires_ms) {
    r.error = PowError::kExpired;
    return r;
  }
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, challenge.data(), challenge.size());
  SHA256_Update(&ctx, nonce.data(), nonce.size());
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256_Final(digest.data(), &ctx);
  if (!HasLeadingZeroBits(digest, r.claims.difficulty)) return r;
  r.ok = true;
  return r;
}

}  // namespace vwr::token
