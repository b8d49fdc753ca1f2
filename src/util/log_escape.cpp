#include "util/log_escape.hpp"

#include <algorithm>
#include <cstdint>

namespace vwr::util {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void AppendByteEscape(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

// The length (2..4) of the well-formed UTF-8 sequence at text[i] (a byte >= 0x80) and its code
// point, or 0 when it is not one (a stray continuation byte, an overlong form, a surrogate, a
// value over U+10FFFF, or a sequence cut short).
std::size_t DecodeUtf8(std::string_view text, std::size_t i, char32_t& code) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range of the second byte
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;   // no overlong forms
    if (lead == 0xed) high = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;  // nothing over U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char c = byte(i + k);
    if (k == 1 ? (c < low || c > high) : (c < 0x80 || c > 0xbf)) return 0;
    code = (code << 6) | (c & 0x3f);
  }
  return length;
}

bool MovesLinesOrTerminal(char32_t code) {
  return (code >= 0x80 && code <= 0x9f) || code == 0x2028 || code == 0x2029 || code == 0x200e ||
         code == 0x200f || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

std::string Escape(std::string_view text, std::size_t max_bytes, bool json) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (i + 1 > max_bytes) break;
      switch (c) {
        case '\\':
          out += json ? "\\" : "\\\\";
          break;
        case '"':
          out += json ? "\"" : "\\\"";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            AppendByteEscape(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    char32_t code = 0;
    const std::size_t length = DecodeUtf8(text, i, code);
    if (length == 0) {
      if (i + 1 > max_bytes) break;
      AppendByteEscape(out, c);
      ++i;
      continue;
    }
    if (i + length > max_bytes) break;
    if (MovesLinesOrTerminal(code)) {
      out += "\\u{";
      bool digits = false;
      for (int shift = 20; shift >= 0; shift -= 4) {
        const auto nibble = static_cast<unsigned>((code >> shift) & 0xf);
        if (nibble == 0 && !digits && shift > 12) continue;  // at least four digits
        digits = true;
        out += kHex[nibble];
      }
      out += '}';
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  if (i < text.size()) {
    out += "...(+";
    out += std::to_string(text.size() - i);
    out += " bytes)";
  }
  return out;
}

}  // namespace

std::string LogEscaped(std::string_view text, std::size_t max_bytes) {
  return Escape(text, max_bytes, /*json=*/false);
}

std::string LogEscapedJson(std::string_view json, std::size_t max_bytes) {
  return Escape(json, max_bytes, /*json=*/true);
}

}  // namespace vwr::util
