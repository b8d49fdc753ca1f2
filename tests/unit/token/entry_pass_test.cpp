#include "token/entry_pass.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "token/admission_token.hpp"
#include "token/es256.hpp"
#include "util/base64.hpp"
#include "util/clock.hpp"

namespace vwr::token {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kNow = 1'800'000'000;

class EntryPassTest : public ::testing::Test {
 protected:
  EntryPassTest() { ring_.SetOwnKeys(token::SingleKeySet(key_, 0)); }

  EntryPassClaims Claims(std::int64_t iat = kNow, std::int64_t exp = kNow + 600) {
    return EntryPassClaims{
        .iss = "vwr", .aud = "sale", .sub = "abc", .sid = "s.1", .iat = iat, .exp = exp};
  }

  // A compact JWS of `header` and `payload` signed with the ring's key, as a forger holding
  // it (or a bug) would make it.
  std::string Sign(const boost::json::object& header, const boost::json::object& payload) {
    std::string text = util::Base64UrlEncode(boost::json::serialize(header)) + "." +
                       util::Base64UrlEncode(boost::json::serialize(payload));
    const token::Es256Signature sig = key_.Sign(text).value();
    return text + "." + util::Base64UrlEncode(sig);
  }

  util::FakeClock clock_;
  token::EcPrivateKey key_ = token::EcPrivateKey::Generate();
  token::KeyRing ring_{clock_, seconds(600)};
  EntryPassCodec passes_{ring_};
  token::AdmissionTokenSigner tokens_{ring_, clock_};
};

TEST_F(EntryPassTest, IssuedPassesVerifyAndSayWhatWasIssued) {
  const std::string pass = passes_.Issue(Claims()).value();
  auto verified = passes_.Verify(pass, kNow, "sale", "vwr");
  ASSERT_TRUE(verified.has_value()) << PassErrorName(verified.error());
  EXPECT_EQ(*verified, Claims());

  // The encoding: typed as a pass, marked as one, signed by the ring's key (its kid).
  const std::string header = *util::Base64UrlDecode(pass.substr(0, pass.find('.')));
  EXPECT_EQ(header, R"({"alg":"ES256","typ":"vwr-pass+jwt","kid":")" + tokens_.key_id() + R"("})");
  const std::size_t first = pass.find('.');
  const std::size_t second = pass.rfind('.');
  const boost::json::object payload =
      boost::json::parse(*util::Base64UrlDecode(pass.substr(first + 1, second - first - 1)))
          .as_object();
  EXPECT_EQ(payload.at("vwr"), "pass");
  EXPECT_EQ(payload.at("aud"), "sale");
  EXPECT_EQ(payload.at("sub"), "abc");
  EXPECT_EQ(payload.at("iat").as_int64(), kNow);
  EXPECT_EQ(payload.at("nbf").as_int64(), kNow);
  EXPECT_EQ(payload.at("exp").as_int64(), kNow + 600);
  EXPECT_FALSE(payload.contains("jti")) << "a pass names no session";
}

TEST_F(EntryPassTest, APassHoldsUntilItsExpiry) {
  const std::string pass = passes_.Issue(Claims(kNow, kNow + 60)).value();
  EXPECT_TRUE(passes_.Verify(pass, kNow + 59, "sale", "vwr").has_value());
  EXPECT_EQ(passes_.Verify(pass, kNow + 60, "sale", "vwr").error(), PassError::kExpired);
  EXPECT_EQ(passes_.Verify(pass, kNow + 86'400, "sale", "vwr").error(), PassError::kExpired);
  EXPECT_EQ(passes_.Verify(pass, kNow - 1, "sale", "vwr").error(), PassError::kNotYetValid);
}

TEST_F(EntryPassTest, APassIsForItsRoomAndIssuer) {
  const std::string pass = passes_.Issue(Claims()).value();
  EXPECT_EQ(passes_.Verify(pass, kNow, "other", "vwr").error(), PassError::kWrongRoom);
  EXPECT_EQ(passes_.Verify(pass, kNow, "sale", "someone-else").error(), PassError::kWrongIssuer);
}

TEST_F(EntryPassTest, APassIsNeverAnAdmissionToken) {
  const std::string pass = passes_.Issue(Claims()).value();
  // Genuine, signed by the token keys, for the room, in time: still refused as a token.
  EXPECT_FALSE(tokens_.Verify(pass).has_value());
  EXPECT_FALSE(tokens_.Verify(pass, kNow, "sale").has_value());
}

TEST_F(EntryPassTest, AnAdmissionTokenIsNeverAPass) {
  const std::string token = tokens_
                                .Issue(token::AdmissionClaims{.iss = "vwr",
                                                              .aud = "sale",
                                                              .sub = "abc",
                                                              .iat = kNow,
                                                              .nbf = kNow,
                                                              .exp = kNow + 600,
                                                              .jti = "0000000000000001.1"})
                                .value();
  ASSERT_TRUE(tokens_.Verify(token, kNow, "sale").has_value());
  EXPECT_EQ(passes_.Verify(token, kNow, "sale", "vwr").error(), PassError::kNotAPass);
}

TEST_F(EntryPassTest, BothMarksAreNeeded) {
  const std::string kid = tokens_.key_id();
  boost::json::object payload{{"iss", "vwr"}, {"aud", "sale"}, {"sub", "abc"},     {"sid", "s.1"},
                              {"iat", kNow},  {"nbf", kNow},   {"exp", kNow + 600}};
  // The pass's header without the pass claim (a token's payload under a pass header).
  EXPECT_EQ(passes_
                .Verify(Sign({{"alg", "ES256"}, {"typ", "vwr-pass+jwt"}, {"kid", kid}}, payload),
                        kNow, "sale", "vwr")
                .error(),
            PassError::kNotAPass);
  payload["vwr"] = "pass";
  // The pass claim under a token's header.
  EXPECT_EQ(passes_
                .Verify(Sign({{"alg", "ES256"}, {"typ", "JWT"}, {"kid", kid}}, payload), kNow,
                        "sale", "vwr")
                .error(),
            PassError::kNotAPass);
  payload["vwr"] = "token";
  EXPECT_EQ(passes_
                .Verify(Sign({{"alg", "ES256"}, {"typ", "vwr-pass+jwt"}, {"kid", kid}}, payload),
                        kNow, "sale", "vwr")
                .error(),
            PassError::kNotAPass);
  payload["vwr"] = "pass";
  EXPECT_TRUE(passes_
                  .Verify(Sign({{"alg", "ES256"}, {"typ", "vwr-pass+jwt"}, {"kid", kid}}, payload),
                          kNow, "sale", "vwr")
                  .has_value());
}

// The admission tokens' header, byte for byte, is taken as known without being read; over a
// payload marked as a pass it still makes no pass.
TEST_F(EntryPassTest, TheRingsOwnTokenHeaderIsNoPassHeader) {
  const boost::json::object payload{{"iss", "vwr"},      {"aud", "sale"}, {"sub", "abc"},
                                    {"sid", "s.1"},      {"iat", kNow},   {"nbf", kNow},
                                    {"exp", kNow + 600}, {"vwr", "pass"}};
  std::string text = ring_.Current().signer->encoded_header + "." +
                     util::Base64UrlEncode(boost::json::serialize(payload));
  text += "." + util::Base64UrlEncode(key_.Sign(text).value());
  EXPECT_EQ(passes_.Verify(text, kNow, "sale", "vwr").error(), PassError::kNotAPass);
}

TEST_F(EntryPassTest, ForgedAndBrokenPassesAreRefused) {
  const std::string pass = passes_.Issue(Claims()).value();
  const std::size_t first = pass.find('.');
  const std::size_t second = pass.rfind('.');
  const std::string header = pass.substr(0, first);
  const std::string payload = pass.substr(first + 1, second - first - 1);
  const std::string signature = pass.substr(second + 1);

  // A longer pass, with the signature of the real one.
  const std::string longer =
      util::Base64UrlEncode(boost::json::serialize(boost::json::object{{"iss", "vwr"},
                                                                       {"aud", "sale"},
                                                                       {"sub", "abc"},
                                                                       {"iat", kNow},
                                                                       {"nbf", kNow},
                                                                       {"exp", kNow + 86'400 * 365},
                                                                       {"vwr", "pass"}}));
  EXPECT_EQ(passes_.Verify(header + "." + longer + "." + signature, kNow, "sale", "vwr").error(),
            PassError::kBadSignature);
  // alg none, and HS256.
  const std::string none =
      util::Base64UrlEncode(std::string_view(R"({"alg":"none","typ":"vwr-pass+jwt"})"));
  EXPECT_EQ(passes_.Verify(none + "." + payload + ".", kNow, "sale", "vwr").error(),
            PassError::kUnsupportedAlgorithm);
  const std::string hs =
      util::Base64UrlEncode(std::string_view(R"({"alg":"HS256","typ":"vwr-pass+jwt","kid":"x"})"));
  EXPECT_EQ(passes_.Verify(hs + "." + payload + "." + signature, kNow, "sale", "vwr").error(),
            PassError::kUnsupportedAlgorithm);
  // Signed by a key the ring does not hold, under the ring's kid.
  token::EcPrivateKey intruder = token::EcPrivateKey::Generate();
  const std::string text = header + "." + payload;
  EXPECT_EQ(passes_
                .Verify(text + "." + util::Base64UrlEncode(intruder.Sign(text).value()), kNow,
                        "sale", "vwr")
                .error(),
            PassError::kBadSignature);
  const std::string unknown_kid = util::Base64UrlEncode(
      std::string_view(R"({"alg":"ES256","typ":"vwr-pass+jwt","kid":"unknown"})"));
  EXPECT_EQ(
      passes_.Verify(unknown_kid + "." + payload + "." + signature, kNow, "sale", "vwr").error(),
      PassError::kUnknownKey);
  // Shapes.
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string("a.b"), std::string("a.b.c.d"),
        pass + "x", std::string(5000, 'a'), header + ".!!." + signature}) {
    EXPECT_FALSE(passes_.Verify(bad, kNow, "sale", "vwr").has_value()) << bad.substr(0, 80);
  }
}

TEST_F(EntryPassTest, IssueWithoutAKeyFails) {
  token::KeyRing empty{clock_, seconds(60)};
  EXPECT_EQ(EntryPassCodec(empty).Issue(Claims()).error(), SignError::kNoSigningKey);
  EXPECT_EQ(
      EntryPassCodec(empty).Verify(passes_.Issue(Claims()).value(), kNow, "sale", "vwr").error(),
      PassError::kUnknownKey);
}

}  // namespace
}  // namespace vwr::token
