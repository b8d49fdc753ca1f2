#include "util/base64.hpp"

#include <array>

namespace vwr::util {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> MakeDecodeTable() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::size_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = MakeDecodeTable();

// Writes Base64UrlEncodedLength(n) characters to `out`.
void EncodeTo(const std::uint8_t* in, std::size_t n, char* out) {
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | std::uint32_t{in[i + 2]};
    out[0] = kAlphabet[v >> 18];
    out[1] = kAlphabet[(v >> 12) & 0x3f];
    out[2] = kAlphabet[(v >> 6) & 0x3f];
    out[3] = kAlphabet[v & 0x3f];
    out += 4;
  }
  const std::size_t rest = n - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out[0] = kAlphabet[v >> 18];
    out[1] = kAlphabet[(v >> 12) & 0x3f];
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out[0] = kAlphabet[v >> 18];
    out[1] = kAlphabet[(v >> 12) & 0x3f];
    out[2] = kAlphabet[(v >> 6) & 0x3f];
  }
}

inline std::uint32_t Sextet(char c) { return kDecode[static_cast<unsigned char>(c)]; }

}  // namespace

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes) {
  std::string out(Base64UrlEncodedLength(bytes.size()), '\0');
  EncodeTo(bytes.data(), bytes.size(), out.data());
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  return Base64UrlEncode(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void Base64UrlEncodeAppend(std::span<const std::uint8_t> bytes, std::string& out) {
  const std::size_t old_size = out.size();
  out.resize(old_size + Base64UrlEncodedLength(bytes.size()));
  EncodeTo(bytes.data(), bytes.size(), out.data() + old_size);
}

void Base64UrlEncodeAppend(std::string_view bytes, std::string& out) {
  Base64UrlEncodeAppend(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), out);
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  const std::optional<std::size_t> length = Base64UrlDecodedLength(text.size());
  if (!length) return std::nullopt;
  std::string out(*length, '\0');
  if (!Base64UrlDecodeInto(text, std::span(reinterpret_cast<std::uint8_t*>(out.data()), *length))) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::size_t> Base64UrlDecodeInto(std::string_view text, std::span<std::uint8_t> out) {
  const std::optional<std::size_t> length = Base64UrlDecodedLength(text.size());
  if (!length || *length > out.size()) return std::nullopt;

  const char* in = text.data();
  std::uint8_t* dst = out.data();
  // Invalid characters map to 0xff; OR-ing all lookups and testing one high bit detects any of
  // them without a branch per character.
  std::uint32_t bad = 0;
  const std::size_t full = text.size() / 4 * 4;
  for (std::size_t i = 0; i < full; i += 4) {
    const std::uint32_t a = Sextet(in[i]), b = Sextet(in[i + 1]), c = Sextet(in[i + 2]),
                        d = Sextet(in[i + 3]);
    bad |= a | b | c | d;
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    dst[0] = static_cast<std::uint8_t>(v >> 16);
    dst[1] = static_cast<std::uint8_t>(v >> 8);
    dst[2] = static_cast<std::uint8_t>(v);
    dst += 3;
  }
  const std::size_t rest = text.size() - full;
  if (rest == 2) {
    const std::uint32_t a = Sextet(in[full]), b = Sextet(in[full + 1]);
    bad |= a | b;
    // Only the top 2 bits of `b` carry data; the rest must be zero for the text to be canonical.
    if ((b & 0x0f) != 0) return std::nullopt;
    dst[0] = static_cast<std::uint8_t>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const std::uint32_t a = Sextet(in[full]), b = Sextet(in[full + 1]), c = Sextet(in[full + 2]);
    bad |= a | b | c;
    if ((c & 0x03) != 0) return std::nullopt;
    const std::uint32_t v = (a << 10) | (b << 4) | (c >> 2);
    dst[0] = static_cast<std::uint8_t>(v >> 8);
    dst[1] = static_cast<std::uint8_t>(v);
  }
  if ((bad & 0x80) != 0) return std::nullopt;
  return *length;
}

}  // namespace vwr::util
