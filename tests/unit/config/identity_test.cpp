#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

// identity.*: who a visitor is (anonymous hints, or the platform's signed user tokens).
namespace vwr::config {
namespace {

using testing::ErrorFor;
using testing::ParseOk;

TEST(Identity, DefaultsAreAnonymous) {
  const Config c = DefaultConfig();
  EXPECT_EQ(c.identity.mode, "anonymous");
  EXPECT_FALSE(c.identity.is_signed());
  EXPECT_TRUE(c.identity.required);
  EXPECT_EQ(c.identity.claim, "sub");
  EXPECT_EQ(c.identity.leeway, std::chrono::seconds(30));
  EXPECT_EQ(c.identity.refresh, std::chrono::minutes(5));
  EXPECT_EQ(ParseOk("identity:\n").identity, IdentityConfig{}) << "an empty section";
}

TEST(Identity, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
identity:
  mode: signed
  jwks_url: https://login.example.com/.well-known/jwks.json
  issuer: https://login.example.com
  audience: vwr
  claim: uid
  required: false
  leeway: 10s
  refresh: 1m
  algorithms: [RS256, ES256]
  cookie: platform_session
  tracer_login_id: true
)");
  const IdentityConfig& i = c.identity;
  EXPECT_TRUE(i.is_signed());
  EXPECT_EQ(i.jwks_url, "https://login.example.com/.well-known/jwks.json");
  EXPECT_EQ(i.issuer, "https://login.example.com");
  EXPECT_EQ(i.audience, "vwr");
  EXPECT_EQ(i.claim, "uid");
  EXPECT_FALSE(i.required);
  EXPECT_EQ(i.leeway, std::chrono::seconds(10));
  EXPECT_EQ(i.refresh, std::chrono::minutes(1));
  EXPECT_EQ(i.algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  EXPECT_EQ(i.cookie, "platform_session");
  EXPECT_TRUE(i.tracer_login_id);
  EXPECT_EQ(
      ParseOk("identity:\n  mode: signed\n  jwks_file: /etc/vwr/jwks.json\n").identity.jwks_file,
      "/etc/vwr/jwks.json");
}

TEST(Identity, SignedNeedsExactlyOneSourceOfKeys) {
  const ConfigError none = ErrorFor(ParseConfig("identity:\n  mode: signed\n"), "identity.mode");
  EXPECT_NE(none.message.find("exactly one of jwks_file and jwks_url"), std::string::npos)
      << none.message;
  EXPECT_EQ(none.line, 2) << "at the mode";
  ErrorFor(ParseConfig("identity:\n  mode: signed\n  jwks_file: a\n  jwks_url: https://x/j\n"),
           "identity.mode");
  // Keys without signed mode would silently do nothing.
  ErrorFor(ParseConfig("identity:\n  jwks_file: a\n"), "identity.mode");
}

TEST(Identity, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(identity:
  mode: trusted
  jwks_url: ftp://x/jwks
  claim: ""
  leeway: 1h
  refresh: 1s
  algorithms: [HS256]
  cookie: "a b"
  required: maybe
)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorFor(r, "identity.mode").line, 2);
  EXPECT_EQ(ErrorFor(r, "identity.claim").line, 4);
  EXPECT_EQ(ErrorFor(r, "identity.leeway").line, 5);
  EXPECT_EQ(ErrorFor(r, "identity.refresh").line, 6);
  EXPECT_EQ(ErrorFor(r, "identity.algorithms[0]").line, 7);
  EXPECT_EQ(ErrorFor(r, "identity.cookie").line, 8);
  EXPECT_EQ(ErrorFor(r, "identity.required").line, 9);
  const ParseResult url =
      ParseConfig("identity:\n  mode: signed\n  jwks_url: ftp://login.example/jwks\n");
  EXPECT_EQ(ErrorFor(url, "identity.jwks_url").line, 3);
}

}  // namespace
}  // namespace vwr::config
