#include "token/challenge.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "api/public_api.hpp"
#include "store/embedded_store.hpp"
#include "support/api_fixture.hpp"
#include "support/pow_solver.hpp"
#include "token/es256.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kNowMs = 1'800'000'000'000;

using testing::MissPow;
using testing::PowSha256;
using testing::SolvePow;

TEST(LeadingZeroBits, CountsBitsNotBytes) {
  std::array<std::uint8_t, 4> d{0x00, 0x0f, 0xff, 0xff};
  EXPECT_TRUE(HasLeadingZeroBits(d, 0));
  EXPECT_TRUE(HasLeadingZeroBits(d, 8));
  EXPECT_TRUE(HasLeadingZeroBits(d, 12));
  EXPECT_FALSE(HasLeadingZeroBits(d, 13));
  EXPECT_FALSE(HasLeadingZeroBits(d, 16));
  std::array<std::uint8_t, 2> zero{0, 0};
  EXPECT_TRUE(HasLeadingZeroBits(zero, 16));
  EXPECT_FALSE(HasLeadingZeroBits(zero, 17)) << "more bits than the digest has";
}

class ChallengeCodecTest : public ::testing::Test {
 protected:
  token::SecretKey key_{{7, 7, 7}};
  ChallengeCodec codec_{key_};
};

TEST_F(ChallengeCodecTest, ASolvedChallengeHolds) {
  const std::string c = codec_.Issue("sale", 10, kNowMs + 60'000);
  EXPECT_EQ(c.size(), ChallengeCodec::kChallengeLength);
  const ChallengeCodec::Result r = codec_.Verify("sale", c, SolvePow(c, 10), kNowMs, 10);
  ASSERT_TRUE(r.ok) << PowErrorName(r.error);
  EXPECT_EQ(r.claims.difficulty, 10);
  EXPECT_EQ(r.claims.expires_ms, kNowMs + 60'000);
  // Another node with the same master key verifies it too.
  ChallengeCodec other{key_};
  EXPECT_TRUE(other.Verify("sale", c, SolvePow(c, 10), kNowMs, 10).ok);
}

TEST_F(ChallengeCodecTest, ChallengesAreFresh) {
  EXPECT_NE(codec_.Issue("sale", 4, kNowMs), codec_.Issue("sale", 4, kNowMs));
}

TEST_F(ChallengeCodecTest, AWrongNonceIsInvalid) {
  const std::string c = codec_.Issue("sale", 12, kNowMs + 60'000);
  const ChallengeCodec::Result r = codec_.Verify("sale", c, MissPow(c, 12), kNowMs, 12);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, PowError::kInvalid);
}

TEST_F(ChallengeCodecTest, MissingPartsAreRequired) {
  const std::string c = codec_.Issue("sale", 4, kNowMs + 60'000);
  EXPECT_EQ(codec_.Verify("sale", "", "1", kNowMs, 4).error, PowError::kRequired);
  EXPECT_EQ(codec_.Verify("sale", c, "", kNowMs, 4).error, PowError::kRequired);
}

TEST_F(ChallengeCodecTest, ExpiresAtItsExpiry) {
  const std::string c = codec_.Issue("sale", 4, kNowMs + 1000);
  const std::string nonce = SolvePow(c, 4);
  EXPECT_TRUE(codec_.Verify("sale", c, nonce, kNowMs + 999, 4).ok);
  EXPECT_EQ(codec_.Verify("sale", c, nonce, kNowMs + 1000, 4).error, PowError::kExpired);
}

TEST_F(ChallengeCodecTest, ForgedAlteredOrForeignChallengesAreInvalid) {
  const std::string c = codec_.Issue("sale", 4, kNowMs + 60'000);
  const std::string nonce = SolvePow(c, 4);
  EXPECT_EQ(codec_.Verify("other", c, nonce, kNowMs, 4).error, PowError::kInvalid)
      << "another room's";
  ChallengeCodec stranger{token::SecretKey{{9}}};
  EXPECT_EQ(stranger.Verify("sale", c, nonce, kNowMs, 4).error, PowError::kInvalid)
      << "another key's";
  // Lowering the difficulty byte (or moving the expiry) breaks the MAC.
  std::string bytes = *util::Base64UrlDecode(c);
  bytes[9] = 0;
  const std::string easier = util::Base64UrlEncode(bytes);
  EXPECT_EQ(codec_.Verify("sale", easier, "0", kNowMs, 0).error, PowError::kInvalid);
  // Malformed texts and nonces.
  EXPECT_EQ(codec_.Verify("sale", c.substr(1), nonce, kNowMs, 4).error, PowError::kInvalid);
  EXPECT_EQ(codec_.Verify("sale", std::string(56, '!'), nonce, kNowMs, 4).error,
            PowError::kInvalid);
  EXPECT_EQ(codec_.Verify("sale", c, "1 2", kNowMs, 4).error, PowError::kInvalid);
  EXPECT_EQ(codec_.Verify("sale", c, std::string(65, '1'), kNowMs, 4).error, PowError::kInvalid);
}

TEST_F(ChallengeCodecTest, AnEasierChallengeThanTheRoomAsksIsRefused) {
  // The room was made harder after the challenge was issued.
  const std::string c = codec_.Issue("sale", 2, kNowMs + 60'000);
  EXPECT_EQ(codec_.Verify("sale", c, SolvePow(c, 2), kNowMs, 8).error, PowError::kInvalid);
}

}  // namespace
}  // namespace vwr::token
