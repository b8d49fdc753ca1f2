#include "util/ip_range.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

namespace vwr::util {
namespace {

namespace ip = boost::asio::ip;

// The longest text of an address, with room to spare: the longest IPv6 form is 45 characters.
constexpr std::size_t kMaxAddressText = 64;

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// 1 to 3 decimal digits; nullopt otherwise (a sign, a space, "", "0008").
std::optional<unsigned> ParsePrefix(std::string_view digits) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

// The bits of a 64-bit half that lie past the prefix, when `host_bits` of the half's low end
// are host bits (0..64).
std::uint64_t HostMask(unsigned host_bits) {
  if (host_bits == 0) return 0;
  if (host_bits >= 64) return ~0ULL;
  return ~0ULL >> (64 - host_bits);
}

}  // namespace

std::array<unsigned char, 16> Ip128::Bytes() const {
  std::array<unsigned char, 16> bytes;
  for (std::size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  return bytes;
}

std::string Ip128::ToString() const {
  if (IsV4()) return ip::address_v4(static_cast<std::uint32_t>(lo)).to_string();
  return ip::address_v6(Bytes()).to_string();
}

std::optional<IpRange> IpRange::Parse(std::string_view text) {
  text = TrimBlanks(text);
  std::string_view address_text = text;
  std::optional<unsigned> prefix;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    address_text = text.substr(0, slash);
    prefix = ParsePrefix(text.substr(slash + 1));
    if (!prefix) return std::nullopt;
  }
  // Boost reads a C string: a NUL would cut the text short ("10.0.0.1\0junk").
  if (address_text.empty() || address_text.size() > kMaxAddressText ||
      address_text.find_first_of(std::string_view("%\0", 2)) != std::string_view::npos) {
    return std::nullopt;
  }
  std::array<char, kMaxAddressText + 1> buffer{};
  address_text.copy(buffer.data(), address_text.size());
  boost::system::error_code ec;
  const ip::address address = ip::make_address(buffer.data(), ec);
  if (ec) return std::nullopt;

  // The prefix over all 128 bits: an IPv4 prefix counts from the start of the mapped block.
  const bool v4 = address.is_v4() || address.to_v6().is_v4_mapped();
  unsigned bits = 128;
  if (address.is_v4()) {
    if (prefix && *prefix > 32) return std::nullopt;
    bits = 96 + prefix.value_or(32);
  } else if (prefix) {
    if (*prefix > 128 || (v4 && *prefix < 96)) return std::nullopt;
    bits = *prefix;
  }
  const Ip128 at = Ip128::Of(address);
  const unsigned host_bits = 128 - bits;
  const std::uint64_t lo_mask = HostMask(host_bits);
  const std::uint64_t hi_mask = host_bits <= 64 ? 0 : HostMask(host_bits - 64);
  return IpRange(Ip128{at.hi & ~hi_mask, at.lo & ~lo_mask}, Ip128{at.hi | hi_mask, at.lo | lo_mask},
                 bits, v4);
}

std::string IpRange::ToString() const {
  return first_.ToString() + "/" + std::to_string(prefix_length());
}

}  // namespace vwr::util
