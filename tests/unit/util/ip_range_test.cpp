#include "util/ip_range.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vwr::util {
namespace {

namespace ip = boost::asio::ip;

ip::address Ip(const char* text) { return ip::make_address(text); }

IpRange Block(std::string_view text) {
  std::optional<IpRange> range = IpRange::Parse(text);
  EXPECT_TRUE(range.has_value()) << text;
  return range.value_or(*IpRange::Parse("::/128"));
}

TEST(IpRange, ParsesAddressesAndBlocksOfBothFamilies) {
  auto one = IpRange::Parse("10.1.2.3");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->first(), one->last());
  EXPECT_EQ(one->first(), Ip128::Of(Ip("10.1.2.3")));
  auto v4 = IpRange::Parse("10.1.2.3/8");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->first(), Ip128::Of(Ip("10.0.0.0")));
  EXPECT_EQ(v4->last(), Ip128::Of(Ip("10.255.255.255")));
  auto v6 = IpRange::Parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->first(), Ip128::Of(Ip("2001:db8::")));
  EXPECT_EQ(v6->last(), Ip128::Of(Ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  auto all = IpRange::Parse("::/0");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->first(), (Ip128{0, 0}));
  EXPECT_EQ(all->last(), (Ip128{~0ULL, ~0ULL}));
  auto v6_70 = IpRange::Parse("2001:db8::/70");
  ASSERT_TRUE(v6_70);
  EXPECT_EQ(v6_70->last(), Ip128::Of(Ip("2001:db8::3ff:ffff:ffff:ffff")));
  // An IPv4-mapped IPv6 peer is the same address as the IPv4 one.
  EXPECT_EQ(Ip128::Of(Ip("::ffff:10.1.2.3")), Ip128::Of(Ip("10.1.2.3")));
}

TEST(IpRange, ReadsTheNetworkAndThePrefixOfItsFamily) {
  EXPECT_EQ(Block("10.1.2.3/8").first().ToString(), "10.0.0.0");
  EXPECT_EQ(Block("10.1.2.3/8").prefix_length(), 8U);
  EXPECT_EQ(Block("192.0.2.7").prefix_length(), 32U);
  EXPECT_EQ(Block("2001:db8::1/32").first().ToString(), "2001:db8::");
  EXPECT_EQ(Block("::1").prefix_length(), 128U);
  EXPECT_EQ(Block(" 0.0.0.0/0 ").prefix_length(), 0U);
  // An IPv4-mapped block is the IPv4 one.
  EXPECT_EQ(Block("::ffff:10.0.0.0/104").first().ToString(), "10.0.0.0");
  EXPECT_EQ(Block("::ffff:10.0.0.0/104").prefix_length(), 8U);
  EXPECT_TRUE(Block("::ffff:10.0.0.0/104").is_v4());
  EXPECT_EQ(Block("::ffff:10.0.0.0/104"), Block("10.0.0.0/8"));
  EXPECT_FALSE(Block("::1").is_v4());
}

TEST(IpRange, RefusesWhatIsNoAddressOrBlock) {
  for (std::string_view bad : {"",
                               "/8",
                               "10.0.0.0/",
                               "10.0.0.0/33",
                               "::/129",
                               "10.0.0.0/-1",
                               "10.0.0.0/8x",
                               "example.com",
                               "10.0.0.0/8/8",
                               "1.2.3",
                               "10.0.0.0 /8",
                               "::ffff:10.0.0.0/95",
                               "10.0.0.0/x",
                               "2001:db8::/129",
                               "10.0.0.256",
                               "1.2.3.4/-1",
                               "10.0.0.0/+8",
                               "10.0.0.0/0008",
                               "10.0.0.0/ 8",
                               "fe80::1%eth0",
                               "fe80::1%1/64",
                               "[::1]",
                               "::1:",
                               "10.0.0.0\n",
                               "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(IpRange::Parse(bad)) << bad;
  }
  EXPECT_FALSE(IpRange::Parse(std::string_view("10.0.0.1\0", 9))) << "a NUL inside";
  EXPECT_FALSE(IpRange::Parse(std::string(100, '1') + "/8"));
}

TEST(IpRange, ContainsByPrefix) {
  const IpRange ten = Block("10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(Ip("10.255.1.2")));
  EXPECT_FALSE(ten.Contains(Ip("11.0.0.1")));
  EXPECT_FALSE(ten.Contains(Ip("::1")));
  // A dual-stack socket's view of an IPv4 peer.
  EXPECT_TRUE(ten.Contains(Ip("::ffff:10.9.9.9")));
  const IpRange odd = Block("192.168.1.128/25");
  EXPECT_TRUE(odd.Contains(Ip("192.168.1.200")));
  EXPECT_FALSE(odd.Contains(Ip("192.168.1.127")));
  const IpRange v6 = Block("2001:db8:abcd::/47");
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:abcd:1::5")));
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:abcc::1")));  // differs in bit 48 only
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:abcd:ffff::1")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8:abce::1")));
  EXPECT_TRUE(Block("0.0.0.0/0").Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(Block("0.0.0.0/0").Contains(Ip("2001:db8::9")));
  EXPECT_TRUE(Block("::/0").Contains(Ip("2001:db8::9")));
  EXPECT_TRUE(Block("192.0.2.7").Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(Block("192.0.2.7").Contains(Ip("192.0.2.8")));
}

// One 128-bit space: an IPv6 block that covers the IPv4-mapped addresses covers IPv4 clients,
// in the guard's lists and in server.trusted_proxies alike.
TEST(IpRange, AnIpv6BlockOverTheMappedAddressesHoldsIpv4) {
  EXPECT_TRUE(Block("::/0").Contains(Ip("203.0.113.9")));
  EXPECT_TRUE(Block("::/80").Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(Block("::/96").Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(Block("2001:db8::/32").Contains(Ip("203.0.113.9")));
}

TEST(IpRange, PrintsAsNetworkSlashPrefixAndReadsThatBack) {
  const struct {
    const char* text;
    const char* normalised;
  } cases[] = {{"10.0.0.0/8", "10.0.0.0/8"},
               {"192.0.2.7", "192.0.2.7/32"},
               {"2001:DB8::1/32", "2001:db8::/32"},
               {"10.1.2.3/16", "10.1.0.0/16"},
               {"::1", "::1/128"},
               {"::ffff:10.1.2.3", "10.1.2.3/32"},
               {"::ffff:10.0.0.0/104", "10.0.0.0/8"},
               {"::ffff:0:0/96", "0.0.0.0/0"},
               {"::/0", "::/0"},
               {"0:0:0:0:0:0:0:1/127", "::/127"},
               {"\t2001:db8::/70 ", "2001:db8::/70"}};
  for (const auto& c : cases) {
    const IpRange range = Block(c.text);
    EXPECT_EQ(range.ToString(), c.normalised) << c.text;
    EXPECT_EQ(IpRange::Parse(range.ToString()), range) << c.text;
  }
}

TEST(Ip128, PrintsAndOrdersBothFamilies) {
  EXPECT_EQ(Ip128::Of(Ip("10.1.2.3")).ToString(), "10.1.2.3");
  EXPECT_EQ(Ip128::Of(Ip("::ffff:10.1.2.3")).ToString(), "10.1.2.3");
  EXPECT_EQ(Ip128::Of(Ip("2001:db8::1")).ToString(), "2001:db8::1");
  EXPECT_TRUE(Ip128::Of(Ip("10.1.2.3")).IsV4());
  EXPECT_FALSE(Ip128::Of(Ip("::1")).IsV4());
  EXPECT_LT(Ip128::Of(Ip("10.1.2.3")), Ip128::Of(Ip("10.1.2.4")));
  EXPECT_LT(Ip128::Of(Ip("::1")), Ip128::Of(Ip("10.0.0.0")));  // ::1 < ::ffff:10.0.0.0
  const auto bytes = Ip128::Of(Ip("2001:db8::1")).Bytes();
  EXPECT_EQ(bytes[0], 0x20);
  EXPECT_EQ(bytes[1], 0x01);
  EXPECT_EQ(bytes[15], 0x01);
}

}  // namespace
}  // namespace vwr::util
