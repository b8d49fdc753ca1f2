#include "api/challenge.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "api/public_api.hpp"
#include "store/embedded_store.hpp"
#include "token/es256.hpp"
#include "unit/api/api_fixture.hpp"
#include "util/base64.hpp"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kNowMs = 1'800'000'000'000;

std::array<std::uint8_t, 32> Sha256(std::string_view a, std::string_view b) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, a.data(), a.size());
  SHA256_Update(&ctx, b.data(), b.size());
  std::array<std::uint8_t, 32> d{};
  SHA256_Final(d.data(), &ctx);
  return d;
}

// The first decimal nonce that solves `challenge` at `difficulty`, as the SDK counts.
std::string Solve(std::string_view challenge, int difficulty) {
  for (std::uint64_t n = 0;; ++n) {
    std::string nonce = std::to_string(n);
    if (HasLeadingZeroBits(Sha256(challenge, nonce), difficulty)) return nonce;
  }
}

// A nonce that does not solve it.
std::string Miss(std::string_view challenge, int difficulty) {
  for (std::uint64_t n = 0;; ++n) {
    std::string nonce = std::to_string(n);
    if (!HasLeadingZeroBits(Sha256(challenge, nonce), difficulty)) return nonce;
  }
}

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
  const ChallengeCodec::Result r = codec_.Verify("sale", c, Solve(c, 10), kNowMs, 10);
  ASSERT_TRUE(r.ok) << PowErrorName(r.error);
  EXPECT_EQ(r.claims.difficulty, 10);
  EXPECT_EQ(r.claims.expires_ms, kNowMs + 60'000);
  // Another node with the same master key verifies it too.
  ChallengeCodec other{key_};
  EXPECT_TRUE(other.Verify("sale", c, Solve(c, 10), kNowMs, 10).ok);
}

TEST_F(ChallengeCodecTest, ChallengesAreFresh) {
  EXPECT_NE(codec_.Issue("sale", 4, kNowMs), codec_.Issue("sale", 4, kNowMs));
}

TEST_F(ChallengeCodecTest, AWrongNonceIsInvalid) {
  const std::string c = codec_.Issue("sale", 12, kNowMs + 60'000);
  const ChallengeCodec::Result r = codec_.Verify("sale", c, Miss(c, 12), kNowMs, 12);
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
  const std::string nonce = Solve(c, 4);
  EXPECT_TRUE(codec_.Verify("sale", c, nonce, kNowMs + 999, 4).ok);
  EXPECT_EQ(codec_.Verify("sale", c, nonce, kNowMs + 1000, 4).error, PowError::kExpired);
}

TEST_F(ChallengeCodecTest, ForgedAlteredOrForeignChallengesAreInvalid) {
  const std::string c = codec_.Issue("sale", 4, kNowMs + 60'000);
  const std::string nonce = Solve(c, 4);
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
  EXPECT_EQ(codec_.Verify("sale", c, Solve(c, 2), kNowMs, 8).error, PowError::kInvalid);
}

// The public API over an embedded store on a fake clock.
class PowApiTest : public testing::EmbeddedApiFixture {
 protected:
  PowApiTest() {
    core::Policy p = OneAtATime();
    p.max_active = 100;
    MakeRooms({"a", "free"}, p);
    api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_);
    api_->SetPow({{"a", PowSetting{kDifficulty, seconds(10)}}});
  }

  Response Call(http::verb method, const std::string& target, std::string body = "") {
    return Send(*api_, method, target, std::move(body));
  }

  boost::json::object Challenge(const std::string& room = "a") {
    Response res = Call(http::verb::get, "/api/v1/rooms/" + room + "/challenge");
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return boost::json::parse(res.body()).as_object();
  }

  Response JoinWith(const std::string& challenge, const std::string& nonce,
                    const std::string& room = "a") {
    boost::json::object body{{"challenge", challenge}, {"nonce", nonce}};
    return Call(http::verb::post, "/api/v1/rooms/" + room + "/join", boost::json::serialize(body));
  }

  static std::string Code(const Response& res) {
    return std::string(boost::json::parse(res.body()).at("error").at("code").as_string());
  }

  static constexpr int kDifficulty = 8;
  std::unique_ptr<PublicApi> api_;
};

TEST_F(PowApiTest, TheChallengeSaysWhatToSolve) {
  const boost::json::object c = Challenge();
  EXPECT_EQ(c.at("difficulty").as_int64(), kDifficulty);
  EXPECT_EQ(c.at("ttlMs").as_int64(), 10'000);
  const std::int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(clock_.WallNow().time_since_epoch()).count();
  EXPECT_EQ(c.at("expiresAtMs").as_int64(), now_ms + 10'000);
  EXPECT_EQ(c.at("challenge").as_string().size(), ChallengeCodec::kChallengeLength);
}

TEST_F(PowApiTest, ASolvedJoinIsServedOnceAndAReplayIsRefused) {
  const std::string c(Challenge().at("challenge").as_string());
  const std::string nonce = Solve(c, kDifficulty);
  Response first = JoinWith(c, nonce);
  ASSERT_EQ(first.result(), http::status::ok) << first.body();
  EXPECT_EQ(boost::json::parse(first.body()).at("status"), "admitted");

  Response replay = JoinWith(c, nonce);
  EXPECT_EQ(replay.result(), http::status::forbidden);
  EXPECT_EQ(Code(replay), "pow_replayed");
  // Another nonce that also solves it changes nothing: the challenge is spent.
  std::string other;
  for (std::uint64_t n = std::stoull(nonce) + 1;; ++n) {
    if (HasLeadingZeroBits(Sha256(c, std::to_string(n)), kDifficulty)) {
      other = std::to_string(n);
      break;
    }
  }
  EXPECT_EQ(Code(JoinWith(c, other)), "pow_replayed");
}

TEST_F(PowApiTest, AJoinWithoutProofIsRequiredToBringOne) {
  Response res = Call(http::verb::post, "/api/v1/rooms/a/join", "{}");
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(Code(res), "pow_required");
  EXPECT_EQ(Code(Call(http::verb::post, "/api/v1/rooms/a/join")), "pow_required");
}

TEST_F(PowApiTest, AWrongNonceIsInvalidAndDoesNotSpendTheChallenge) {
  const std::string c(Challenge().at("challenge").as_string());
  Response bad = JoinWith(c, Miss(c, kDifficulty));
  EXPECT_EQ(bad.result(), http::status::forbidden);
  EXPECT_EQ(Code(bad), "pow_invalid");
  EXPECT_EQ(JoinWith(c, Solve(c, kDifficulty)).result(), http::status::ok);
}

TEST_F(PowApiTest, AnotherRoomsChallengeIsInvalid) {
  api_->SetPow({{"a", PowSetting{kDifficulty, seconds(10)}},
                {"free", PowSetting{kDifficulty, seconds(10)}}});
  const std::string c(Challenge("free").at("challenge").as_string());
  EXPECT_EQ(Code(JoinWith(c, Solve(c, kDifficulty), "a")), "pow_invalid");
}

TEST_F(PowApiTest, AChallengeIssuedBeforeTheNodeStartedIsRefusedAsExpired) {
  const std::string before(Challenge().at("challenge").as_string());
  clock_.Advance(seconds(1));
  // A restart of a node on the embedded store, which has forgotten which challenges were spent.
  api_->SetPowNotBefore(
      std::chrono::duration_cast<milliseconds>(clock_.WallNow().time_since_epoch()).count());
  Response old = JoinWith(before, Solve(before, kDifficulty));
  EXPECT_EQ(old.result(), http::status::forbidden);
  EXPECT_EQ(Code(old), "pow_expired") << "a new challenge is what the client needs";
  const std::string after(Challenge().at("challenge").as_string());
  EXPECT_EQ(JoinWith(after, Solve(after, kDifficulty)).result(), http::status::ok);
}

TEST_F(PowApiTest, AnExpiredChallengeIsRefused) {
  const std::string c(Challenge().at("challenge").as_string());
  const std::string nonce = Solve(c, kDifficulty);
  clock_.Advance(seconds(10));
  Response res = JoinWith(c, nonce);
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(Code(res), "pow_expired");
}

TEST_F(PowApiTest, ASpentChallengeIsForgottenOnlyAfterItsLifetime) {
  const std::string c(Challenge().at("challenge").as_string());
  const std::string nonce = Solve(c, kDifficulty);
  ASSERT_EQ(JoinWith(c, nonce).result(), http::status::ok);
  clock_.Advance(milliseconds(9'999));
  EXPECT_EQ(Code(JoinWith(c, nonce)), "pow_replayed");
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(Code(JoinWith(c, nonce)), "pow_expired");
}

TEST_F(PowApiTest, MalformedFieldsAreBadRequests) {
  Response res = Call(http::verb::post, "/api/v1/rooms/a/join", R"({"challenge":5,"nonce":"1"})");
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(Code(res), "bad_request");
  res = Call(http::verb::post, "/api/v1/rooms/a/join",
             R"({"challenge":")" + std::string(200, 'a') + R"(","nonce":"1"})");
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST_F(PowApiTest, DifficultyZeroAsksNothing) {
  EXPECT_EQ(Call(http::verb::post, "/api/v1/rooms/free/join").result(), http::status::ok);
  const boost::json::object c = Challenge("free");
  EXPECT_EQ(c.at("difficulty").as_int64(), 0);
  // A challenge brought anyway is ignored.
  EXPECT_EQ(JoinWith(std::string(c.at("challenge").as_string()), "0", "free").result(),
            http::status::ok);
  // And a room turned off on reload stops asking.
  api_->SetPow({});
  EXPECT_EQ(Call(http::verb::post, "/api/v1/rooms/a/join").result(), http::status::ok);
}

TEST_F(PowApiTest, TheChallengeEndpointTakesGetOnly) {
  Response res = Call(http::verb::post, "/api/v1/rooms/a/challenge");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(Call(http::verb::get, "/api/v1/rooms/nope/challenge").result(),
            http::status::not_found);
}

TEST(EmbeddedConsumeOnce, TakesAKeyOnceUntilItIsForgotten) {
  util::FakeClock clock;
  store::EmbeddedStore store(std::vector<store::RoomSpec>{{"a", core::Policy{}}}, clock);
  store::EmbeddedRoom& room = *store.Find("a");
  EXPECT_TRUE(room.ConsumeOnce("k", seconds(5)));
  EXPECT_FALSE(room.ConsumeOnce("k", seconds(5)));
  EXPECT_TRUE(room.ConsumeOnce("other", seconds(1)));
  clock.Advance(seconds(5));
  EXPECT_TRUE(room.ConsumeOnce("k", seconds(5))) << "forgotten after its time";
  EXPECT_FALSE(room.ConsumeOnce("k", seconds(5)));
}

}  // namespace
}  // namespace vwr::api
