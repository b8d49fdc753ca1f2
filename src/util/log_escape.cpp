#include "util/log_escape.hpp"

#include <algorithm>
#include <cstdint>

#include "util/utf8.hpp"

namespace vwr::util {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void AppendByteEscape(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
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
    const std::size_t length = DecodeUtf8Sequence(text, i, code);
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
