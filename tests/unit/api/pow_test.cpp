#include <gtest/gtest.h>

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

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::MissPow;
using testing::PowSha256;
using testing::SolvePow;

// The public API over an embedded store on a fake clock.
class PowApiTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  PowApiTest() {
    core::Policy p = OneAtATime();
    p.max_active = 100;
    MakeRooms({"a", "free"}, p);
    api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_);
    api_->SetPow({{"a", token::PowSetting{kDifficulty, seconds(10)}}});
  }

  http::Response Call(http::verb method, const std::string& target, std::string body = "") {
    return Send(*api_, method, target, std::move(body));
  }

  boost::json::object Challenge(const std::string& room = "a") {
    http::Response res = Call(http::verb::get, "/api/v1/rooms/" + room + "/challenge");
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return boost::json::parse(res.body()).as_object();
  }

  http::Response JoinWith(const std::string& challenge, const std::string& nonce,
                          const std::string& room = "a") {
    boost::json::object body{{"challenge", challenge}, {"nonce", nonce}};
    return Call(http::verb::post, "/api/v1/rooms/" + room + "/join", boost::json::serialize(body));
  }

  static std::string Code(const http::Response& res) {
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
  EXPECT_EQ(c.at("challenge").as_string().size(), token::ChallengeCodec::kChallengeLength);
}

TEST_F(PowApiTest, ASolvedJoinIsServedOnceAndAReplayIsRefused) {
  const std::string c(Challenge().at("challenge").as_string());
  const std::string nonce = SolvePow(c, kDifficulty);
  http::Response first = JoinWith(c, nonce);
  ASSERT_EQ(first.result(), http::status::ok) << first.body();
  EXPECT_EQ(boost::json::parse(first.body()).at("status"), "admitted");

  http::Response replay = JoinWith(c, nonce);
  EXPECT_EQ(replay.result(), http::status::forbidden);
  EXPECT_EQ(Code(replay), "pow_replayed");
  // Another nonce that also solves it changes nothing: the challenge is spent.
  std::string other;
  for (std::uint64_t n = std::stoull(nonce) + 1;; ++n) {
    if (token::HasLeadingZeroBits(PowSha256(c, std::to_string(n)), kDifficulty)) {
      other = std::to_string(n);
      break;
    }
  }
  EXPECT_EQ(Code(JoinWith(c, other)), "pow_replayed");
}

TEST_F(PowApiTest, AJoinWithoutProofIsRequiredToBringOne) {
  http::Response res = Call(http::verb::post, "/api/v1/rooms/a/join", "{}");
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(Code(res), "pow_required");
  EXPECT_EQ(Code(Call(http::verb::post, "/api/v1/rooms/a/join")), "pow_required");
}

TEST_F(PowApiTest, AWrongNonceIsInvalidAndDoesNotSpendTheChallenge) {
  const std::string c(Challenge().at("challenge").as_string());
  http::Response bad = JoinWith(c, MissPow(c, kDifficulty));
  EXPECT_EQ(bad.result(), http::status::forbidden);
  EXPECT_EQ(Code(bad), "pow_invalid");
  EXPECT_EQ(JoinWith(c, SolvePow(c, kDifficulty)).result(), http::status::ok);
}

TEST_F(PowApiTest, AnotherRoomsChallengeIsInvalid) {
  api_->SetPow({{"a", token::PowSetting{kDifficulty, seconds(10)}},
                {"free", token::PowSetting{kDifficulty, seconds(10)}}});
  const std::string c(Challenge("free").at("challenge").as_string());
  EXPECT_EQ(Code(JoinWith(c, SolvePow(c, kDifficulty), "a")), "pow_invalid");
}

TEST_F(PowApiTest, AChallengeIssuedBeforeTheNodeStartedIsRefusedAsExpired) {
  const std::string before(Challenge().at("challenge").as_string());
  clock_.Advance(seconds(1));
  // A restart of a node on the embedded store, which has forgotten which challenges were spent.
  api_->SetPowNotBefore(
      std::chrono::duration_cast<milliseconds>(clock_.WallNow().time_since_epoch()).count());
  http::Response old = JoinWith(before, SolvePow(before, kDifficulty));
  EXPECT_EQ(old.result(), http::status::forbidden);
  EXPECT_EQ(Code(old), "pow_expired") << "a new challenge is what the client needs";
  const std::string after(Challenge().at("challenge").as_string());
  EXPECT_EQ(JoinWith(after, SolvePow(after, kDifficulty)).result(), http::status::ok);
}

TEST_F(PowApiTest, AnExpiredChallengeIsRefused) {
  const std::string c(Challenge().at("challenge").as_string());
  const std::string nonce = SolvePow(c, kDifficulty);
  clock_.Advance(seconds(10));
  http::Response res = JoinWith(c, nonce);
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(Code(res), "pow_expired");
}

TEST_F(PowApiTest, ASpentChallengeIsForgottenOnlyAfterItsLifetime) {
  const std::string c(Challenge().at("challenge").as_string());
  const std::string nonce = SolvePow(c, kDifficulty);
  ASSERT_EQ(JoinWith(c, nonce).result(), http::status::ok);
  clock_.Advance(milliseconds(9'999));
  EXPECT_EQ(Code(JoinWith(c, nonce)), "pow_replayed");
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(Code(JoinWith(c, nonce)), "pow_expired");
}

TEST_F(PowApiTest, MalformedFieldsAreBadRequests) {
  http::Response res =
      Call(http::verb::post, "/api/v1/rooms/a/join", R"({"challenge":5,"nonce":"1"})");
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
  http::Response res = Call(http::verb::post, "/api/v1/rooms/a/challenge");
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
