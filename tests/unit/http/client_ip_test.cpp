#include "http/client_ip.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vwr::http {
namespace {

namespace ip = boost::asio::ip;

util::IpRange Block(std::string_view text) {
  std::optional<util::IpRange> range = util::IpRange::Parse(text);
  EXPECT_TRUE(range.has_value()) << text;
  return range.value_or(*util::IpRange::Parse("::/128"));
}

// The client address of a request from `peer` carrying these X-Forwarded-For lines.
std::string ClientOf(std::string_view peer, std::vector<std::string> xff,
                     const std::vector<util::IpRange>& trusted) {
  Request req{http::verb::get, "/TRACERAPI/inputQueue.do", 11};
  for (const std::string& line : xff) req.insert("X-Forwarded-For", line);
  const ConnectionInfo connection{ip::make_address(std::string(peer))};
  return ClientIp(req, connection, trusted).to_string();
}

TEST(ClientIp, ThePeerWhenNoProxyIsTrusted) {
  EXPECT_EQ(ClientOf("203.0.113.5", {"198.51.100.1"}, {}), "203.0.113.5");
}

TEST(ClientIp, SpoofedForwardedForFromAnUntrustedPeerIsIgnored) {
  const std::vector<util::IpRange> trusted{Block("10.0.0.0/8")};
  EXPECT_EQ(ClientOf("203.0.113.5", {"198.51.100.1"}, trusted), "203.0.113.5");
  EXPECT_EQ(ClientOf("203.0.113.5", {"10.0.0.1, 198.51.100.1"}, trusted), "203.0.113.5");
}

TEST(ClientIp, TheRightMostUntrustedAddressBehindTrustedProxies) {
  const std::vector<util::IpRange> trusted{Block("10.0.0.0/8"), Block("192.0.2.1")};
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
  const std::vector<util::IpRange> trusted{Block("10.0.0.0/8")};
  EXPECT_EQ(ClientOf("10.0.0.2", {}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf("10.0.0.2", {"not-an-address"}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf("10.0.0.2", {"198.51.100.7, "}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf("10.0.0.2", {"unknown, 198.51.100.7"}, trusted), "198.51.100.7");
  EXPECT_EQ(ClientOf("10.0.0.2", {std::string(100, '1')}, trusted), "10.0.0.2");
}

TEST(ClientIp, OnlyTrustedProxiesTheLeftMostOne) {
  const std::vector<util::IpRange> trusted{Block("10.0.0.0/8")};
  EXPECT_EQ(ClientOf("10.0.0.2", {"10.0.0.9, 10.0.0.8"}, trusted), "10.0.0.9");
}

}  // namespace
}  // namespace vwr::http
