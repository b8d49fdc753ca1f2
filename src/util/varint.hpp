#pragma once

#include <cstddef>
#include <cstdint>

namespace vwr::util {

// Unsigned LEB128, as tickets and journal records store integers on the wire and on disk.
inline constexpr std::size_t kMaxVarintBytes = 10;

// Writes `v` at `p` (which has room for kMaxVarintBytes) and returns the end.
inline std::uint8_t* PutVarint(std::uint64_t v, std::uint8_t* p) {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

// Reads a canonical value at `p` (advancing it): at most 10 bytes, no bits beyond 64, no
// redundant trailing zero group, so every value has exactly one encoding. False when the bytes
// end early or are not canonical.
inline bool GetVarint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& out) {
  std::uint64_t value = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const std::uint8_t byte = *p++;
    if (shift == 63 && byte > 1) return false;
    value |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && shift != 0) return false;
      out = value;
      return true;
    }
  }
  return false;  // unreachable: the tenth byte either ends the value or was rejected
}

}  // namespace vwr::util
