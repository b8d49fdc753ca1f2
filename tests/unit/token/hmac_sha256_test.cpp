#include "token/hmac_sha256.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "util/random.hpp"

namespace vwr::token {
namespace {

std::string Hex(const HmacSha256::Digest& digest) { return util::HexEncode(digest); }

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(HmacSha256, MatchesRfc4231Vectors) {
  // Test case 1.
  const std::vector<std::uint8_t> key1(20, 0x0b);
  EXPECT_EQ(Hex(HmacSha256(key1).Compute("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: key shorter than the digest.
  EXPECT_EQ(Hex(HmacSha256(Bytes("Jefe")).Compute("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: key longer than the block, hashed first.
  const std::vector<std::uint8_t> key6(131, 0xaa);
  EXPECT_EQ(Hex(HmacSha256(key6).Compute("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, MatchesOpenSslForManyLengthsAndPieces) {
  for (std::size_t key_length : {0, 1, 32, 63, 64, 65, 200}) {
    std::vector<std::uint8_t> key(key_length);
    util::SecureRandom(key);
    const HmacSha256 mac(key);
    for (std::size_t length = 0; length < 300; length += 17) {
      std::vector<std::uint8_t> message(length);
      util::SecureRandom(message);
      HmacSha256::Digest want;
      unsigned int want_length = 0;
      // OpenSSL refuses a null key pointer, which an empty vector may have.
      static const unsigned char kEmpty[1] = {0};
      HMAC(EVP_sha256(), key.empty() ? kEmpty : key.data(), static_cast<int>(key.size()),
           message.data(), message.size(), want.data(), &want_length);
      ASSERT_EQ(want_length, want.size());
      EXPECT_EQ(mac.Compute(message), want);

      HmacSha256::Stream stream = mac.Begin();
      const std::size_t half = length / 2;
      stream.Update(std::span(message.data(), half));
      stream.Update(std::span(message.data() + half, length - half));
      EXPECT_EQ(stream.Finish(), want);
    }
  }
}

}  // namespace
}  // namespace vwr::token
