#include "util/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace vwr::util {
namespace {

TEST(Utf8, Boundaries) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("\x7F"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));  // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
}

// The reference: what RFC 3629 allows is exactly the encodings of the code points up to U+10FFFF
// other than surrogates, each the shortest; built here by encoding, not by reading.
std::string Encode(char32_t code) {
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
  return out;
}

bool IsScalarValue(char32_t code) { return code <= 0x10ffff && (code < 0xd800 || code > 0xdfff); }

TEST(Utf8, DecodesEveryCodePointItsEncodingHolds) {
  for (char32_t code = 0x80; code <= 0x10ffff; ++code) {
    const std::string bytes = Encode(code);
    char32_t decoded = 0;
    const std::size_t length = DecodeUtf8Sequence(bytes, 0, decoded);
    if (IsScalarValue(code)) {
      ASSERT_EQ(length, bytes.size()) << std::hex << static_cast<std::uint32_t>(code);
      ASSERT_EQ(decoded, code) << std::hex << static_cast<std::uint32_t>(code);
      ASSERT_TRUE(IsValidUtf8("a" + bytes + "b")) << std::hex << static_cast<std::uint32_t>(code);
      // Cut short anywhere, it is not one.
      ASSERT_FALSE(IsValidUtf8(bytes.substr(0, bytes.size() - 1)))
          << std::hex << static_cast<std::uint32_t>(code);
    } else {
      ASSERT_EQ(length, 0U) << "a surrogate: " << std::hex << static_cast<std::uint32_t>(code);
      ASSERT_FALSE(IsValidUtf8(bytes)) << std::hex << static_cast<std::uint32_t>(code);
    }
  }
}

// Short strings: valid exactly when it is a run of shortest encodings of
// scalar values (the only other way to be valid would be an overlong or out-of-range form).
TEST(Utf8, AgreesWithTheEncoderOnEveryShortString) {
  auto reference = [](const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
      bool matched = false;
      for (std::size_t length = 1; length <= 4 && i + length <= s.size() && !matched; ++length) {
        // The bits the lead byte and the continuation bytes carry for this length, unchecked.
        const auto lead = static_cast<unsigned char>(s[i]);
        char32_t code = length == 1 ? lead : lead & (0x7f >> length);
        for (std::size_t k = 1; k < length; ++k) {
          code = (code << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        }
        if (IsScalarValue(code) && Encode(code) == s.substr(i, length)) {
          i += length;
          matched = true;
        }
      }
      if (!matched) return false;
    }
    return true;
  };
  // Every string of one or two bytes, and every three-byte one that starts with a lead byte
  // (whatever starts with ASCII or a stray continuation byte is decided by its first byte).
  std::string s;
  for (std::uint32_t n = 0; n < (1U << 24); ++n) {
    const auto first = static_cast<unsigned char>(n);
    const std::size_t length = n < (1U << 8) ? 1 : n < (1U << 16) ? 2 : 3;
    if (length == 3 && first < 0xc0) continue;
    s.assign(length, '\0');
    for (std::size_t k = 0; k < length; ++k) s[k] = static_cast<char>(n >> (8 * k));
    ASSERT_EQ(IsValidUtf8(s), reference(s)) << ::testing::PrintToString(s);
  }
}

TEST(Utf8, RefusesStrayAndForbiddenBytes) {
  char32_t code = 0;
  for (const char* bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xF5\x80\x80\x80", "\xFF", "\xFE"}) {
    EXPECT_EQ(DecodeUtf8Sequence(bad, 0, code), 0U) << bad;
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
  EXPECT_EQ(DecodeUtf8Sequence("x\xEC\x95\x88", 1, code), 3U);
  EXPECT_EQ(code, U'\uC548');                            // 안
  EXPECT_TRUE(IsValidUtf8("\xEC\x95\x88\xEB\x85\x95"));  // 안녕
}

}  // namespace
}  // namespace vwr::util
