#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// IP addresses and CIDR blocks: the one parser and the one containment test behind everything
// that reads them (server.trusted_proxies and the client address, rooms[].protection lists, the
// guard's lists and the admin API), so that what the configuration accepts is what the guard
// and the client address check match against.
namespace vwr::util {

// An IP address as 128 bits: IPv6 as it is, IPv4 as the IPv4-mapped IPv6 address
// (::ffff:a.b.c.d). One comparison, one hash and one range type then serve both families, and
// a dual-stack socket's view of an IPv4 peer is the same address as the IPv4 one.
struct Ip128 {
  std::uint64_t hi = 0;  // the first 8 bytes, big-endian
  std::uint64_t lo = 0;  // the last 8 bytes

  // Inline: the guard takes it for every request it checks.
  static Ip128 Of(const boost::asio::ip::address& address) {
    if (address.is_v4()) return Ip128{0, 0x0000ffff00000000ULL | address.to_v4().to_uint()};
    const auto bytes = address.to_v6().to_bytes();
    Ip128 out;
    for (std::size_t i = 0; i < 8; ++i) out.hi = (out.hi << 8) | bytes[i];
    for (std::size_t i = 8; i < 16; ++i) out.lo = (out.lo << 8) | bytes[i];
    return out;
  }

  // An IPv4 address (held IPv4-mapped).
  bool IsV4() const { return hi == 0 && (lo >> 32) == 0xffff; }
  // The 16 bytes, in network order.
  std::array<unsigned char, 16> Bytes() const;
  // IPv4 in dotted form, IPv6 in its canonical form ("2001:db8::1").
  std::string ToString() const;

  auto operator<=>(const Ip128&) const = default;
};

// An address or a CIDR block, as the inclusive range of addresses it covers.
//
// Parse reads "10.0.0.0/8", "2001:db8::/32", or one address ("192.0.2.7" is a /32, "::1" a
// /128); spaces and tabs around the text are ignored. Bits past the prefix are cleared
// ("10.1.2.3/8" is 10.0.0.0/8). IPv4-mapped IPv6 text is the IPv4 block it maps
// ("::ffff:10.0.0.0/104" is 10.0.0.0/8), so its prefix must be at least 96. Refused: a host
// name, an address Boost.Asio does not read (which is what inet_pton reads), a zone index
// ("fe80::1%eth0": a block has none), a prefix that is not 1 to 3 decimal digits or is longer
// than the address.
//
// Both families live in one 128-bit space (Ip128), so an IPv6 block that covers the IPv4-mapped
// addresses (only ::/0 .. ::/80 do) contains every IPv4 address too.
//
// A value type; thread-safe as any const object.
class IpRange {
 public:
  static std::optional<IpRange> Parse(std::string_view text);

  bool Contains(const Ip128& address) const { return first_ <= address && address <= last_; }
  bool Contains(const boost::asio::ip::address& address) const {
    return Contains(Ip128::Of(address));
  }

  const Ip128& first() const { return first_; }  // the network address
  const Ip128& last() const { return last_; }
  // Whether this is an IPv4 block; prefix_length() is then 0..32, else 0..128.
  bool is_v4() const { return v4_; }
  unsigned prefix_length() const { return v4_ ? prefix_ - 96 : prefix_; }

  // "<network>/<prefix>": "10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32". Parse reads it back
  // as the same range.
  std::string ToString() const;

  bool operator==(const IpRange&) const = default;

 private:
  IpRange(const Ip128& first, const Ip128& last, unsigned prefix, bool v4)
      : first_(first), last_(last), prefix_(prefix), v4_(v4) {}

  Ip128 first_;
  Ip128 last_;
  unsigned prefix_ = 0;  // over all 128 bits
  bool v4_ = false;
};

}  // namespace vwr::util
