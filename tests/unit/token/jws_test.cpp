#include "token/jws.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/jws_test_keys.hpp"
#include "token/hmac_sha256.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;
using testing::JwsTestKey;

std::string JwksOf(std::initializer_list<json::object> keys) {
  json::array list;
  for (const json::object& k : keys) list.push_back(k);
  return json::serialize(json::object{{"keys", list}});
}

json::object Header(const std::string& alg, const std::string& kid) {
  json::object h{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) h["kid"] = kid;
  return h;
}

const json::object kClaims{{"sub", "user-1"}, {"exp", 2000000000}};

TEST(Jws, EveryUsualAlgorithmVerifies) {
  const JwsTestKey rsa(JwsTestKey::Kind::kRsa);
  const JwsTestKey p256(JwsTestKey::Kind::kP256);
  const JwsTestKey p384(JwsTestKey::Kind::kP384);
  const JwsTestKey ed(JwsTestKey::Kind::kEd25519);
  auto set = ParseJwks(JwksOf({rsa.Jwk("rsa"), p256.Jwk("p256"), p384.Jwk("p384"), ed.Jwk("ed")}));
  ASSERT_TRUE(set) << set.error();
  EXPECT_EQ(set->by_kid.size(), 4u);
  const struct {
    const JwsTestKey* key;
    std::string kid;
    std::string alg;
  } cases[] = {{&rsa, "rsa", "RS256"}, {&rsa, "rsa", "RS384"},   {&rsa, "rsa", "RS512"},
               {&rsa, "rsa", "PS256"}, {&p256, "p256", "ES256"}, {&p384, "p384", "ES384"},
               {&ed, "ed", "EdDSA"}};
  for (const auto& c : cases) {
    const std::string token = c.key->Sign(Header(c.alg, c.kid), kClaims, c.alg);
    auto verified = jwt::VerifyCompact(token, *set, {});
    ASSERT_TRUE(verified) << c.alg << ": " << jwt::JwsErrorName(verified.error());
    EXPECT_EQ(verified->payload.at("sub").as_string(), "user-1");
    EXPECT_EQ(verified->kid, c.kid);
  }
}

TEST(Jws, ATamperedTokenIsRefused) {
  const JwsTestKey key(JwsTestKey::Kind::kP256);
  auto set = ParseJwks(JwksOf({key.Jwk("k")}));
  ASSERT_TRUE(set);
  const std::string token = key.Sign(Header("ES256", "k"), kClaims, "ES256");
  const std::size_t dot = token.find('.');
  const std::size_t dot2 = token.find('.', dot + 1);
  json::object other = kClaims;
  other["sub"] = "someone-else";
  const std::string forged =
      token.substr(0, dot + 1) + util::Base64UrlEncode(json::serialize(other)) + token.substr(dot2);
  auto result = jwt::VerifyCompact(forged, *set, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kBadSignature);
  // A signature of another key of the same kind, with the kid of this one.
  const JwsTestKey stranger(JwsTestKey::Kind::kP256);
  result = jwt::VerifyCompact(stranger.Sign(Header("ES256", "k"), kClaims, "ES256"), *set, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kBadSignature);
}

TEST(Jws, NoneAndSymmetricAlgorithmsAreRefusedBeforeAnyKey) {
  const JwsTestKey key(JwsTestKey::Kind::kRsa);
  const json::object jwk = key.Jwk("k");
  auto set = ParseJwks(JwksOf({jwk}));
  ASSERT_TRUE(set);
  const std::string body = util::Base64UrlEncode(json::serialize(kClaims));
  // alg "none", with an empty signature.
  const std::string none =
      util::Base64UrlEncode(json::serialize(Header("none", "k"))) + "." + body + ".";
  auto result = jwt::VerifyCompact(none, *set, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kUnsupportedAlgorithm);
  // HS256 MACed with the public key's text as the secret (the classic key confusion).
  const std::string input =
      util::Base64UrlEncode(json::serialize(Header("HS256", "k"))) + "." + body;
  const std::string secret = json::serialize(jwk);
  const HmacSha256::Digest mac =
      HmacSha256(std::span(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()))
          .Compute(input);
  result = jwt::VerifyCompact(input + "." + util::Base64UrlEncode(std::span(mac)), *set, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kUnsupportedAlgorithm);
}

TEST(Jws, AKeyVerifiesOnlyItsOwnAlgorithms) {
  const JwsTestKey rsa(JwsTestKey::Kind::kRsa);
  auto pinned = ParseJwks(JwksOf({rsa.Jwk("k", "RS256")}));
  ASSERT_TRUE(pinned);
  auto result = jwt::VerifyCompact(rsa.Sign(Header("PS256", "k"), kClaims, "PS256"), *pinned, {});
  ASSERT_FALSE(result) << "the JWK says RS256 only";
  EXPECT_EQ(result.error(), jwt::JwsError::kBadSignature);
  const JwsTestKey ec(JwsTestKey::Kind::kP256);
  auto set = ParseJwks(JwksOf({ec.Jwk("e")}));
  ASSERT_TRUE(set);
  result = jwt::VerifyCompact(ec.Sign(Header("ES384", "e"), kClaims, "ES256"), *set, {});
  EXPECT_FALSE(result) << "a P-256 key takes ES256 only";
  // The caller's allowed list: ES256 tokens refused when only RS256 is allowed.
  const JwsAlgorithm only_rs256[] = {JwsAlgorithm::kRs256};
  result = jwt::VerifyCompact(ec.Sign(Header("ES256", "e"), kClaims, "ES256"), *set, only_rs256);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kUnsupportedAlgorithm);
}

TEST(Jws, KeysAreFoundByKidOrAsTheOnlyOne) {
  const JwsTestKey a(JwsTestKey::Kind::kP256);
  const JwsTestKey b(JwsTestKey::Kind::kP256);
  auto two = ParseJwks(JwksOf({a.Jwk("a"), b.Jwk("b")}));
  ASSERT_TRUE(two);
  EXPECT_TRUE(jwt::VerifyCompact(b.Sign(Header("ES256", "b"), kClaims, "ES256"), *two, {}));
  auto unknown = jwt::VerifyCompact(b.Sign(Header("ES256", "c"), kClaims, "ES256"), *two, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), jwt::JwsError::kUnknownKey);
  auto no_kid = jwt::VerifyCompact(b.Sign(Header("ES256", ""), kClaims, "ES256"), *two, {});
  ASSERT_FALSE(no_kid) << "no kid and two keys: which one?";
  EXPECT_EQ(no_kid.error(), jwt::JwsError::kUnknownKey);
  auto one = ParseJwks(JwksOf({a.Jwk("")}));
  ASSERT_TRUE(one);
  EXPECT_TRUE(jwt::VerifyCompact(a.Sign(Header("ES256", ""), kClaims, "ES256"), *one, {}));
}

TEST(Jws, MalformedTokensAreRefused) {
  const JwsTestKey key(JwsTestKey::Kind::kP256);
  auto set = ParseJwks(JwksOf({key.Jwk("k")}));
  ASSERT_TRUE(set);
  const std::string good = key.Sign(Header("ES256", "k"), kClaims, "ES256");
  for (const std::string& bad :
       {std::string(), std::string("a.b"), good + ".x", std::string("!!.??.**"),
        util::Base64UrlEncode(std::string("[1]")) + ".e30.AA", std::string(9000, 'a')}) {
    EXPECT_FALSE(jwt::VerifyCompact(bad, *set, {})) << bad.substr(0, 40);
  }
  json::object crit = Header("ES256", "k");
  crit["crit"] = json::array{"exp"};
  auto result = jwt::VerifyCompact(key.Sign(crit, kClaims, "ES256"), *set, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kMalformed);
}

TEST(Jws, AJwksIsReadStrictly) {
  const JwsTestKey ec(JwsTestKey::Kind::kP256);
  EXPECT_FALSE(ParseJwks("not json"));
  EXPECT_FALSE(ParseJwks(R"({"keys":{}})"));
  EXPECT_FALSE(ParseJwks(R"({"keys":[]})")) << "no usable key";
  EXPECT_FALSE(ParseJwks(JwksOf({ec.Jwk("same"), ec.Jwk("same")}))) << "a kid twice";
  // Keys for other purposes are skipped, not fatal.
  json::object enc = JwsTestKey(JwsTestKey::Kind::kRsa).Jwk("enc");
  enc["use"] = "enc";
  json::object hs{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hs"}};
  auto set = ParseJwks(JwksOf({enc, hs, ec.Jwk("ok")}));
  ASSERT_TRUE(set) << set.error();
  EXPECT_EQ(set->by_kid.size(), 1u);
  EXPECT_EQ(set->skipped.size(), 2u);
  // A private part is never taken, a short RSA key neither, nor a point off the curve.
  json::object with_d = ec.Jwk("d");
  with_d["d"] = "AAAA";
  EXPECT_FALSE(ParseJwks(JwksOf({with_d})));
  EXPECT_FALSE(ParseJwks(JwksOf({JwsTestKey(JwsTestKey::Kind::kRsa, 1024).Jwk("short")})));
  json::object off = ec.Jwk("off");
  off["y"] = off["x"];
  EXPECT_FALSE(ParseJwks(JwksOf({off})));
}

}  // namespace
}  // namespace vwr::token
