// util::IpRange, the one parser of addresses and CIDR blocks (trusted proxies, the guard's lists,
// the configuration, the admin API). Checked against references that share no code with it:
//
//   accepts  exactly what inet_pton(3) reads as an IPv4 or IPv6 address, optionally with
//            "/" and 1 to 3 digits up to the family's width (an IPv4-mapped address: 96..128),
//            blanks around the text allowed; never a zone index or a NUL
//   range    the network has every bit past the prefix clear and `last` every one set;
//            Contains(x) is a bit-by-bit comparison of the first prefix bits, for a probe
//            address taken from the input and for the edges of the range and their neighbours
//   text     ToString() parses back to the same range and prints the same again
//   Ip128    the 16 bytes of an address survive Of -> Bytes and ToString -> make_address -> Of
//
// Input: 16 bytes of probe address, then the text.

#include <arpa/inet.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address_v6.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/ip_range.hpp"

namespace {

using vwr::util::Ip128;
using vwr::util::IpRange;
using Bytes = std::array<unsigned char, 16>;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "iprange_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// The reference reading of `text`: the address's 16 bytes (IPv4 mapped), whether it was IPv4
// or IPv4-mapped, and the prefix over 128 bits; false when it is no address or block.
bool Reference(std::string_view text, Bytes& address, unsigned& bits, bool& v4) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  const std::size_t slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  if (address_text.find('\0') != std::string::npos) return false;
  Bytes bytes{};
  bool plain_v4 = false;
  if (inet_pton(AF_INET, address_text.c_str(), bytes.data() + 12) == 1) {
    plain_v4 = true;
    bytes[10] = 0xff;
    bytes[11] = 0xff;
  } else if (inet_pton(AF_INET6, address_text.c_str(), bytes.data()) != 1) {
    return false;
  }
  const bool mapped = !plain_v4 && bytes[10] == 0xff && bytes[11] == 0xff &&
                      std::all_of(bytes.begin(), bytes.begin() + 10, [](auto b) { return b == 0; });
  unsigned prefix = plain_v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > (plain_v4 ? 32U : 128U) || (mapped && prefix < 96)) return false;
  }
  address = bytes;
  bits = plain_v4 ? prefix + 96 : prefix;
  v4 = plain_v4 || mapped;
  return true;
}

bool Bit(const Bytes& b, unsigned i) { return (b[i / 8] >> (7 - i % 8)) & 1; }

bool SamePrefix(const Bytes& a, const Bytes& b, unsigned bits) {
  for (unsigned i = 0; i < bits; ++i) {
    if (Bit(a, i) != Bit(b, i)) return false;
  }
  return true;
}

Ip128 Next(Ip128 ip, bool up) {
  if (up) {
    if (++ip.lo == 0) ++ip.hi;
  } else {
    if (ip.lo-- == 0) --ip.hi;
  }
  return ip;
}

void CheckIp128(const Bytes& bytes) {
  const boost::asio::ip::address_v6 v6(bytes);
  const Ip128 ip = Ip128::Of(boost::asio::ip::address(v6));
  if (ip.Bytes() != bytes) Fail("Ip128 does not keep the bytes", v6.to_string());
  const std::string text = ip.ToString();
  if (Ip128::Of(boost::asio::ip::make_address(text)) != ip)
    Fail("Ip128 text does not read back", text);
  if (ip.IsV4() != v6.is_v4_mapped()) Fail("IsV4 disagrees with is_v4_mapped", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Bytes probe{};
  const std::vector<std::uint8_t> probe_bytes = in.ConsumeBytes<std::uint8_t>(probe.size());
  std::copy(probe_bytes.begin(), probe_bytes.end(), probe.begin());
  const std::string text = in.ConsumeRemainingBytesAsString();
  CheckIp128(probe);

  Bytes address{};
  unsigned bits = 0;
  bool v4 = false;
  const bool expected = Reference(text, address, bits, v4);
  const std::optional<IpRange> range = IpRange::Parse(text);
  if (range.has_value() != expected) {
    Fail(expected ? "refused what inet_pton reads" : "accepted what inet_pton refuses", text);
  }
  if (!range) return 0;

  if (range->is_v4() != v4) Fail("family differs from the reference", text);
  if (range->prefix_length() != (v4 ? bits - 96 : bits)) Fail("prefix differs", text);
  const Bytes first = range->first().Bytes();
  const Bytes last = range->last().Bytes();
  for (unsigned i = 0; i < 128; ++i) {
    const bool in_prefix = i < bits;
    if (Bit(first, i) != (in_prefix ? Bit(address, i) : false)) Fail("wrong network", text);
    if (Bit(last, i) != (in_prefix ? Bit(address, i) : true)) Fail("wrong last address", text);
  }
  const Ip128 written = Ip128::Of(boost::asio::ip::address(boost::asio::ip::address_v6(address)));
  if (!range->Contains(written)) Fail("does not contain its own address", text);
  if (range->Contains(Ip128::Of(boost::asio::ip::address(boost::asio::ip::address_v6(probe)))) !=
      SamePrefix(probe, address, bits)) {
    Fail("Contains disagrees with a bitwise prefix comparison", text);
  }
  if (!range->Contains(range->first()) || !range->Contains(range->last())) {
    Fail("does not contain its edges", text);
  }
  if (range->first() != Ip128{0, 0} && range->Contains(Next(range->first(), false))) {
    Fail("contains the address before its network", text);
  }
  if (range->last() != Ip128{~0ULL, ~0ULL} && range->Contains(Next(range->last(), true))) {
    Fail("contains the address after its last", text);
  }

  const std::string normalised = range->ToString();
  const std::optional<IpRange> again = IpRange::Parse(normalised);
  if (!again || *again != *range) Fail("the normalised text does not parse back", normalised);
  if (again->ToString() != normalised) Fail("normalising twice changes the text", normalised);
  return 0;
}
