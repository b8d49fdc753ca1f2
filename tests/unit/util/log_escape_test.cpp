#include "util/log_escape.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vwr::util {
namespace {

TEST(LogEscaped, PlainTextAndKoreanStayAsTheyAre) {
  EXPECT_EQ(LogEscaped(""), "");
  EXPECT_EQ(LogEscaped("user-42@example.com"), "user-42@example.com");
  EXPECT_EQ(LogEscaped("홍길동"), "홍길동");
  EXPECT_EQ(LogEscaped("emoji 🎫 ok"), "emoji 🎫 ok");
}

TEST(LogEscaped, NothingCanStartALineOrCloseAQuote) {
  EXPECT_EQ(LogEscaped("bot\n[info] room r: admin logged in"),
            "bot\\n[info] room r: admin logged in");
  EXPECT_EQ(LogEscaped("a\r\nb\tc"), "a\\r\\nb\\tc");
  EXPECT_EQ(LogEscaped("say \"hi\" \\ bye"), "say \\\"hi\\\" \\\\ bye");
  // Unicode line and paragraph separators.
  EXPECT_EQ(LogEscaped("a\u2028b\u2029c"), "a\\u{2028}b\\u{2029}c");
}

TEST(LogEscaped, TerminalControlsAreShownNotSent) {
  // ESC [ 2 J clears a screen; a C1 CSI (U+009B) does the same on some terminals.
  EXPECT_EQ(LogEscaped("\x1b[2Jx"), "\\x1B[2Jx");
  EXPECT_EQ(LogEscaped("\xc2\x9b"
                       "2J"),
            "\\u{009B}2J");
  EXPECT_EQ(LogEscaped(std::string("a\0b\x07\x7f", 5)), "a\\x00b\\x07\\x7F");
  // Bidirectional overrides would show the text in another order than it is.
  EXPECT_EQ(LogEscaped("abc\u202edcb"), "abc\\u{202E}dcb");
  EXPECT_EQ(LogEscaped("\u2066x\u2069"), "\\u{2066}x\\u{2069}");
}

TEST(LogEscaped, BytesThatAreNotUtf8AreShownAsBytes) {
  EXPECT_EQ(LogEscaped("\xff\xfe"), "\\xFF\\xFE");
  EXPECT_EQ(LogEscaped("\xc0\xaf"), "\\xC0\\xAF");                    // overlong '/'
  EXPECT_EQ(LogEscaped("\xed\xa0\x80"), "\\xED\\xA0\\x80");           // a surrogate
  EXPECT_EQ(LogEscaped("\xf4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // over U+10FFFF
  EXPECT_EQ(LogEscaped("ab\xea\xb0"), "ab\\xEA\\xB0");                // cut short
  EXPECT_EQ(LogEscaped("\x80x"), "\\x80x");                           // a stray continuation byte
}

TEST(LogEscaped, LongValuesAreCutBetweenCharacters) {
  EXPECT_EQ(LogEscaped(std::string(300, 'a'), 10), "aaaaaaaaaa...(+290 bytes)");
  // "가" is three bytes: a cut after five bytes keeps one whole character.
  EXPECT_EQ(LogEscaped("가나다", 5), "가...(+6 bytes)");
  EXPECT_EQ(LogEscaped("abc", 3), "abc");
  const std::string escaped = LogEscaped(std::string(100'000, '\n'));
  EXPECT_EQ(escaped.substr(0, 4), "\\n\\n");
  EXPECT_NE(escaped.find("...(+99744 bytes)"), std::string::npos);
  EXPECT_EQ(escaped.find('\n'), std::string::npos);
}

TEST(LogEscapedJson, KeepsJsonReadableAndStillEscapesWhatMovesTheLine) {
  EXPECT_EQ(LogEscapedJson(R"({"error":{"message":"a \"b\""}})"),
            R"({"error":{"message":"a \"b\""}})");
  EXPECT_EQ(LogEscapedJson("{\"m\":\"x\u202ey\"}"), "{\"m\":\"x\\u{202E}y\"}");
  EXPECT_EQ(LogEscapedJson("a\nb\x1b"), "a\\nb\\x1B") << "raw controls, should any come";
}

}  // namespace
}  // namespace vwr::util
