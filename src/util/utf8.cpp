#include "util/utf8.hpp"

namespace vwr::util {

std::size_t DecodeUtf8Sequence(std::string_view text, std::size_t i, char32_t& code) {
  // RFC 3629 section 4: the lead byte fixes the length and narrows the range of the second byte,
  // which is what excludes overlong forms, surrogates and code points above U+10FFFF.
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
  if (length > text.size() - i) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char c = byte(i + k);
    if (k == 1 ? (c < low || c > high) : (c < 0x80 || c > 0xbf)) return 0;
    code = (code << 6) | (c & 0x3f);
  }
  return length;
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  char32_t code = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = DecodeUtf8Sequence(text, i, code);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace vwr::util
