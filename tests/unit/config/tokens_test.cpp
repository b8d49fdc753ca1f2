#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ErrorFor;
using testing::ParseOk;

TEST(Tokens, DefaultsAreTheDocumentedValues) {
  const Config c = ParseOk("");
  EXPECT_EQ(c.tokens.issuer, "vwr");
  EXPECT_EQ(c.tokens.rotate_after, milliseconds(7LL * 86'400'000));
  EXPECT_EQ(c.tokens.key_dir, "");
  EXPECT_EQ(KeyDir(c), "./data/keys");
  EXPECT_FALSE(c.rooms[0].token_lifetime.has_value());
  EXPECT_EQ(c.rooms[0].TokenLifetime(), seconds(600)) << "the session timeout";
  EXPECT_EQ(MaxTokenLifetime(c), seconds(600));
}

TEST(Tokens, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
store:
  data_dir: /var/lib/vwr/
tokens:
  issuer: "https://queue.example.com"
  rotate_after: 1d
  key_dir: /etc/vwr/keys
rooms:
  - id: a
    session_timeout: 15m
    token_lifetime: 2h
  - id: b
    session_timeout: 20m
)");
  EXPECT_EQ(c.tokens.issuer, "https://queue.example.com");
  EXPECT_EQ(c.tokens.rotate_after, milliseconds(86'400'000));
  EXPECT_EQ(KeyDir(c), "/etc/vwr/keys");
  EXPECT_EQ(c.rooms[0].TokenLifetime(), seconds(7200));
  EXPECT_EQ(c.rooms[1].TokenLifetime(), seconds(1200));
  EXPECT_EQ(MaxTokenLifetime(c), seconds(7200));
  EXPECT_EQ(KeyDir(ParseOk("store:\n  data_dir: /var/lib/vwr/\n")), "/var/lib/vwr/keys");
}

TEST(Tokens, RotateAfterZeroMeansOnDemandOnly) {
  EXPECT_EQ(ParseOk("tokens:\n  rotate_after: 0\n").tokens.rotate_after, milliseconds(0));
}

TEST(Tokens, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(tokens:
  issuer: ""
  rotate_after: 30s
  key_dir: ""
rooms:
  - id: a
    token_lifetime: 1500ms
  - id: b
    token_lifetime: 8d
  - id: c
    token_lifetime: soon
)");
  ASSERT_FALSE(r.ok());
  const ConfigError issuer = ErrorFor(r, "tokens.issuer");
  EXPECT_EQ(issuer.line, 2);
  const ConfigError rotate = ErrorFor(r, "tokens.rotate_after");
  EXPECT_EQ(rotate.line, 3);
  EXPECT_NE(rotate.message.find("0 (rotate only on demand) or between 1m and"), std::string::npos)
      << rotate.message;
  EXPECT_EQ(ErrorFor(r, "tokens.key_dir").line, 4);
  const ConfigError fraction = ErrorFor(r, "rooms[0].token_lifetime");
  EXPECT_EQ(fraction.line, 7);
  EXPECT_NE(fraction.message.find("whole number of seconds"), std::string::npos);
  const ConfigError too_long = ErrorFor(r, "rooms[1].token_lifetime");
  EXPECT_EQ(too_long.line, 9);
  EXPECT_NE(too_long.message.find("between 1s and 7d"), std::string::npos) << too_long.message;
  EXPECT_EQ(ErrorFor(r, "rooms[2].token_lifetime").line, 11);
  EXPECT_EQ(r.errors.size(), 6u);
}

TEST(Tokens, UnknownKeysAndWrongTypesAreErrors) {
  const ParseResult r = ParseConfig("tokens:\n  isuer: x\n  rotate_after: [1]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(ErrorFor(r, "tokens.isuer").message.find("did you mean \"issuer\""), std::string::npos);
  EXPECT_EQ(ErrorFor(r, "tokens.rotate_after").line, 3);
  EXPECT_FALSE(ParseConfig("tokens: 5\n").ok());
  const ParseResult control = ParseConfig("tokens:\n  issuer: \"a\\tb\"\n");
  EXPECT_FALSE(control.ok());
}

}  // namespace
}  // namespace vwr::config
