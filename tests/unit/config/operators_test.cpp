#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using testing::Describe;
using testing::ErrorFor;
using testing::ParseOk;

TEST(OperatorsSection, ReadsEachOperatorWithItsTokenSource) {
  const Config c = ParseOk(R"(
operators:
  - name: alice
    role: operator
    token_file: /etc/vwr/alice.token
  - name: bob.viewer@ops
    role: viewer
    token_env: VWR_BOB_TOKEN
)");
  ASSERT_EQ(c.operators.size(), 2u);
  EXPECT_EQ(c.operators[0], (OperatorConfig{"alice", "operator", "/etc/vwr/alice.token", ""}));
  EXPECT_EQ(c.operators[1], (OperatorConfig{"bob.viewer@ops", "viewer", "", "VWR_BOB_TOKEN"}));
}

TEST(OperatorsSection, NoOperatorsByDefault) {
  EXPECT_TRUE(ParseOk("").operators.empty());
  EXPECT_TRUE(ParseOk("operators:\n").operators.empty());
}

TEST(OperatorsSection, NeverAnInlineTokenAndExactlyOneSource) {
  ParseResult r =
      ParseConfig("operators:\n  - {name: a, role: admin, token: s3cr3t-s3cr3t-s3cr3t}\n");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(ErrorFor(r, "operators[0].token").message.find("unknown key"), std::string::npos);
  EXPECT_EQ(Describe(r).find("s3cr3t"), std::string::npos) << "the value is never quoted back";
  r = ParseConfig("operators:\n  - {name: a, role: admin}\n");
  EXPECT_NE(ErrorFor(r, "operators[0]").message.find("exactly one of token_file and token_env"),
            std::string::npos);
  r = ParseConfig("operators:\n  - {name: a, role: admin, token_file: /x, token_env: X}\n");
  EXPECT_NE(ErrorFor(r, "operators[0]").message.find("exactly one"), std::string::npos);
}

TEST(OperatorsSection, NamesRolesAndEnvironmentNamesAreChecked) {
  ParseResult r = ParseConfig("operators:\n  - {name: \"a\\tb\", role: admin, token_env: X}\n");
  EXPECT_NE(ErrorFor(r, "operators[0].name").message.find("1 to 64 characters"), std::string::npos);
  EXPECT_EQ(Describe(r).find('\t'), std::string::npos) << "a control character is not echoed";
  r = ParseConfig("operators:\n  - {name: admin, role: admin, token_env: X}\n");
  EXPECT_NE(ErrorFor(r, "operators[0].name").message.find("admin token"), std::string::npos);
  r = ParseConfig("operators:\n  - {name: a, role: root, token_env: X}\n");
  EXPECT_NE(ErrorFor(r, "operators[0].role").message.find("viewer, operator, admin"),
            std::string::npos);
  r = ParseConfig("operators:\n  - {name: a, role: viewer, token_env: \"X Y\"}\n");
  EXPECT_FALSE(ErrorFor(r, "operators[0].token_env").message.empty());
  r = ParseConfig(
      "operators:\n  - {name: a, role: viewer, token_env: X}\n"
      "  - {name: a, role: admin, token_env: Y}\n");
  const ConfigError twice = ErrorFor(r, "operators[1].name");
  EXPECT_NE(twice.message.find("listed twice (first at line 2)"), std::string::npos);
  EXPECT_EQ(twice.line, 3);
}

TEST(ConsoleSection, DefaultsAndBounds) {
  const Config d = ParseOk("");
  EXPECT_EQ(d.console.session_timeout, std::chrono::hours(8));
  EXPECT_FALSE(d.console.cookie_secure);
  EXPECT_EQ(d.console.signin_attempts, 5);
  EXPECT_EQ(d.console.signin_window, std::chrono::minutes(1));
  const Config c = ParseOk(
      "console:\n  session_timeout: 30m\n  cookie_secure: true\n  signin_attempts: 3\n"
      "  signin_window: 5m\n");
  EXPECT_EQ(c.console.session_timeout, std::chrono::minutes(30));
  EXPECT_TRUE(c.console.cookie_secure);
  EXPECT_EQ(c.console.signin_attempts, 3);
  EXPECT_EQ(c.console.signin_window, std::chrono::minutes(5));
  ParseResult r = ParseConfig("console:\n  session_timeout: 10s\n  signin_attempts: 0\n");
  EXPECT_NE(ErrorFor(r, "console.session_timeout").message.find("between 5m and 7d"),
            std::string::npos);
  EXPECT_FALSE(ErrorFor(r, "console.signin_attempts").message.empty());
  r = ParseConfig("console:\n  sesion_timeout: 1h\n");
  EXPECT_NE(ErrorFor(r, "console.sesion_timeout").message.find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace vwr::config
