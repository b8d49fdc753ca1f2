#pragma once

#include <boost/asio/ip/address.hpp>
#include <span>
#include <string_view>

#include "http/http.hpp"
#include "util/ip_range.hpp"

namespace vwr::http {

// The client's address for identity, limits and lists: the connection's peer; or, when the peer
// is one of `trusted_proxies` (server.trusted_proxies), the right-most address in
// X-Forwarded-For that is not a trusted proxy. A malformed X-Forwarded-For gives the peer.
// A client-reported address (the TRACER `ip` field) is never used here.
boost::asio::ip::address ClientIp(const Request& request, const ConnectionInfo& connection,
                                  std::span<const util::IpRange> trusted_proxies);

}  // namespace vwr::http
