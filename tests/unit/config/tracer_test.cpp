#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

// The TRACER-compatible API's keys (tracer.*) and server.trusted_proxies.
namespace vwr::config {
namespace {

using testing::ErrorFor;
using testing::ParseOk;

TEST(Tracer, DefaultsAreTheDocumentedValues) {
  const Config c = ParseOk("");
  EXPECT_EQ(c.tracer.domain, "");
  EXPECT_FALSE(c.tracer.trust_client_ip);
  EXPECT_EQ(c.tracer.identity_binding, "cookie");
  EXPECT_EQ(c.tracer.allowed_origins, std::nullopt) << "unset: the rooms' match hosts";
  EXPECT_TRUE(c.server.trusted_proxies.empty());
  EXPECT_EQ(ParseOk("tracer:\n").tracer, TracerConfig{}) << "an empty section";
}

TEST(Tracer, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
tracer:
  domain: queue.example.com
  trust_client_ip: true
  identity_binding: address
  allowed_origins: ["https://Shop.Example.com/", "http://localhost:8080", "https://*.example.org",
                    "http://[::1]:3000", "https://192.0.2.1"]
server:
  trusted_proxies: ["10.0.0.0/8", "192.0.2.7", "2001:DB8::1/32", "10.1.2.3/16", "::1"]
)");
  EXPECT_EQ(c.tracer.domain, "queue.example.com");
  EXPECT_TRUE(c.tracer.trust_client_ip);
  EXPECT_EQ(c.tracer.identity_binding, "address");
  EXPECT_EQ(
      c.tracer.allowed_origins,
      (std::vector<std::string>{"https://shop.example.com", "http://localhost:8080",
                                "https://*.example.org", "http://[::1]:3000", "https://192.0.2.1"}))
      << "host in lower case, no trailing /";
  EXPECT_EQ(ParseOk("tracer:\n  allowed_origins: []\n").tracer.allowed_origins,
            std::vector<std::string>{})
      << "an empty list: no site may call from a browser";
  EXPECT_EQ(ParseOk("tracer:\n  identity_binding: none\n").tracer.identity_binding, "none");
  EXPECT_EQ(c.server.trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "10.1.0.0/16",
                                      "::1/128"}))
      << "normalised to <network>/<prefix>";
}

TEST(Tracer, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(tracer:
  domain: "queue example.com"
  trust_client_ip: yes
  domian: x
server:
  trusted_proxies: ["10.0.0.0/8", "10.0.0.0/33", "proxy.example.com"]
)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorFor(r, "tracer.domain").line, 2);
  EXPECT_EQ(ErrorFor(r, "tracer.trust_client_ip").line, 3);
  EXPECT_NE(ErrorFor(r, "tracer.domian").message.find("did you mean \"domain\""),
            std::string::npos);
  const ConfigError proxy = ErrorFor(r, "server.trusted_proxies[1]");
  EXPECT_EQ(proxy.line, 6);
  EXPECT_NE(proxy.message.find("CIDR"), std::string::npos) << proxy.message;
  EXPECT_EQ(ErrorFor(r, "server.trusted_proxies[2]").line, 6);
  EXPECT_FALSE(ParseConfig("server:\n  trusted_proxies: 10.0.0.0/8\n").ok()) << "not a list";
  EXPECT_FALSE(ParseConfig("tracer: 5\n").ok());
}

TEST(Tracer, BadBindingsAndOriginsNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(tracer:
  identity_binding: ip
  allowed_origins:
    - "https://shop.example.com"
    - "null"
    - "*"
    - "https://shop.example.com/sale"
    - "shop.example.com"
    - "ftp://shop.example.com"
    - "https://user@shop.example.com"
    - "https://*.example.com:99999"
)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorFor(r, "tracer.identity_binding").line, 2);
  EXPECT_NE(ErrorFor(r, "tracer.allowed_origins[1]").message.find("sandboxed"), std::string::npos)
      << ErrorFor(r, "tracer.allowed_origins[1]").message;
  EXPECT_EQ(ErrorFor(r, "tracer.allowed_origins[1]").line, 5);
  for (int i = 2; i <= 7; ++i) {
    EXPECT_EQ(ErrorFor(r, "tracer.allowed_origins[" + std::to_string(i) + "]").line, 4 + i) << i;
  }
  for (const ConfigError& e : r.errors) {
    EXPECT_NE(e.key, "tracer.allowed_origins[0]") << "a good entry: " << e.message;
  }
  EXPECT_FALSE(ParseConfig("tracer:\n  allowed_origins: https://shop.example.com\n").ok())
      << "not a list";
}

// server.trusted_proxies is read by the same parser as the guard's lists: a zone index, which a
// block cannot have, is an error rather than a proxy trusted under a name.
TEST(Tracer, TrustedProxiesAreReadAsTheGuardReadsAddresses) {
  for (const char* bad : {"fe80::1%1", "10.0.0.0/-0", "::ffff:10.0.0.0/95"}) {
    const ParseResult r =
        ParseConfig(std::string("server:\n  trusted_proxies: [\"") + bad + "\"]\n");
    EXPECT_NE(ErrorFor(r, "server.trusted_proxies[0]").message.find("CIDR"), std::string::npos)
        << bad;
  }
  EXPECT_EQ(
      ParseOk("server:\n  trusted_proxies: [\"::ffff:10.0.0.0/104\"]\n").server.trusted_proxies,
      std::vector<std::string>{"10.0.0.0/8"})
      << "an IPv4-mapped block is the IPv4 one";
}

}  // namespace
}  // namespace vwr::config
