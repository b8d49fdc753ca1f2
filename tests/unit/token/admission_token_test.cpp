#include "token/admission_token.hpp"

#include <gtest/gtest.h>

#include <string>

#include "token/hmac_sha256.hpp"
#include "util/base64.hpp"
#include "util/random.hpp"

namespace vwr::token {
namespace {

SecretKey RandomKey() {
  SecretKey key;
  util::SecureRandom(key.bytes);
  return key;
}

// Builds a compact JWS from raw JSON texts, signed the way the signer signs (documented key
// derivation), so that tests can present well-signed tokens with arbitrary headers and claims.
std::string Forge(const SecretKey& key, std::string_view header, std::string_view payload) {
  std::string token = util::Base64UrlEncode(header) + "." + util::Base64UrlEncode(payload);
  const HmacSha256 mac(DeriveKey(key, "vwr.admission.hs256.v1").bytes);
  token += "." + util::Base64UrlEncode(mac.Compute(token));
  return token;
}

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT","kid":"k1"})";
constexpr std::string_view kPayload =
    R"({"iss":"vwr","aud":"room-a","sub":"anon","iat":1000,"nbf":1000,"exp":2000,"jti":"s1"})";

class AdmissionTokenTest : public ::testing::Test {
 protected:
  SecretKey key_ = RandomKey();
  AdmissionTokenSigner signer_{key_, "k1"};
  AdmissionClaims claims_{
      .aud = "room-a", .sub = "anon", .iat = 1000, .nbf = 1000, .exp = 2000, .jti = "s1"};
};

TEST_F(AdmissionTokenTest, RoundTrips) {
  const std::string token = signer_.Issue(claims_);
  const AdmissionTokenSigner::VerifyResult result = signer_.Verify(token);
  ASSERT_TRUE(result.has_value()) << TokenErrorName(result.error());
  EXPECT_EQ(*result, claims_);
  EXPECT_EQ(signer_.Verify(token, 1500, "room-a").value(), claims_);
}

TEST_F(AdmissionTokenTest, IssuesTheDocumentedJwtLayout) {
  const std::string token = signer_.Issue(claims_);
  EXPECT_EQ(token, Forge(key_, kHeader, kPayload));
}

TEST_F(AdmissionTokenTest, IssueIsDeterministic) {
  EXPECT_EQ(signer_.Issue(claims_), signer_.Issue(claims_));
  EXPECT_EQ(AdmissionTokenSigner(key_, "k1").Issue(claims_), signer_.Issue(claims_));
  AdmissionClaims other = claims_;
  other.jti = "s2";
  EXPECT_NE(signer_.Issue(other), signer_.Issue(claims_));
}

TEST_F(AdmissionTokenTest, RoundTripsStringsThatNeedEscaping) {
  claims_.sub = "quote\" backslash\\ newline\n unicode \xc3\xa9";
  claims_.iss = "";
  claims_.iat = -5;
  claims_.exp = std::numeric_limits<std::int64_t>::max();
  const auto result = signer_.Verify(signer_.Issue(claims_));
  ASSERT_TRUE(result.has_value()) << TokenErrorName(result.error());
  EXPECT_EQ(*result, claims_);
}

TEST_F(AdmissionTokenTest, AcceptsOurHeaderInAnotherSerialization) {
  const auto result =
      signer_.Verify(Forge(key_, R"({ "kid":"k1", "typ":"JWT", "alg":"HS256", "x":1 })", kPayload));
  ASSERT_TRUE(result.has_value()) << TokenErrorName(result.error());
  EXPECT_EQ(*result, claims_);
}

TEST_F(AdmissionTokenTest, RejectsTamperedPayload) {
  const std::string token = signer_.Issue(claims_);
  const std::size_t first = token.find('.'), second = token.rfind('.');
  AdmissionClaims forged = claims_;
  forged.aud = "room-b";
  const std::string other = signer_.Issue(forged);
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
  const std::string token = signer_.Issue(claims_);
  const std::size_t second = token.rfind('.');
  for (std::size_t pos = second + 1; pos < token.size(); ++pos) {
    std::string changed = token;
    changed[pos] = changed[pos] == 'A' ? 'B' : 'A';
    EXPECT_EQ(signer_.Verify(changed).error(), TokenError::kBadSignature) << pos;
  }
  EXPECT_EQ(signer_.Verify(token.substr(0, second + 1)).error(), TokenError::kBadSignature);
  EXPECT_EQ(signer_.Verify(token + "A").error(), TokenError::kBadSignature);
  EXPECT_EQ(signer_.Verify(token.substr(0, token.size() - 1)).error(), TokenError::kBadSignature);
}

TEST_F(AdmissionTokenTest, RejectsOtherAlgorithms) {
  for (std::string_view alg : {"none", "None", "HS512", "HS384", "ES256", "RS256", "hs256"}) {
    const std::string header = R"({"alg":")" + std::string(alg) + R"(","typ":"JWT","kid":"k1"})";
    EXPECT_EQ(signer_.Verify(Forge(key_, header, kPayload)).error(),
              TokenError::kUnsupportedAlgorithm)
        << alg;
  }
  // Classic "alg":"none" with an empty signature.
  const std::string unsigned_token =
      util::Base64UrlEncode(std::string_view(R"({"alg":"none","typ":"JWT","kid":"k1"})")) + "." +
      util::Base64UrlEncode(kPayload) + ".";
  EXPECT_EQ(signer_.Verify(unsigned_token).error(), TokenError::kUnsupportedAlgorithm);
  EXPECT_EQ(signer_.Verify(Forge(key_, R"({"alg":256,"typ":"JWT","kid":"k1"})", kPayload)).error(),
            TokenError::kMalformed);
  EXPECT_EQ(signer_.Verify(Forge(key_, R"({"typ":"JWT","kid":"k1"})", kPayload)).error(),
            TokenError::kMalformed);
}

TEST_F(AdmissionTokenTest, RejectsMissingOrWrongKeyId) {
  EXPECT_EQ(signer_.Verify(Forge(key_, R"({"alg":"HS256","typ":"JWT"})", kPayload)).error(),
            TokenError::kBadSignature);
  EXPECT_EQ(
      signer_.Verify(Forge(key_, R"({"alg":"HS256","typ":"JWT","kid":"k2"})", kPayload)).error(),
      TokenError::kBadSignature);
  EXPECT_EQ(signer_.Verify(Forge(key_, R"({"alg":"HS256","typ":"JWT","kid":1})", kPayload)).error(),
            TokenError::kBadSignature);
  // Another signer with the same key but a different key id.
  const AdmissionTokenSigner other(key_, "k2");
  EXPECT_EQ(signer_.Verify(other.Issue(claims_)).error(), TokenError::kBadSignature);
}

TEST_F(AdmissionTokenTest, RejectsOtherHeaderProblems) {
  for (std::string_view header :
       {R"({"alg":"HS256","kid":"k1"})", R"({"alg":"HS256","typ":"JWS","kid":"k1"})",
        R"({"alg":"HS256","typ":"JWT","kid":"k1","crit":["exp"]})", R"(["HS256"])", R"({"alg")",
        ""}) {
    EXPECT_EQ(signer_.Verify(Forge(key_, header, kPayload)).error(), TokenError::kMalformed)
        << header;
  }
}

TEST_F(AdmissionTokenTest, RejectsOtherKeys) {
  const AdmissionTokenSigner other(RandomKey(), "k1");
  EXPECT_EQ(other.Verify(signer_.Issue(claims_)).error(), TokenError::kBadSignature);
}

TEST_F(AdmissionTokenTest, RejectsMalformedShapes) {
  const std::string token = signer_.Issue(claims_);
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
  EXPECT_EQ(signer_.Verify(signer_.Issue(claims_)).error(), TokenError::kMalformed);
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
    EXPECT_EQ(signer_.Verify(Forge(key_, kHeader, payload)).error(), TokenError::kMalformed)
        << payload;
  }
  // Unknown claims are ignored.
  const auto result =
      signer_.Verify(Forge(key_, kHeader, Edit(R"("jti":"s1")", R"("jti":"s1","x":{})")));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, claims_);
}

TEST_F(AdmissionTokenTest, ChecksTimeOnlyWhenAsked) {
  const std::string token = signer_.Issue(claims_);
  EXPECT_TRUE(signer_.Verify(token, 1000).has_value());
  EXPECT_TRUE(signer_.Verify(token, 1999).has_value());
  EXPECT_EQ(signer_.Verify(token, 2000).error(), TokenError::kExpired);
  EXPECT_EQ(signer_.Verify(token, 999).error(), TokenError::kNotYetValid);
  EXPECT_TRUE(signer_.Verify(token).has_value());
}

TEST_F(AdmissionTokenTest, ChecksAudienceOnlyWhenAsked) {
  const std::string token = signer_.Issue(claims_);
  EXPECT_TRUE(signer_.Verify(token, std::nullopt, "room-a").has_value());
  EXPECT_EQ(signer_.Verify(token, std::nullopt, "room-b").error(), TokenError::kWrongAudience);
  EXPECT_EQ(signer_.Verify(token, std::nullopt, "").error(), TokenError::kWrongAudience);
  EXPECT_EQ(signer_.Verify(token, 1500, "room-b").error(), TokenError::kWrongAudience);
}

TEST(TokenErrorName, NamesEveryError) {
  EXPECT_EQ(TokenErrorName(TokenError::kMalformed), "malformed");
  EXPECT_EQ(TokenErrorName(TokenError::kUnsupportedAlgorithm), "unsupported_algorithm");
  EXPECT_EQ(TokenErrorName(TokenError::kBadSignature), "bad_signature");
  EXPECT_EQ(TokenErrorName(TokenError::kExpired), "expired");
  EXPECT_EQ(TokenErrorName(TokenError::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(TokenErrorName(TokenError::kWrongAudience), "wrong_audience");
}

TEST(AdmissionTokenResult, ValueThrowsOnError) {
  const AdmissionTokenSigner signer(RandomKey(), "k1");
  EXPECT_THROW(signer.Verify("garbage").value(), std::runtime_error);
}

}  // namespace
}  // namespace vwr::token
