#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash made for hash tables that face
// chosen input. Without the key, nobody can tell which inputs share a bucket, so an attacker
// cannot aim collisions at a victim's key. Its output is a 64-bit pseudo-random function of the
// input, not a MAC to check messages with (use HMAC-SHA256 for that, token/hmac_sha256.hpp).
namespace vwr::util {

struct SipHashKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};

// A key from the kernel's secure random source.
SipHashKey RandomSipHashKey();

// SipHash-2-4 of `size` bytes at `data`; no allocation, no branch on the data's values.
std::uint64_t SipHash24(const SipHashKey& key, const void* data, std::size_t size);

inline std::uint64_t SipHash24(const SipHashKey& key, std::string_view text) {
  return SipHash24(key, text.data(), text.size());
}

}  // namespace vwr::util
