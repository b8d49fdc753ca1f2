#include "util/siphash.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vwr::util {
namespace {

// The reference key 00 01 .. 0f and messages 00 01 .. (n-1) of the SipHash paper's test
// vectors; the expected values also agree with OpenSSL's SIPHASH MAC (size 8).
constexpr SipHashKey kReferenceKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

std::uint64_t OfPrefix(std::size_t n) {
  std::vector<unsigned char> message(n);
  for (std::size_t i = 0; i < n; ++i) message[i] = static_cast<unsigned char>(i);
  return SipHash24(kReferenceKey, message.data(), message.size());
}

TEST(SipHash24, MatchesTheReferenceVectors) {
  EXPECT_EQ(OfPrefix(0), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(OfPrefix(8), 0x93f5f5799a932462ULL);
  EXPECT_EQ(OfPrefix(15), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(OfPrefix(16), 0x3f2acc7f57c29bdbULL);
  EXPECT_EQ(OfPrefix(63), 0x958a324ceb064572ULL);
  EXPECT_EQ(SipHash24(SipHashKey{0xefcdab8967452301ULL, 0x1032547698badcfeULL}, "hello, guard"),
            0xb45911d4a8078f3fULL);
}

TEST(SipHash24, TheKeyDecidesWhereInputsLand) {
  const SipHashKey a = RandomSipHashKey();
  const SipHashKey b = RandomSipHashKey();
  EXPECT_FALSE(a.k0 == b.k0 && a.k1 == b.k1);
  EXPECT_EQ(SipHash24(a, "203.0.113.7"), SipHash24(a, std::string("203.0.113.7")));
  EXPECT_NE(SipHash24(a, "203.0.113.7"), SipHash24(b, "203.0.113.7"));
  EXPECT_NE(SipHash24(a, "203.0.113.7"), SipHash24(a, "203.0.113.8"));
  EXPECT_NE(SipHash24(a, std::string_view()), SipHash24(a, std::string_view("\0", 1)));
}

}  // namespace
}  // namespace vwr::util
