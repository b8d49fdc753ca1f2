#include "util/base64.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vwr::util {
namespace {

TEST(Base64Url, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(std::string_view("")), "");
  EXPECT_EQ(Base64UrlEncode(std::string_view("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foob")), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fooba")), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foobar")), "Zm9vYmFy");
}

TEST(Base64Url, UsesUrlAlphabet) {
  const std::vector<std::uint8_t> bytes = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), std::string("\xfb\xff\xbf"));
}

TEST(Base64Url, RoundTripsEveryLengthAndByteValue) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t length = 0; length <= 300; ++length) {
    const std::string text = Base64UrlEncode(bytes);
    ASSERT_EQ(text.size(), Base64UrlEncodedLength(length));
    ASSERT_EQ(Base64UrlDecodedLength(text.size()), length);
    const std::optional<std::string> decoded = Base64UrlDecode(text);
    ASSERT_TRUE(decoded.has_value()) << text;
    ASSERT_EQ(*decoded, std::string(bytes.begin(), bytes.end()));
    bytes.push_back(static_cast<std::uint8_t>(length * 7 + 3));
  }
}

TEST(Base64Url, AppendKeepsExistingContent) {
  std::string out = "prefix.";
  Base64UrlEncodeAppend(std::vector<std::uint8_t>{'f', 'o', 'o'}, out);
  EXPECT_EQ(out, "prefix.Zm9v");
}

TEST(Base64Url, RejectsPadding) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm8=").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zg=").has_value());
}

TEST(Base64Url, RejectsCharactersOutsideTheUrlAlphabet) {
  EXPECT_FALSE(Base64UrlDecode("Zm9+").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9/").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm 9").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n").has_value());
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm\0v", 4)).has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9\xff").has_value());
  // Every non-alphabet byte, in every position of a block and of a tail.
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool valid = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    if (valid) continue;
    for (std::size_t pos = 0; pos < 7; ++pos) {
      std::string text = "Zm9vYmE";
      text[pos] = ch;
      EXPECT_FALSE(Base64UrlDecode(text).has_value()) << c << " at " << pos;
    }
  }
}

TEST(Base64Url, RejectsImpossibleLengths) {
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());
  EXPECT_FALSE(Base64UrlDecodedLength(5).has_value());
  EXPECT_EQ(Base64UrlDecode(""), std::string());
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  EXPECT_EQ(Base64UrlDecode("Zg"), std::string("f"));
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // same first byte, low bits set
  EXPECT_FALSE(Base64UrlDecode("Zv").has_value());
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::string("fo"));
  EXPECT_FALSE(Base64UrlDecode("Zm9").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm-").has_value());
}

TEST(Base64Url, DecodeIntoChecksCapacity) {
  std::uint8_t out[3];
  EXPECT_EQ(Base64UrlDecodeInto("Zm9v", out), 3u);
  EXPECT_EQ(std::string(out, out + 3), "foo");
  EXPECT_FALSE(Base64UrlDecodeInto("Zm9vYg", out).has_value());
  EXPECT_FALSE(Base64UrlDecodeInto("Zm9!", out).has_value());
}

}  // namespace
}  // namespace vwr::util
