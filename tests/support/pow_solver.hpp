#pragma once

// Solving proof-of-work challenges as the SDK does (decimal nonces counted from 0), for the
// tests of token::ChallengeCodec and of joins that must bring a proof. Test code only.

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "token/challenge.hpp"

namespace vwr::testing {

// SHA-256 of a followed by b.
inline std::array<std::uint8_t, 32> PowSha256(std::string_view a, std::string_view b) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, a.data(), a.size());
  SHA256_Update(&ctx, b.data(), b.size());
  std::array<std::uint8_t, 32> d{};
  SHA256_Final(d.data(), &ctx);
#pragma GCC diagnostic pop
  return d;
}

// The first decimal nonce that solves `challenge` at `difficulty`, as the SDK counts.
inline std::string SolvePow(std::string_view challenge, int difficulty) {
  for (std::uint64_t n = 0;; ++n) {
    std::string nonce = std::to_string(n);
    if (token::HasLeadingZeroBits(PowSha256(challenge, nonce), difficulty)) return nonce;
  }
}

// A nonce that does not solve it.
inline std::string MissPow(std::string_view challenge, int difficulty) {
  for (std::uint64_t n = 0;; ++n) {
    std::string nonce = std::to_string(n);
    if (!token::HasLeadingZeroBits(PowSha256(challenge, nonce), difficulty)) return nonce;
  }
}

}  // namespace vwr::testing
