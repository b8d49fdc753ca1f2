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
  EXPECT_TRUE(c.server.trusted_proxies.empty());
  EXPECT_EQ(ParseOk("tracer:\n").tracer, TracerConfig{}) << "an empty section";
}

TEST(Tracer, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
tracer:
  domain: queue.example.com
  trust_client_ip: true
server:
  trusted_proxies: ["10.0.0.0/8", "192.0.2.7", "2001:DB8::1/32", "10.1.2.3/16", "::1"]
)");
  EXPECT_EQ(c.tracer.domain, "queue.example.com");
  EXPECT_TRUE(c.tracer.trust_client_ip);
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

}  // namespace
}  // namespace vwr::config
