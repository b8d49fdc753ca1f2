#include "http/client_ip.hpp"

#include <array>
#include <optional>

namespace vwr::http {
namespace {

namespace ip = boost::asio::ip;

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
// peer) are compared as the IPv4 address they carry.
ip::address Unmapped(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// One X-Forwarded-For element: an address, as proxies write it. "[v6]" and "[v6]:port" or
// "v4:port" (some proxies add the port) are accepted; anything else is malformed.
std::optional<ip::address> ParseForwarded(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (const auto colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    text = text.substr(0, colon);  // v4:port
  }
  boost::system::error_code ec;
  std::array<char, 65> buffer{};
  text.copy(buffer.data(), text.size());
  const ip::address address = ip::make_address(buffer.data(), ec);
  if (ec) return std::nullopt;
  return Unmapped(address);
}

bool IsTrusted(const ip::address& address, std::span<const util::IpRange> trusted) {
  const util::Ip128 at = util::Ip128::Of(address);
  for (const util::IpRange& range : trusted) {
    if (range.Contains(at)) return true;
  }
  return false;
}

}  // namespace

ip::address ClientIp(const Request& request, const ConnectionInfo& connection,
                     std::span<const util::IpRange> trusted_proxies) {
  const ip::address peer = Unmapped(connection.peer);
  if (trusted_proxies.empty() || !IsTrusted(peer, trusted_proxies)) return peer;
  // Every X-Forwarded-For field line, joined as one list (RFC 9110 5.3), walked from the right:
  // the first address that is not a trusted proxy is the client. The ones to its left were
  // written by the client or by proxies nobody vouches for.
  std::array<std::string_view, 8> lines{};
  std::size_t count = 0;
  for (auto [it, end] = request.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (count == lines.size()) return peer;  // more lines than any honest chain of proxies
    lines[count++] = std::string_view(it->value().data(), it->value().size());
  }
  if (count == 0) return peer;
  ip::address last = peer;
  for (std::size_t line = count; line-- > 0;) {
    std::string_view rest = lines[line];
    while (true) {
      const auto comma = rest.rfind(',');
      const std::string_view element =
          comma == std::string_view::npos ? rest : rest.substr(comma + 1);
      const std::optional<ip::address> address = ParseForwarded(element);
      if (!address) return peer;  // malformed: nothing in this header can be relied on
      if (!IsTrusted(*address, trusted_proxies)) return *address;
      last = *address;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  // Every address is a trusted proxy: the left-most one is as close to the client as it gets.
  return last;
}

}  // namespace vwr::http
