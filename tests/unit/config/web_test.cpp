#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ErrorFor;
using testing::ParseOk;

TEST(Web, DefaultsAreTheDocumentedValues) {
  const Config c = ParseOk("");
  EXPECT_EQ(c.web.public_url, "");
  EXPECT_FALSE(c.web.cookie_secure);
  EXPECT_EQ(c.web.cookie_domain, "");
  EXPECT_FALSE(c.rooms[0].entry_pass.has_value());
  EXPECT_EQ(ParseOk("web:\n").web, WebConfig{}) << "an empty section";
}

TEST(Web, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
web:
  public_url: "https://queue.example.com"
  cookie_secure: true
  cookie_domain: Example.COM
)");
  EXPECT_EQ(c.web.public_url, "https://queue.example.com");
  EXPECT_TRUE(c.web.cookie_secure);
  EXPECT_EQ(c.web.cookie_domain, "example.com") << "lower case";
}

TEST(Web, PublicUrlIsAnOrigin) {
  for (const char* ok : {"http://queue.example.com", "https://q.example.com:8443",
                         "http://127.0.0.1:8080", "http://[::1]:8080", "https://[2001:db8::1]"}) {
    EXPECT_EQ(ParseOk(std::string("web:\n  public_url: \"") + ok + "\"\n").web.public_url, ok);
  }
  EXPECT_EQ(ParseOk("web:\n  public_url: \"https://q.example.com/\"\n").web.public_url,
            "https://q.example.com")
      << "a trailing slash is dropped";
  EXPECT_EQ(ParseOk("web:\n  public_url: \"\"\n").web.public_url, "") << "empty: not set";
  for (const char* bad :
       {"queue.example.com", "ftp://q.example.com", "HTTPS://q.example.com", "https://",
        "https://q.example.com/queue", "https://q.example.com?x=1", "https://q.example.com#x",
        "https://user@q.example.com", "https://q.example.com:99999", "https://q.example.com:",
        "https://q_ex ample.com", "https://[::1", "https://[nope]:80", "https://[::1]x"}) {
    const ParseResult r = ParseConfig(std::string("web:\n  public_url: \"") + bad + "\"\n");
    ASSERT_FALSE(r.ok()) << bad;
    const ConfigError e = ErrorFor(r, "web.public_url");
    EXPECT_EQ(e.line, 2) << bad;
    EXPECT_NE(e.message.find("https://queue.example.com"), std::string::npos) << e.message;
  }
  const ParseResult path = ParseConfig("web:\n  public_url: https://q.example.com/wait\n");
  EXPECT_NE(ErrorFor(path, "web.public_url").message.find("without a path"), std::string::npos);
}

TEST(Web, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(web:
  cookie_secure: yes
  cookie_domain: "example.com:443"
  cookie_domian: x
)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorFor(r, "web.cookie_secure").line, 2);
  const ConfigError domain = ErrorFor(r, "web.cookie_domain");
  EXPECT_EQ(domain.line, 3);
  EXPECT_NE(domain.message.find("without a port"), std::string::npos) << domain.message;
  EXPECT_NE(ErrorFor(r, "web.cookie_domian").message.find("did you mean \"cookie_domain\""),
            std::string::npos);
  EXPECT_EQ(ParseOk("web:\n  cookie_domain: .example.com\n").web.cookie_domain, "example.com")
      << "a leading dot, as RFC 6265 allows, is dropped";
  EXPECT_FALSE(ParseConfig("web: 5\n").ok());
  EXPECT_FALSE(ParseConfig("web:\n  cookie_domain: \"exa mple.com\"\n").ok());
}

TEST(EntryPass, IsReadPerRoomAndCountsTowardKeyRetention) {
  const Config c = ParseOk(R"(
rooms:
  - id: a
    session_timeout: 10m
    entry_pass: 2h
  - id: b
    entry_pass: 1m
  - id: c
)");
  EXPECT_EQ(c.rooms[0].entry_pass, milliseconds(7'200'000));
  EXPECT_EQ(c.rooms[1].entry_pass, milliseconds(60'000));
  EXPECT_FALSE(c.rooms[2].entry_pass.has_value());
  // The keys that sign passes must verify them for as long as they hold.
  EXPECT_EQ(MaxTokenLifetime(c), seconds(7200));
  EXPECT_EQ(ParseOk("rooms:\n  - id: a\n    entry_pass: 24h\n").rooms[0].entry_pass,
            milliseconds(86'400'000));
}

TEST(EntryPass, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(rooms:
  - id: a
    entry_pass: 59s
  - id: b
    entry_pass: 25h
  - id: c
    entry_pass: 90500ms
  - id: d
    entry_pass: forever
)");
  ASSERT_FALSE(r.ok());
  const ConfigError short_pass = ErrorFor(r, "rooms[0].entry_pass");
  EXPECT_EQ(short_pass.line, 3);
  EXPECT_NE(short_pass.message.find("between 1m and 1d"), std::string::npos) << short_pass.message;
  EXPECT_EQ(ErrorFor(r, "rooms[1].entry_pass").line, 5);
  EXPECT_NE(ErrorFor(r, "rooms[2].entry_pass").message.find("whole number of seconds"),
            std::string::npos);
  EXPECT_EQ(ErrorFor(r, "rooms[3].entry_pass").line, 9);
  EXPECT_EQ(r.errors.size(), 4u);
}

TEST(EntryPass, ARoomIdThatWouldTakeAnotherRoomsPassCookieIsRefused) {
  const ParseResult r = ParseConfig(R"(rooms:
  - id: sale
  - id: pass_sale
)");
  ASSERT_FALSE(r.ok());
  const ConfigError clash = ErrorFor(r, "rooms[1].id");
  EXPECT_EQ(clash.line, 3);
  EXPECT_NE(clash.message.find("vwr_pass_sale"), std::string::npos) << clash.message;
  // Alone, such an id is fine.
  EXPECT_EQ(ParseOk("rooms:\n  - id: pass_sale\n").rooms[0].id, "pass_sale");
}

}  // namespace
}  // namespace vwr::config
