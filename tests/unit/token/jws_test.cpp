#include "token/jws.hpp"

#include <gtest/gtest.h>

#include <array>
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

// Each problem of the header has its own code, so that every kind of token can report it in its
// own words (admission tokens call a missing alg malformed, user tokens an unsupported one).
TEST(Jws, ReportsEachHeaderProblemApart) {
  const JwsTestKey key(JwsTestKey::Kind::kP256);
  auto set = ParseJwks(JwksOf({key.Jwk("k")}));
  ASSERT_TRUE(set);
  const auto error_of = [&](const json::object& header, const jwt::JwsOptions& options) {
    auto result = jwt::VerifyCompact(key.Sign(header, kClaims, "ES256"), *set, {}, options);
    return result ? std::string("verified") : std::string(jwt::JwsErrorName(result.error()));
  };
  const jwt::JwsOptions any;
  EXPECT_EQ(error_of({{"typ", "JWT"}, {"kid", "k"}}, any), "no_algorithm");
  EXPECT_EQ(error_of({{"alg", 256}, {"kid", "k"}}, any), "no_algorithm");
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"kid", 1}}, any), "bad_key_id");
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"kid", "k"}, {"typ", "JOSE"}}, any), "verified")
      << "typ is only read when asked for";
  jwt::JwsOptions typed;
  typed.type = "vwr-pass+jwt";
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"kid", "k"}, {"typ", "JWT"}}, typed), "wrong_type");
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"kid", "k"}}, typed), "wrong_type");
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"kid", "k"}, {"typ", "vwr-pass+jwt"}}, typed), "verified");
  // In the documented order: alg before crit, crit before typ, typ before kid.
  EXPECT_EQ(error_of({{"alg", "HS256"}, {"crit", json::array{"x"}}}, typed),
            "unsupported_algorithm");
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"crit", json::array{"x"}}, {"typ", "JWT"}}, typed),
            "malformed");
  EXPECT_EQ(error_of({{"alg", "ES256"}, {"typ", "JWT"}, {"kid", 1}}, typed), "wrong_type");
}

// The admission tokens' fast path: a header that is exactly the caller's own is not read, and
// what it says is still held to what the caller allows and to the keys.
TEST(Jws, AKnownHeaderIsTakenWithoutReadingIt) {
  const JwsTestKey key(JwsTestKey::Kind::kP256);
  auto set = ParseJwks(JwksOf({key.Jwk("k")}));
  ASSERT_TRUE(set);
  const std::string token = key.Sign(Header("ES256", "k"), kClaims, "ES256");
  const std::string_view encoded = std::string_view(token).substr(0, token.find('.'));
  jwt::JwsOptions options;
  options.known_header = jwt::JwsOptions::KnownHeader{encoded, JwsAlgorithm::kEs256, "JWT", "k"};
  auto verified = jwt::VerifyCompact(token, *set, {}, options);
  ASSERT_TRUE(verified) << jwt::JwsErrorName(verified.error());
  EXPECT_TRUE(verified->header.empty()) << "not read";
  EXPECT_EQ(verified->kid, "k");
  EXPECT_EQ(verified->payload.at("sub").as_string(), "user-1");
  // Taken at its word: a header text that is no JSON at all, vouched for, verifies.
  const std::string opaque =
      key.SignInput("opaque." + util::Base64UrlEncode(json::serialize(kClaims)), "ES256");
  options.known_header->encoded = "opaque";
  EXPECT_TRUE(jwt::VerifyCompact(opaque, *set, {}, options));
  options.known_header->encoded = encoded;
  const JwsAlgorithm only_rs256[] = {JwsAlgorithm::kRs256};
  auto refused = jwt::VerifyCompact(token, *set, only_rs256, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), jwt::JwsError::kUnsupportedAlgorithm);
  // Nor does it stand in for another type: one kind of token is never taken for another.
  options.type = "vwr-pass+jwt";
  refused = jwt::VerifyCompact(token, *set, {}, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), jwt::JwsError::kWrongType);
  options.type = "JWT";
  EXPECT_TRUE(jwt::VerifyCompact(token, *set, {}, options));
  options.known_header->kid = "gone";
  refused = jwt::VerifyCompact(token, *set, {}, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), jwt::JwsError::kUnknownKey);
  // Any other header is read as usual.
  EXPECT_TRUE(
      jwt::VerifyCompact(key.Sign(Header("ES256", ""), kClaims, "ES256"), *set, {}, options));
}

TEST(Jws, HeaderAndPayloadLiveInTheCallersStorage) {
  const JwsTestKey key(JwsTestKey::Kind::kP256);
  auto set = ParseJwks(JwksOf({key.Jwk("k")}));
  ASSERT_TRUE(set);
  std::array<unsigned char, 2048> buffer;
  json::monotonic_resource resource(buffer.data(), buffer.size());
  jwt::JwsOptions options;
  options.storage = &resource;
  auto verified =
      jwt::VerifyCompact(key.Sign(Header("ES256", "k"), kClaims, "ES256"), *set, {}, options);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->payload.storage().get(), &resource);
  EXPECT_EQ(verified->header.storage().get(), &resource);
}

// Signatures longer than the buffer kept on the stack (RSA keys over 4096 bits).
TEST(Jws, ALongRsaSignatureVerifies) {
  const JwsTestKey rsa(JwsTestKey::Kind::kRsa, 4104);  // 513-byte signatures
  auto set = ParseJwks(JwksOf({rsa.Jwk("big")}));
  ASSERT_TRUE(set) << set.error();
  const std::string token = rsa.Sign(Header("RS256", "big"), kClaims, "RS256");
  EXPECT_GT(token.size() - token.rfind('.') - 1, util::Base64UrlEncodedLength(512));
  EXPECT_TRUE(jwt::VerifyCompact(token, *set, {}));
  std::string changed = token;
  changed[changed.size() - 3] = changed[changed.size() - 3] == 'A' ? 'B' : 'A';
  auto result = jwt::VerifyCompact(changed, *set, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), jwt::JwsError::kBadSignature);
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

TEST(Jws, KeyIdOfReadsTheHeaderOnlyAndRefusesWhatIsNotAHeader) {
  const JwsTestKey key(JwsTestKey::Kind::kP256);
  const std::string token = key.Sign(Header("ES256", "abc"), kClaims, "ES256");
  EXPECT_EQ(jwt::KeyIdOf(token), "abc");
  EXPECT_EQ(jwt::KeyIdOf(key.Sign(Header("ES256", ""), kClaims, "ES256")), "");
  EXPECT_EQ(jwt::KeyIdOf(""), "");
  EXPECT_EQ(jwt::KeyIdOf("no-dot-at-all"), "");
  EXPECT_EQ(jwt::KeyIdOf("!!!.x.y"), "");
  EXPECT_EQ(jwt::KeyIdOf(util::Base64UrlEncode(std::string_view(R"({"kid":7})")) + ".x.y"), "");
  EXPECT_EQ(jwt::KeyIdOf(util::Base64UrlEncode(std::string_view("[1]")) + ".x.y"), "");
  EXPECT_EQ(jwt::KeyIdOf(token, token.size() - 1), "") << "longer than allowed";
}

}  // namespace
}  // namespace vwr::token
