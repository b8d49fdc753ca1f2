#include "http/client_ip.hpp"

#include <array>
#include <charconv>

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

bool IsTrusted(const ip::address& address, std::span<const Cidr> trusted) {
  for (const Cidr& cidr : trusted) {
    if (cidr.Contains(address)) return true;
  }
  return false;
}

}  // namespace

bool Cidr::Contains(const ip::address& candidate) const {
  const ip::address address = Unmapped(candidate);
  if (address.is_v4() != network.is_v4()) return false;
  if (address.is_v4()) {
    if (prefix_length == 0) return true;
    const std::uint32_t mask =
        prefix_length >= 32 ? 0xffffffffU : ~((std::uint32_t{1} << (32 - prefix_length)) - 1);
    return (address.to_v4().to_uint() & mask) == (network.to_v4().to_uint() & mask);
  }
  const ip::address_v6::bytes_type a = address.to_v6().to_bytes();
  const ip::address_v6::bytes_type n = network.to_v6().to_bytes();
  unsigned bits = prefix_length > 128 ? 128 : prefix_length;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((a[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

std::optional<Cidr> ParseCidr(std::string_view text) {
  text = Trim(text);
  std::string_view address_text = text;
  std::optional<unsigned> prefix;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    address_text = text.substr(0, slash);
    const std::string_view digits = text.substr(slash + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || digits.size() > 3 || ec != std::errc{} ||
        end != digits.data() + digits.size()) {
      return std::nullopt;
    }
    prefix = value;
  }
  if (address_text.empty() || address_text.size() > 64) return std::nullopt;
  std::array<char, 65> buffer{};
  address_text.copy(buffer.data(), address_text.size());
  boost::system::error_code ec;
  ip::address address = ip::make_address(buffer.data(), ec);
  if (ec) return std::nullopt;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = Unmapped(address);
    if (prefix) {
      if (*prefix < 96) return std::nullopt;
      *prefix -= 96;
    }
  }
  const unsigned max = address.is_v4() ? 32 : 128;
  const unsigned length = prefix.value_or(max);
  if (length > max) return std::nullopt;
  // Clear the host bits, so that the block prints and compares as its network.
  if (address.is_v4()) {
    const std::uint32_t mask =
        length == 0 ? 0 : (length >= 32 ? 0xffffffffU : ~((std::uint32_t{1} << (32 - length)) - 1));
    address = ip::address_v4(address.to_v4().to_uint() & mask);
  } else {
    ip::address_v6::bytes_type bytes = address.to_v6().to_bytes();
    unsigned bits = length;
    for (auto& byte : bytes) {
      const unsigned keep = bits >= 8 ? 8 : bits;
      byte = static_cast<unsigned char>(byte & (keep == 0 ? 0 : 0xff << (8 - keep)));
      bits -= keep;
    }
    address = ip::address_v6(bytes);
  }
  return Cidr{address, length};
}

ip::address ClientIp(const Request& request, const ConnectionInfo& connection,
                     std::span<const Cidr> trusted_proxies) {
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
