#include "util/siphash.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "util/random.hpp"

namespace vwr::util {
namespace {

struct State {
  std::uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  void Absorb(std::uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

// The 8 bytes at `p` as a little-endian word, whatever the host's byte order.
std::uint64_t LoadLittle(const unsigned char* p) {
  std::uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
  return word;
}

}  // namespace

SipHashKey RandomSipHashKey() { return SipHashKey{SecureRandom64(), SecureRandom64()}; }

std::uint64_t SipHash24(const SipHashKey& key, const void* data, std::size_t size) {
  State s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
          key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  const auto* in = static_cast<const unsigned char*>(data);
  const std::size_t whole = size & ~static_cast<std::size_t>(7);
  for (std::size_t i = 0; i < whole; i += 8) s.Absorb(LoadLittle(in + i));
  // The last 0..7 bytes, with the length's low byte on top.
  std::array<unsigned char, 8> tail{};
  if (size > whole) std::memcpy(tail.data(), in + whole, size - whole);
  tail[7] = static_cast<unsigned char>(size);
  s.Absorb(LoadLittle(tail.data()));
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace vwr::util
