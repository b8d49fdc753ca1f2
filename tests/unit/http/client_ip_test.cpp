#include "http/client_ip.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vwr::http {
namespace {

namespace ip = boost::asio::ip;

Cidr Block(std::string_view text) {
  std::optional<Cidr> cidr = ParseCidr(text);
  EXPECT_TRUE(cidr.has_value()) << text;
  return cidr.value_or(Cidr{});
}

// The client address of a request from `peer` carrying these X-Forwarded-For lines.
std::string ClientOf(std::string_view peer, std::vector<std::string> xff,
                     const std::vector<Cidr>& trusted) {
  Request req{http::verb::get, "/TRACERAPI/inputQueue.do", 11};
  for (const std::string& line : xff) req.insert("X-Forwarded-For", line);
  const ConnectionInfo connection{ip::make_address(std::string(peer))};
  return ClientIp(req, connection, trusted).to_string();
}

TEST(Cidr, ParsesBlocksAndSingleAddresses) {
  EXPECT_EQ(Block("10.1.2.3/8").network.to_string(), "10.0.0.0");
  EXPECT_EQ(Block("10.1.2.3/8").prefix_length, 8U);
  EXPECT_EQ(Block("192.0.2.7").prefix_length, 32U);
  EXPECT_EQ(Block("2001:db8::1/32").network.to_string(), "2001:db8::");
  EXPECT_EQ(Block("::1").prefix_length, 128U);
  EXPECT_EQ(Block(" 0.0.0.0/0 ").prefix_length, 0U);
  // An IPv4-mapped block is the IPv4 one.
  EXPECT_EQ(Block("::ffff:10.0.0.0/104").network.to_string(), "10.0.0.0");
  EXPECT_EQ(Block("::ffff:10.0.0.0/104").prefix_length, 8U);
}

TEST(Cidr, RefusesWhatIsNoBlock) {
  for (std::string_view bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/8x", "example.com",
        "10.0.0.0/8/8", "1.2.3", "10.0.0.0 /8", "::ffff:10.0.0.0/95"}) {
    EXPECT_FALSE(ParseCidr(bad).has_value()) << bad;
  }
}

TEST(Cidr, ContainsByPrefix) {
  const Cidr ten = Block("10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(ip::make_address("10.255.1.2")));
  EXPECT_FALSE(ten.Contains(ip::make_address("11.0.0.1")));
  EXPECT_FALSE(ten.Contains(ip::make_address("::1")));
  // A dual-stack socket's view of an IPv4 peer.
  EXPECT_TRUE(ten.Contains(ip::make_address("::ffff:10.9.9.9")));
  const Cidr odd = Block("192.168.1.128/25");
  EXPECT_TRUE(odd.Contains(ip::make_address("192.168.1.200")));
  EXPECT_FALSE(odd.Contains(ip::make_address("192.168.1.127")));
  const Cidr v6 = Block("2001:db8:abcd::/47");
  EXPECT_TRUE(v6.Contains(ip::make_address("2001:db8:abcd:1::5")));
  EXPECT_TRUE(v6.Contains(ip::make_address("2001:db8:abcc::1")));  // differs in bit 48 only
  EXPECT_TRUE(v6.Contains(ip::make_address("2001:db8:abcd:ffff::1")));
  EXPECT_FALSE(v6.Contains(ip::make_address("2001:db8:abce::1")));
  EXPECT_TRUE(Block("0.0.0.0/0").Contains(ip::make_address("203.0.113.9")));
  EXPECT_TRUE(Block("::/0").Contains(ip::make_address("2001:db8::9")));
  EXPECT_TRUE(Block("192.0.2.7").Contains(ip::make_address("192.0.2.7")));
  EXPECT_FALSE(Block("192.0.2.7").Contains(ip::make_address("192.0.2.8")));
}

TEST(ClientIp, ThePeerWhenNoProxyIsTrusted) {
  EXPECT_EQ(ClientOf("203.0.113.5", {"198.51.100.1"}, {}), "203.0.113.5");
}

TEST(ClientIp, SpoofedForwardedForFromAnUntrustedPeerIsIgnored) {
  const std::vector<Cidr> trusted{Block("10.0.0.0/8")};
  EXPECT_EQ(ClientOf("203.0.113.5", {"198.51.100.1"}, trusted), "203.0.113.5");
  EXPECT_EQ(ClientOf("203.0.113.5", {"10.0.0.1, 198.51.100.1"}, trusted), "203.0.113.5");
}

TEST(ClientIp, TheRightMostUntrustedAddressBehindTrustedProxies) {
  const std::vector<Cidr> trusted{Block("10.0.0.0/8"), Block("192.0.2.1")};
  // The client wrote "1.1.1.1" itself; the first trusted proxy saw 198.51.100.7.
  EXPECT_EQ(ClientOf("10.0.0.2", {"1.1.1.1, 198.51.100.7"}, trusted), "198.51.100.7");
  // A chain of two trusted proxies.
  EXPECT_EQ(ClientOf("10.0.0.2", {"1.1.1.1, 198.51.100.7, 192.0.2.1"}, trusted), "198.51.100.7");
  // Several header lines are one list, in order.
  EXPECT_EQ(ClientOf("10.0.0.2", {"1.1.1.1, 198.51.100.7", "192.0.2.1"}, trusted), "198.51.100.7");
  // Ports and brackets that some proxies add.
  EXPECT_EQ(ClientOf("10.0.0.2", {"198.51.100.7:4711"}, trusted), "198.51.100.7");
  EXPECT_EQ(ClientOf("10.0.0.2", {"[2001:db8::7]:4711"}, trusted), "2001:db8::7");
  EXPECT_EQ(ClientOf("10.0.0.2", {" 2001:db8::8 "}, trusted), "2001:db8::8");
  // A dual-stack listener reports an IPv4 proxy as mapped.
  EXPECT_EQ(ClientOf("::ffff:10.0.0.2", {"198.51.100.7"}, trusted), "198.51.100.7");
}

TEST(ClientIp, WithoutForwardedForOrWhenMalformedThePeer) {
  const std::vector<Cidr> trusted{Block("10.0.0.0/8")};
  EXPECT_EQ(ClientOf("10.0.0.2", {}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf("10.0.0.2", {"not-an-address"}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf("10.0.0.2", {"198.51.100.7, "}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf("10.0.0.2", {"unknown, 198.51.100.7"}, trusted), "198.51.100.7");
  EXPECT_EQ(ClientOf("10.0.0.2", {std::string(100, '1')}, trusted), "10.0.0.2");
}

TEST(ClientIp, OnlyTrustedProxiesTheLeftMostOne) {
  const std::vector<Cidr> trusted{Block("10.0.0.0/8")};
  EXPECT_EQ(ClientOf("10.0.0.2", {"10.0.0.9, 10.0.0.8"}, trusted), "10.0.0.9");
}

}  // namespace
}  // namespace vwr::http
