#include "token/user_identity.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/jws_test_keys.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;
using testing::JwsTestKey;

constexpr std::int64_t kNow = 1'800'000'000;

class UserIdentityTest : public ::testing::Test {
 protected:
  UserIdentityTest() : key_(JwsTestKey::Kind::kRsa) {}

  std::unique_ptr<UserIdentityVerifier> Make(UserIdentityOptions options = {}) {
    auto v = std::make_unique<UserIdentityVerifier>(std::move(options));
    auto keys = ParseJwks(json::serialize(json::object{{"keys", json::array{key_.Jwk("k1")}}}));
    EXPECT_TRUE(keys);
    v->SetKeys(std::move(*keys));
    return v;
  }

  std::string Token(json::object claims, const std::string& kid = "k1") {
    return key_.Sign(json::object{{"alg", "RS256"}, {"kid", kid}}, claims, "RS256");
  }

  JwsTestKey key_;
};

TEST_F(UserIdentityTest, TheConfiguredClaimNamesTheUser) {
  const auto v_owner = Make();
  UserIdentityVerifier& v = *v_owner;
  auto who = v.Verify(Token({{"sub", "alice"}, {"exp", kNow + 60}}), kNow);
  ASSERT_TRUE(who) << UserTokenErrorName(who.error());
  EXPECT_EQ(*who, "alice");
  const auto by_uid_owner = Make({.claim = "uid"});
  UserIdentityVerifier& by_uid = *by_uid_owner;
  who = by_uid.Verify(Token({{"sub", "x"}, {"uid", 4711}, {"exp", kNow + 60}}), kNow);
  ASSERT_TRUE(who);
  EXPECT_EQ(*who, "4711") << "a numeric id is taken as its digits";
  for (json::value bad : {json::value(nullptr), json::value(""), json::value(json::array{}),
                          json::value(std::string(257, 'a'))}) {
    auto r = by_uid.Verify(Token({{"uid", bad}, {"exp", kNow + 60}}), kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), UserTokenError::kNoIdentity);
  }
}

TEST_F(UserIdentityTest, ExpiryAndNotBeforeHoldWithinTheLeeway) {
  const auto v_owner = Make({.leeway = std::chrono::seconds(30)});
  UserIdentityVerifier& v = *v_owner;
  EXPECT_TRUE(v.Verify(Token({{"sub", "a"}, {"exp", kNow - 29}}), kNow));
  auto r = v.Verify(Token({{"sub", "a"}, {"exp", kNow - 30}}), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kExpired);
  r = v.Verify(Token({{"sub", "a"}, {"exp", kNow + 600}, {"nbf", kNow + 31}}), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kNotYetValid);
  EXPECT_TRUE(v.Verify(Token({{"sub", "a"}, {"exp", kNow + 600}, {"nbf", kNow + 30}}), kNow));
  r = v.Verify(Token({{"sub", "a"}}), kNow);
  ASSERT_FALSE(r) << "a token without exp never ends";
  EXPECT_EQ(r.error(), UserTokenError::kMalformed);
  r = v.Verify(Token({{"sub", "a"}, {"exp", "tomorrow"}}), kNow);
  ASSERT_FALSE(r);
}

TEST_F(UserIdentityTest, IssuerAndAudienceMustMatch) {
  const auto v_owner = Make({.issuer = "https://login.example", .audience = "vwr"});
  UserIdentityVerifier& v = *v_owner;
  const json::object good{{"sub", "a"}, {"exp", kNow + 60}, {"iss", "https://login.example"}};
  json::object c = good;
  c["aud"] = "vwr";
  EXPECT_TRUE(v.Verify(Token(c), kNow));
  c["aud"] = json::array{"api", "vwr"};
  EXPECT_TRUE(v.Verify(Token(c), kNow)) << "an array that contains it";
  c["aud"] = "api";
  auto r = v.Verify(Token(c), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kWrongAudience);
  c = good;
  r = v.Verify(Token(c), kNow);
  ASSERT_FALSE(r) << "no aud at all";
  EXPECT_EQ(r.error(), UserTokenError::kWrongAudience);
  c["aud"] = "vwr";
  c["iss"] = "https://evil.example";
  r = v.Verify(Token(c), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kWrongIssuer);
}

TEST_F(UserIdentityTest, AnUnknownKidAsksForTheKeysAgain) {
  const auto v_owner = Make();
  UserIdentityVerifier& v = *v_owner;
  EXPECT_FALSE(v.TakeRefreshRequest());
  auto r = v.Verify(Token({{"sub", "a"}, {"exp", kNow + 60}}, "k2"), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kUnknownKey);
  EXPECT_TRUE(v.TakeRefreshRequest());
  EXPECT_FALSE(v.TakeRefreshRequest()) << "taken once";
  // A forged token (another key, the known kid) asks for nothing: its key is known.
  const JwsTestKey stranger(JwsTestKey::Kind::kRsa);
  r = v.Verify(stranger.Sign(json::object{{"alg", "RS256"}, {"kid", "k1"}},
                             json::object{{"sub", "a"}, {"exp", kNow + 60}}, "RS256"),
               kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kBadSignature);
  EXPECT_FALSE(v.TakeRefreshRequest());
}

TEST_F(UserIdentityTest, ARememberedTokenHoldsOnlyUnderTheKeysItWasVerifiedWith) {
  const auto owner = Make();
  UserIdentityVerifier& v = *owner;
  const std::string token = Token({{"sub", "alice"}, {"exp", kNow + 60}});
  ASSERT_TRUE(v.Verify(token, kNow));
  ASSERT_TRUE(v.Verify(token, kNow)) << "the second time from memory";
  auto r = v.Verify(token, kNow + 90);
  ASSERT_FALSE(r) << "never past exp + leeway, remembered or not";
  EXPECT_EQ(r.error(), UserTokenError::kExpired);
  // The platform withdraws the key: a token verified before is not taken from memory.
  const JwsTestKey other(JwsTestKey::Kind::kP256);
  auto keys = ParseJwks(json::serialize(json::object{{"keys", json::array{other.Jwk("k2")}}}));
  ASSERT_TRUE(keys);
  v.SetKeys(std::move(*keys));
  r = v.Verify(token, kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kUnknownKey);
}

TEST_F(UserIdentityTest, NothingVerifiesBeforeTheKeysAreLoaded) {
  UserIdentityVerifier v({});
  auto r = v.Verify(Token({{"sub", "a"}, {"exp", kNow + 60}}), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kNoKeys);
  EXPECT_FALSE(v.has_keys());
}

TEST_F(UserIdentityTest, OnlyTheAllowedAlgorithmsAreTaken) {
  const auto v_owner = Make({.algorithms = {JwsAlgorithm::kEs256}});
  UserIdentityVerifier& v = *v_owner;
  auto r = v.Verify(Token({{"sub", "a"}, {"exp", kNow + 60}}), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), UserTokenError::kUnsupportedAlgorithm);
}

}  // namespace
}  // namespace vwr::token
