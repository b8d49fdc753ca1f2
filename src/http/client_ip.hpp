#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <span>
#include <string_view>

#include "http/http.hpp"

namespace vwr::http {

// A CIDR block: "10.0.0.0/8", "2001:db8::/32", or one address (a /32 or /128).
struct Cidr {
  boost::asio::ip::address network;
  unsigned prefix_length = 0;
  bool Contains(const boost::asio::ip::address& address) const;
};

// "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" or "::1"; nullopt when it is none of these (a
// prefix longer than the address, a host name). Bits past the prefix are cleared, so
// "10.1.2.3/8" is 10.0.0.0/8. An IPv4-mapped IPv6 address is taken as the IPv4 one.
std::optional<Cidr> ParseCidr(std::string_view text);

// The client's address for identity, limits and lists: the connection's peer; or, when the peer
// is one of `trusted_proxies` (server.trusted_proxies), the right-most address in
// X-Forwarded-For that is not a trusted proxy. A malformed X-Forwarded-For gives the peer.
// A client-reported address (the TRACER `ip` field) is never used here.
boost::asio::ip::address ClientIp(const Request& request, const ConnectionInfo& connection,
                                  std::span<const Cidr> trusted_proxies);

}  // namespace vwr::http
