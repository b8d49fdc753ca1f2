#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using testing::ErrorFor;
using testing::ParseOk;

TEST(Protection, DefaultsAreTheDocumentedValues) {
  const ProtectionConfig p = ParseOk("").rooms[0].protection;
  EXPECT_EQ(p.mode, "shadow");
  EXPECT_EQ(p.window, milliseconds(10'000));
  EXPECT_EQ(p.limit_per_ip, 600u);
  EXPECT_EQ(p.limit_per_identity, 60u);
  EXPECT_EQ(p.block_time, milliseconds(60'000));
  EXPECT_EQ(p.joins_mode, "enforce");
  EXPECT_EQ(p.joins_window, milliseconds(60'000));
  EXPECT_EQ(p.joins_per_ip, 300u);
  EXPECT_TRUE(p.deny.ips.empty() && p.allow.identities.empty() && p.unblock.ips.empty());
  EXPECT_EQ(ParseOk("rooms:\n  - id: r\n    protection:\n").rooms[0].protection,
            ProtectionConfig{});
}

TEST(Protection, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
rooms:
  - id: r
    protection:
      mode: enforce
      window: 30s
      limit_per_ip: 0
      limit_per_identity: 5
      block_time: 2m
      joins_mode: shadow
      joins_window: 5m
      joins_per_ip: 0
      deny:
        ips: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]
        identities: [bot]
      allow:
        identities: [vip]
      unblock:
        ips: ["::1"]
)");
  const ProtectionConfig& p = c.rooms[0].protection;
  EXPECT_EQ(p.mode, "enforce");
  EXPECT_EQ(p.window, milliseconds(30'000));
  EXPECT_EQ(p.limit_per_ip, 0u);
  EXPECT_EQ(p.limit_per_identity, 5u);
  EXPECT_EQ(p.block_time, milliseconds(120'000));
  EXPECT_EQ(p.joins_mode, "shadow");
  EXPECT_EQ(p.joins_window, milliseconds(300'000));
  EXPECT_EQ(p.joins_per_ip, 0u);
  EXPECT_EQ(p.deny.ips, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}));
  EXPECT_EQ(p.deny.identities, std::vector<std::string>{"bot"});
  EXPECT_EQ(p.allow.identities, std::vector<std::string>{"vip"});
  EXPECT_EQ(p.unblock.ips, std::vector<std::string>{"::1"});
}

TEST(Protection, BadValuesAreReportedWithTheirKeys) {
  const ParseResult r = ParseConfig(R"(
rooms:
  - id: r
    protection:
      mode: strict
      window: 500ms
      limit_per_ip: -1
      block_time: 1500ms
      joins_mode: always
      joins_window: 2h
      joins_per_ip: 1.5
      deny:
        ips: ["10.0.0.0/33", "example.com", "1.2.3.4"]
        identities: [""]
      allow:
        addresses: []
)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(ErrorFor(r, "rooms[0].protection.mode").message.find("off, shadow"), std::string::npos);
  ErrorFor(r, "rooms[0].protection.window");
  ErrorFor(r, "rooms[0].protection.limit_per_ip");
  EXPECT_NE(ErrorFor(r, "rooms[0].protection.block_time").message.find("whole number"),
            std::string::npos);
  EXPECT_NE(ErrorFor(r, "rooms[0].protection.deny.ips[0]").message.find("CIDR"), std::string::npos);
  ErrorFor(r, "rooms[0].protection.joins_mode");
  ErrorFor(r, "rooms[0].protection.joins_window");
  ErrorFor(r, "rooms[0].protection.joins_per_ip");
  ErrorFor(r, "rooms[0].protection.deny.ips[1]");
  ErrorFor(r, "rooms[0].protection.deny.identities[0]");
  ErrorFor(r, "rooms[0].protection.allow.addresses");
}

// Addresses in the lists are read by the parser the guard matches with: an entry the
// configuration accepts is never one the guard would drop ("/-0" was taken here as /0 and
// then ignored by the guard, its deny entry with it).
TEST(Protection, ListAddressesAreReadAsTheGuardReadsThem) {
  for (const char* bad : {"10.0.0.0/-0", "fe80::1%1", "::ffff:10.0.0.0/95", "10.0.0.0/0008"}) {
    const ParseResult r = ParseConfig(std::string("rooms:\n  - id: r\n    protection:\n") +
                                      "      deny:\n        ips: [\"" + bad + "\"]\n");
    EXPECT_NE(ErrorFor(r, "rooms[0].protection.deny.ips[0]").message.find("CIDR"),
              std::string::npos)
        << bad;
  }
  const Config c = ParseOk(R"(
rooms:
  - id: r
    protection:
      deny:
        ips: ["10.1.2.3/8", "::ffff:10.0.0.0/104", "2001:DB8::1/32", " 192.0.2.1"]
)");
  EXPECT_EQ(c.rooms[0].protection.deny.ips.size(), 4U) << "kept as written";
}

}  // namespace
}  // namespace vwr::config
