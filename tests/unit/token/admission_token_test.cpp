#include "token/admission_token.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "token/es256.hpp"
#include "token/hmac_sha256.hpp"
#include "token/key_ring.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

using std::chrono::seconds;

// A compact JWS from raw JSON texts, signed with ES256 by `key`, so that tests can present
// well-signed tokens with arbitrary headers and claims.
std::string Forge(const EcPrivateKey& key, std::string_view header, std::string_view payload) {
  std::string token = util::Base64UrlEncode(header) + "." + util::Base64UrlEncode(payload);
  token += "." + util::Base64UrlEncode(key.Sign(token).value());
  return token;
}

// The same, "signed" with HMAC-SHA256 under `secret`.
std::string ForgeHmac(std::string_view secret, std::string_view header, std::string_view payload) {
  std::string token = util::Base64UrlEncode(header) + "." + util::Base64UrlEncode(payload);
  const HmacSha256 mac(
      std::span(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()));
  token += "." + util::Base64UrlEncode(mac.Compute(token));
  return token;
}

std::string Decode(std::string_view part) { return util::Base64UrlDecode(part).value_or("?"); }

constexpr std::string_view kPayload =
    R"({"iss":"vwr","aud":"room-a","sub":"anon","iat":1000,"nbf":1000,"exp":2000,"jti":"s1"})";

class AdmissionTokenTest : public ::testing::Test {
 protected:
  AdmissionTokenTest() { ring_.SetOwnKeys(SingleKeySet(key_, 0)); }

  std::string Header(std::string_view kid, std::string_view alg = "ES256") const {
    return R"({"alg":")" + std::string(alg) + R"(","typ":"JWT","kid":")" + std::string(kid) +
           R"("})";
  }
  std::string OurHeader() const { return Header(kid_); }

  // The claims of kPayload; exp is far ahead of the fake clock's start, so that cached entries
  // live.
  util::FakeClock clock_{util::WallTime(seconds(1000))};
  EcPrivateKey key_ = EcPrivateKey::Generate();
  std::string kid_ = JwkThumbprint(key_.public_key());
  KeyRing ring_{clock_, seconds(600)};
  AdmissionTokenSigner signer_{ring_, clock_};
  AdmissionClaims claims_{
      .aud = "room-a", .sub = "anon", .iat = 1000, .nbf = 1000, .exp = 2000, .jti = "s1"};
};

TEST_F(AdmissionTokenTest, RoundTrips) {
  const std::string token = signer_.Issue(claims_).value();
  const AdmissionTokenSigner::VerifyResult result = signer_.Verify(token);
  ASSERT_TRUE(result.has_value()) << TokenErrorName(result.error());
  EXPECT_EQ(*result, claims_);
  EXPECT_EQ(signer_.Verify(token, 1500, "room-a").value(), claims_);
  EXPECT_EQ(signer_.key_id(), kid_);
}

TEST_F(AdmissionTokenTest, IssuesTheDocumentedJwtLayout) {
  const std::string token = signer_.Issue(claims_).value();
  const std::size_t first = token.find('.');
  const std::size_t second = token.rfind('.');
  EXPECT_EQ(Decode(token.substr(0, first)), OurHeader());
  EXPECT_EQ(Decode(token.substr(first + 1, second - first - 1)), kPayload);
  // The signature is the 64 bytes R || S (86 base64url characters), not DER.
  const std::string_view signature = std::string_view(token).substr(second + 1);
  ASSERT_EQ(signature.size(), 86u);
  const std::string raw = Decode(signature);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_TRUE(key_.public_key().Verify(
      std::string_view(token).substr(0, second),
      std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size())));
  // kid is the RFC 7638 thumbprint of the key.
  EXPECT_EQ(kid_.size(), 43u);
}

TEST_F(AdmissionTokenTest, IssueIsRandomisedAndEveryTokenVerifies) {
  const std::string one = signer_.Issue(claims_).value();
  const std::string two = signer_.Issue(claims_).value();
  EXPECT_NE(one, two) << "ECDSA nonces are fresh each time";
  EXPECT_EQ(one.substr(0, one.rfind('.')), two.substr(0, two.rfind('.')));
  EXPECT_EQ(signer_.Verify(one).value(), claims_);
  EXPECT_EQ(signer_.Verify(two).value(), claims_);
}

TEST_F(AdmissionTokenTest, RoundTripsStringsThatNeedEscaping) {
  claims_.sub = "quote\" backslash\\ newline\n unicode \xc3\xa9";
  claims_.iss = "";
  claims_.iat = -5;
  claims_.exp = std::numeric_limits<std::int64_t>::max();
  const auto result = signer_.Verify(signer_.Issue(claims_).value());
  ASSERT_TRUE(result.has_value()) << TokenErrorName(result.error());
  EXPECT_EQ(*result, claims_);
}

TEST_F(AdmissionTokenTest, AcceptsOurHeaderInAnotherSerialization) {
  const std::string header = R"({ "kid":")" + kid_ + R"(", "typ":"JWT", "alg":"ES256", "x":1 })";
  const auto result = signer_.Verify(Forge(key_, header, kPayload));
  ASSERT_TRUE(result.has_value()) << TokenErrorName(result.error());
  EXPECT_EQ(*result, claims_);
}

TEST_F(AdmissionTokenTest, RejectsTamperedPayload) {
  const std::string token = signer_.Issue(claims_).value();
  const std::size_t first = token.find('.'), second = token.rfind('.');
  AdmissionClaims forged = claims_;
  forged.aud = "room-b";
  const std::string other = signer_.Issue(forged).value();
  const std::string spliced =
      token.substr(0, first) + other.substr(first, other.rfind('.') - first) + token.substr(second);
  EXPECT_EQ(signer_.Verify(spliced).error(), TokenError::kBadSignature);

  for (std::size_t pos = first + 1; pos < second; ++pos) {
    std::string changed = token;
    changed[pos] = changed[pos] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(signer_.Verify(changed).has_value()) << pos;
  }
}

TEST_F(AdmissionTokenTest, RejectsTamperedSignature) {
  const std::string token = signer_.Issue(claims_).value();
  const std::size_t second = token.rfind('.');
  for (std::size_t pos = second + 1; pos < token.size(); ++pos) {
    std::string changed = token;
    changed[pos] = changed[pos] == 'A' ? 'B' : 'A';
    EXPECT_EQ(signer_.Verify(changed).error(), TokenError::kBadSignature) << pos;
  }
  EXPECT_EQ(signer_.Verify(token.substr(0, second + 1)).error(), TokenError::kBadSignature);
  EXPECT_EQ(signer_.Verify(token + "A").error(), TokenError::kBadSignature);
  EXPECT_EQ(signer_.Verify(token.substr(0, token.size() - 1)).error(), TokenError::kBadSignature);
  // A DER signature (what OpenSSL produces natively) is not a JWS ES256 signature.
  const std::string signing_input = token.substr(0, second);
  EXPECT_EQ(
      signer_.Verify(signing_input + "." + util::Base64UrlEncode(std::string(72, '\x30'))).error(),
      TokenError::kBadSignature);
  // R = 0 and S = 0, R = S = all ones (above the group order).
  EXPECT_EQ(
      signer_.Verify(signing_input + "." + util::Base64UrlEncode(std::string(64, '\0'))).error(),
      TokenError::kBadSignature);
  EXPECT_EQ(
      signer_.Verify(signing_input + "." + util::Base64UrlEncode(std::string(64, '\xff'))).error(),
      TokenError::kBadSignature);
}

TEST_F(AdmissionTokenTest, RejectsOtherAlgorithms) {
  for (std::string_view alg :
       {"none", "None", "HS256", "HS512", "RS256", "PS256", "ES384", "ES512", "es256", "EdDSA"}) {
    EXPECT_EQ(signer_.Verify(Forge(key_, Header(kid_, alg), kPayload)).error(),
              TokenError::kUnsupportedAlgorithm)
        << alg;
  }
  // Classic "alg":"none" with an empty signature.
  const std::string unsigned_token =
      util::Base64UrlEncode(Header(kid_, "none")) + "." + util::Base64UrlEncode(kPayload) + ".";
  EXPECT_EQ(signer_.Verify(unsigned_token).error(), TokenError::kUnsupportedAlgorithm);
  const std::string numeric_alg = R"({"alg":256,"typ":"JWT","kid":")" + kid_ + R"("})";
  EXPECT_EQ(signer_.Verify(Forge(key_, numeric_alg, kPayload)).error(), TokenError::kMalformed);
  const std::string no_alg = R"({"typ":"JWT","kid":")" + kid_ + R"("})";
  EXPECT_EQ(signer_.Verify(Forge(key_, no_alg, kPayload)).error(), TokenError::kMalformed);
}

// The classic key-confusion attack: the public key, which anyone can fetch, used as an HMAC
// secret by a verifier that lets the token pick its algorithm.
TEST_F(AdmissionTokenTest, RejectsHs256TokensKeyedWithThePublicKey) {
  const EcPublicKey& pub = key_.public_key();
  std::string xy(reinterpret_cast<const char*>(pub.x().data()), 32);
  xy.append(reinterpret_cast<const char*>(pub.y().data()), 32);
  const std::string point = "\x04" + xy;
  const std::string jwk = ToJwk(pub, kid_);
  const std::string jwks = ring_.Current().jwks;
  for (const std::string& secret : {xy, point, jwk, jwks, kid_}) {
    EXPECT_EQ(signer_.Verify(ForgeHmac(secret, Header(kid_, "HS256"), kPayload)).error(),
              TokenError::kUnsupportedAlgorithm);
    // The same MAC under a header that claims ES256: 32 bytes are no ES256 signature.
    EXPECT_EQ(signer_.Verify(ForgeHmac(secret, OurHeader(), kPayload)).error(),
              TokenError::kBadSignature);
  }
}

TEST_F(AdmissionTokenTest, RejectsUnknownKeyIds) {
  EXPECT_EQ(signer_.Verify(Forge(key_, R"({"alg":"ES256","typ":"JWT"})", kPayload)).error(),
            TokenError::kUnknownKey);
  EXPECT_EQ(signer_.Verify(Forge(key_, Header("k2"), kPayload)).error(), TokenError::kUnknownKey);
  EXPECT_EQ(signer_.Verify(Forge(key_, R"({"alg":"ES256","typ":"JWT","kid":1})", kPayload)).error(),
            TokenError::kUnknownKey);
  // A token of another ring, whose key this one has never seen.
  KeyRing other_ring(clock_, seconds(600));
  other_ring.SetOwnKeys(SingleKeySet(EcPrivateKey::Generate(), 0));
  const AdmissionTokenSigner other(other_ring, clock_);
  EXPECT_EQ(signer_.Verify(other.Issue(claims_).value()).error(), TokenError::kUnknownKey);
}

TEST_F(AdmissionTokenTest, RejectsAnotherKeyUnderOurKid) {
  const EcPrivateKey intruder = EcPrivateKey::Generate();
  EXPECT_EQ(signer_.Verify(Forge(intruder, OurHeader(), kPayload)).error(),
            TokenError::kBadSignature);
}

TEST_F(AdmissionTokenTest, RejectsOtherHeaderProblems) {
  const std::string kid = kid_;
  for (const std::string& header :
       {R"({"alg":"ES256","kid":")" + kid + R"("})",
        R"({"alg":"ES256","typ":"JWS","kid":")" + kid + R"("})",
        R"({"alg":"ES256","typ":"JWT","kid":")" + kid + R"(","crit":["exp"]})",
        std::string(R"(["ES256"])"), std::string(R"({"alg")"), std::string()}) {
    EXPECT_EQ(signer_.Verify(Forge(key_, header, kPayload)).error(), TokenError::kMalformed)
        << header;
  }
}

TEST_F(AdmissionTokenTest, RejectsMalformedShapes) {
  const std::string token = signer_.Issue(claims_).value();
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."),
                                 std::string("a.b"), std::string("a.b.c.d"), token + ".",
                                 "." + token, std::string("not a token"), std::string(5000, 'A')}) {
    const auto result = signer_.Verify(bad);
    ASSERT_FALSE(result.has_value()) << bad;
  }
  EXPECT_EQ(signer_.Verify(token + "." + token).error(), TokenError::kMalformed);
  EXPECT_EQ(signer_.Verify(std::string(5000, 'A')).error(), TokenError::kMalformed);
  // Over 4 KiB even if otherwise valid.
  claims_.jti = std::string(4000, 'j');
  EXPECT_EQ(signer_.Verify(signer_.Issue(claims_).value()).error(), TokenError::kMalformed);
}

// kPayload with the text `from` replaced by `to`.
std::string Edit(std::string_view from, std::string_view to) {
  std::string payload(kPayload);
  const std::size_t pos = payload.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return payload.replace(pos, from.size(), to);
}

TEST_F(AdmissionTokenTest, RejectsMissingOrMistypedClaims) {
  const std::string payloads[] = {
      Edit(R"("iss":"vwr",)", ""),
      Edit(R"("aud":"room-a")", R"("aud":["room-a"])"),
      Edit(R"("exp":2000)", R"("exp":2e3)"),
      Edit(R"("nbf":1000)", R"("nbf":"1000")"),
      Edit(R"("jti":"s1")", R"("jti":null)"),
      Edit(R"("exp":2000)", R"("exp":18446744073709551615)"),
      Edit(R"("iat":1000)", R"("iat":true)"),
      R"([1,2,3])",
      R"({"iss":"vwr")",
      "",
  };
  for (const std::string& payload : payloads) {
    EXPECT_EQ(signer_.Verify(Forge(key_, OurHeader(), payload)).error(), TokenError::kMalformed)
        << payload;
  }
  // Unknown claims are ignored.
  const auto result =
      signer_.Verify(Forge(key_, OurHeader(), Edit(R"("jti":"s1")", R"("jti":"s1","x":{})")));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, claims_);
}

TEST_F(AdmissionTokenTest, ChecksTimeOnlyWhenAsked) {
  const std::string token = signer_.Issue(claims_).value();
  for (int pass = 0; pass < 2; ++pass) {  // the second pass answers from the cache
    EXPECT_TRUE(signer_.Verify(token, 1000).has_value());
    EXPECT_TRUE(signer_.Verify(token, 1999).has_value());
    EXPECT_EQ(signer_.Verify(token, 2000).error(), TokenError::kExpired);
    EXPECT_EQ(signer_.Verify(token, 999).error(), TokenError::kNotYetValid);
    EXPECT_TRUE(signer_.Verify(token).has_value());
  }
  EXPECT_GT(signer_.cache().hits(), 0u);
}

TEST_F(AdmissionTokenTest, ChecksAudienceOnlyWhenAsked) {
  const std::string token = signer_.Issue(claims_).value();
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_TRUE(signer_.Verify(token, std::nullopt, "room-a").has_value());
    EXPECT_EQ(signer_.Verify(token, std::nullopt, "room-b").error(), TokenError::kWrongAudience);
    EXPECT_EQ(signer_.Verify(token, std::nullopt, "").error(), TokenError::kWrongAudience);
    EXPECT_EQ(signer_.Verify(token, 1500, "room-b").error(), TokenError::kWrongAudience);
  }
}

TEST_F(AdmissionTokenTest, SecondVerifyComesFromTheCache) {
  const std::string token = signer_.Issue(claims_).value();
  ASSERT_TRUE(signer_.Verify(token).has_value());
  EXPECT_EQ(signer_.cache().hits(), 0u);
  EXPECT_EQ(signer_.cache().size(), 1u);
  ASSERT_TRUE(signer_.Verify(token).has_value());
  EXPECT_EQ(signer_.cache().hits(), 1u);
  // Rejected tokens are never cached.
  std::string changed = token;
  changed[token.size() - 3] = changed[token.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer_.Verify(changed).has_value());
  EXPECT_FALSE(signer_.Verify(changed).has_value());
  EXPECT_EQ(signer_.cache().size(), 1u);
}

TEST_F(AdmissionTokenTest, CacheNeverOutlivesTheTokensExp) {
  const std::string token = signer_.Issue(claims_).value();  // exp 2000; the clock is at 1000
  ASSERT_TRUE(signer_.Verify(token).has_value());
  clock_.Advance(seconds(1000));  // 2000: the token has expired
  const std::uint64_t hits = signer_.cache().hits();
  // Still verifies when no time is asked for (the signature is good), but not from the cache.
  ASSERT_TRUE(signer_.Verify(token).has_value());
  EXPECT_EQ(signer_.cache().hits(), hits);
  EXPECT_EQ(signer_.cache().size(), 0u) << "an expired token is not cached again";
}

TEST_F(AdmissionTokenTest, RetiredKeysVerifyUntilPrunedThenTheCacheForgetsThem) {
  const std::string old_token = signer_.Issue(claims_).value();
  ASSERT_TRUE(signer_.Verify(old_token).has_value());  // cached

  // Rotate: a new active key; the old one retired now (the clock reads 1000).
  const EcPrivateKey next = EcPrivateKey::Generate();
  KeySet set = SingleKeySet(next, 1000);
  set.keys.push_back(KeyRecord{kid_, key_.public_key(), 0, 1000});
  ring_.SetOwnKeys(set);
  EXPECT_NE(signer_.key_id(), kid_);
  EXPECT_EQ(signer_.Verify(old_token).value(), claims_) << "a retired key keeps verifying";
  const std::string new_token = signer_.Issue(claims_).value();
  EXPECT_EQ(signer_.Verify(new_token).value(), claims_);

  // retired_at + 600 s (longest lifetime) + the margin: the old key goes, and so does
  // everything the cache verified under it.
  clock_.Advance(seconds(600) + kRetiredKeyMargin - seconds(1));
  EXPECT_TRUE(ring_.Prune().empty());
  EXPECT_TRUE(signer_.Verify(old_token).has_value());
  clock_.Advance(seconds(1));
  EXPECT_EQ(ring_.Prune(), std::vector<std::string>{kid_});
  EXPECT_EQ(signer_.Verify(old_token).error(), TokenError::kUnknownKey);
  EXPECT_TRUE(signer_.Verify(new_token).has_value());
}

TEST_F(AdmissionTokenTest, ForeignKeysVerifyUntilTheirNotAfter) {
  util::FakeClock other_clock{util::WallTime(seconds(1000))};
  KeyRing other_ring(other_clock, seconds(600));
  other_ring.SetOwnKeys(SingleKeySet(EcPrivateKey::Generate(), 0));
  const AdmissionTokenSigner other(other_ring, other_clock);
  const std::string token = other.Issue(claims_).value();
  EXPECT_EQ(signer_.Verify(token).error(), TokenError::kUnknownKey);

  std::vector<PublicKeyInfo> imported;
  for (const ExportedKey& exported : other_ring.ExportOwnKeys()) {
    auto key = KeyRing::ImportKey(exported.jwk, exported.not_after_unix);
    ASSERT_TRUE(key.has_value()) << key.error();
    imported.push_back(*key);
  }
  EXPECT_EQ(ring_.AddForeignKeys(imported), 1u);
  EXPECT_EQ(signer_.Verify(token).value(), claims_);
  EXPECT_NE(ring_.Current().jwks.find(other.key_id()), std::string::npos);

  clock_.Advance(seconds(600) + kRetiredKeyMargin);
  EXPECT_EQ(ring_.Prune().size(), 1u);
  EXPECT_EQ(signer_.Verify(token).error(), TokenError::kUnknownKey);
}

TEST_F(AdmissionTokenTest, WorksWithTheCacheDisabled) {
  const AdmissionTokenSigner uncached(ring_, clock_, VerifiedTokenCache::Options{.capacity = 0});
  const std::string token = uncached.Issue(claims_).value();
  EXPECT_EQ(uncached.Verify(token).value(), claims_);
  EXPECT_EQ(uncached.Verify(token, 2000).error(), TokenError::kExpired);
  EXPECT_EQ(uncached.cache().size(), 0u);
}

TEST(AdmissionTokenSignerWithoutKeys, IssueFailsAndVerifyRejects) {
  util::FakeClock clock;
  const KeyRing ring(clock, seconds(60));
  const AdmissionTokenSigner signer(ring, clock);
  EXPECT_EQ(signer.Issue(AdmissionClaims{}).error(), SignError::kNoSigningKey);
  EXPECT_EQ(signer.key_id(), "");
  const EcPrivateKey key = EcPrivateKey::Generate();
  EXPECT_EQ(signer.Verify(Forge(key, R"({"alg":"ES256","typ":"JWT","kid":"x"})", kPayload)).error(),
            TokenError::kUnknownKey);
}

TEST(TokenErrorName, NamesEveryError) {
  EXPECT_EQ(TokenErrorName(TokenError::kMalformed), "malformed");
  EXPECT_EQ(TokenErrorName(TokenError::kUnsupportedAlgorithm), "unsupported_algorithm");
  EXPECT_EQ(TokenErrorName(TokenError::kBadSignature), "bad_signature");
  EXPECT_EQ(TokenErrorName(TokenError::kExpired), "expired");
  EXPECT_EQ(TokenErrorName(TokenError::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(TokenErrorName(TokenError::kWrongAudience), "wrong_audience");
  EXPECT_EQ(TokenErrorName(TokenError::kUnknownKey), "unknown_key");
}

TEST(AdmissionTokenResult, ValueThrowsOnError) {
  util::FakeClock clock;
  KeyRing ring(clock, seconds(60));
  ring.SetOwnKeys(SingleKeySet(EcPrivateKey::Generate(), 0));
  const AdmissionTokenSigner signer(ring, clock);
  EXPECT_THROW(signer.Verify("garbage").value(), std::runtime_error);
}

}  // namespace
}  // namespace vwr::token
