#include "tracer/form.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vwr::tracer {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// The fields of a form that must parse, as plain pairs for readable comparisons.
Pairs Parsed(std::string_view body, const FormLimits& limits = {}) {
  const auto form = ParseForm(body, limits);
  EXPECT_TRUE(form.has_value()) << body << ": " << form.error().Message();
  Pairs out;
  if (!form) return out;
  for (const FormFields::Field& f : form->fields()) out.emplace_back(f.key, f.value);
  return out;
}

FormError Refused(std::string_view body, const FormLimits& limits = {}) {
  const auto form = ParseForm(body, limits);
  EXPECT_FALSE(form.has_value()) << body << " parsed";
  return form ? FormError{} : form.error();
}

TEST(Form, ParsesTracerFieldsInOrder) {
  const auto form = ParseForm(
      "host=shop.example&ip=203.0.113.7&loginId=kim&port=443"
      "&pageUrl=https%3A%2F%2Fshop.example%2Fcart%3Fa%3D1&userAgent=Mozilla%2F5.0+(X11)",
      {});
  ASSERT_TRUE(form.has_value()) << form.error().Message();
  ASSERT_EQ(form->size(), 6u);
  EXPECT_EQ(form->fields()[0].key, "host");
  EXPECT_EQ(form->fields()[5].key, "userAgent");
  EXPECT_EQ(form->Find("host"), "shop.example");
  EXPECT_EQ(form->Find("ip"), "203.0.113.7");
  EXPECT_EQ(form->Find("loginId"), "kim");
  EXPECT_EQ(form->Find("port"), "443");
  EXPECT_EQ(form->Find("pageUrl"), "https://shop.example/cart?a=1");
  EXPECT_EQ(form->Find("userAgent"), "Mozilla/5.0 (X11)");
  EXPECT_EQ(form->Find("missing"), std::nullopt);
  EXPECT_FALSE(form->Contains("Host"));  // keys are case-sensitive
}

TEST(Form, EmptyInputIsAnEmptyForm) {
  EXPECT_EQ(Parsed(""), Pairs{});
  EXPECT_EQ(Parsed("&&&"), Pairs{});
}

TEST(Form, PlusIsSpaceInKeysAndValues) {
  EXPECT_EQ(Parsed("a+b=c+d"), (Pairs{{"a b", "c d"}}));
  // An escaped plus stays a plus.
  EXPECT_EQ(Parsed("a=1%2B1"), (Pairs{{"a", "1+1"}}));
}

TEST(Form, DecodesPercentEscapesOfEitherCase) {
  EXPECT_EQ(Parsed("k=%2f%2F%41%7e"), (Pairs{{"k", "//A~"}}));
  EXPECT_EQ(Parsed("%6B%65%79=v"), (Pairs{{"key", "v"}}));
  // Escaped separators are data, not separators.
  EXPECT_EQ(Parsed("a=%26%3D&b=2"), (Pairs{{"a", "&="}, {"b", "2"}}));
}

TEST(Form, DecodesUtf8) {
  EXPECT_EQ(Parsed("name=%EA%B9%80%EB%AF%BC"), (Pairs{{"name", "김민"}}));
  // Sent unescaped, as a lenient client might.
  EXPECT_EQ(Parsed("name=김민"), (Pairs{{"name", "김민"}}));
  EXPECT_EQ(Parsed("e=%F0%9F%98%80"), (Pairs{{"e", "\xF0\x9F\x98\x80"}}));
}

TEST(Form, ToleratesEmptyPairs) {
  EXPECT_EQ(Parsed("a=1&&b=2"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(Parsed("a=1&"), (Pairs{{"a", "1"}}));
  EXPECT_EQ(Parsed("&a=1"), (Pairs{{"a", "1"}}));
}

TEST(Form, KeyWithoutEqualsHasEmptyValue) {
  EXPECT_EQ(Parsed("flag&a=1"), (Pairs{{"flag", ""}, {"a", "1"}}));
  EXPECT_EQ(Parsed("flag="), (Pairs{{"flag", ""}}));
  EXPECT_EQ(Parsed("=v"), (Pairs{{"", "v"}}));
  EXPECT_EQ(Parsed("="), (Pairs{{"", ""}}));
}

TEST(Form, SplitsAtTheFirstEquals) { EXPECT_EQ(Parsed("a=1=2"), (Pairs{{"a", "1=2"}})); }

TEST(Form, FirstOccurrenceWinsAndAllAreKept) {
  const auto form = ParseForm("ip=1.1.1.1&ip=2.2.2.2", {});
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->Find("ip"), "1.1.1.1");
  EXPECT_EQ(form->size(), 2u);
  EXPECT_EQ(form->fields()[1].value, "2.2.2.2");
}

TEST(Form, AppendedFieldsComeAfterAndLoseToTheFirstForm) {
  auto body = ParseForm("loginId=from-body&port=", {});
  auto query = ParseForm("loginId=from-query&host=h&port=1", {});
  ASSERT_TRUE(body.has_value() && query.has_value());
  body->Append(std::move(*query));
  EXPECT_EQ(body->size(), 5u);
  EXPECT_EQ(body->Find("loginId"), "from-body");
  EXPECT_EQ(body->Find("port"), "") << "an empty field of the first form still wins";
  EXPECT_EQ(body->Find("host"), "h") << "what only the second form has is found";
  EXPECT_EQ(body->fields()[2].value, "from-query");
}

TEST(Form, RejectsBadEscapes) {
  for (const char* body : {"a=%G1", "a=%1G", "a=%4", "a=%", "a=1%", "%zz=1", "a=%%41", "a=%+1"}) {
    EXPECT_EQ(Refused(body).code, FormErrorCode::kBadEscape) << body;
  }
}

TEST(Form, ErrorPointsAtTheFieldAtFault) {
  const FormError error = Refused("host=a&ip=%G1");
  EXPECT_EQ(error, (FormError{FormErrorCode::kBadEscape, 7}));
  EXPECT_EQ(error.name(), "bad_escape");
  EXPECT_EQ(error.Message(),
            "bad percent escape (% must be followed by two hex digits) in the field at byte 7");
}

TEST(Form, RejectsNulAfterDecoding) {
  EXPECT_EQ(Refused("a=x%00y").code, FormErrorCode::kNulByte);
  EXPECT_EQ(Refused("a%00=1").code, FormErrorCode::kNulByte);
  EXPECT_EQ(Refused(std::string_view("a=x\0y", 5)).code, FormErrorCode::kNulByte);
}

TEST(Form, RejectsInvalidUtf8) {
  for (const char* body : {
           "a=%FF",           // never in UTF-8
           "a=%C3",           // truncated sequence
           "a=%C3%28",        // bad continuation byte
           "a=%80",           // continuation byte first
           "a=%C0%AF",        // overlong '/'
           "a=%E0%80%AF",     // overlong '/', three bytes
           "a=%ED%A0%80",     // UTF-16 surrogate U+D800
           "a=%F4%90%80%80",  // above U+10FFFF
           "a=%F5%80%80%80",  // lead byte past F4
           "%E9=1",           // Latin-1 'é' in a key
       }) {
    EXPECT_EQ(Refused(body).code, FormErrorCode::kInvalidUtf8) << body;
  }
  EXPECT_EQ(Refused("a=\xE9t\xE9").code, FormErrorCode::kInvalidUtf8);
}

TEST(Form, EnforcesTheFieldLimit) {
  std::string body;
  for (int i = 0; i < 64; ++i) body += "k" + std::to_string(i) + "=v&&";
  EXPECT_EQ(ParseForm(body, {})->size(), 64u);  // empty pairs do not count
  const FormError error = Refused(body + "one=more");
  EXPECT_EQ(error.code, FormErrorCode::kTooManyFields);
  EXPECT_EQ(error.offset, body.size());

  FormLimits two;
  two.max_fields = 2;
  EXPECT_EQ(Refused("a&b&c", two).code, FormErrorCode::kTooManyFields);
}

TEST(Form, EnforcesLengthLimitsOnDecodedText) {
  FormLimits limits;
  limits.max_key_bytes = 3;
  limits.max_value_bytes = 4;
  EXPECT_EQ(Parsed("abc=1234", limits), (Pairs{{"abc", "1234"}}));
  // Escapes count as the one byte they decode to.
  EXPECT_EQ(Parsed("%61%62%63=%31%32%33%34", limits), (Pairs{{"abc", "1234"}}));
  EXPECT_EQ(Refused("abcd=1", limits).code, FormErrorCode::kKeyTooLong);
  EXPECT_EQ(Refused("abc=12345", limits).code, FormErrorCode::kValueTooLong);
  EXPECT_EQ(Refused("abc=%31%32%33%34%35", limits).code, FormErrorCode::kValueTooLong);
  EXPECT_EQ(Refused("a=" + std::string(1 << 20, 'x')).code, FormErrorCode::kValueTooLong);
}

TEST(Form, ReportsTheFirstProblemInInputOrder) {
  FormLimits limits;
  limits.max_value_bytes = 2;
  EXPECT_EQ(Refused("a=%G1&b=toolong", limits), (FormError{FormErrorCode::kBadEscape, 0}));
  EXPECT_EQ(Refused("a=toolong&b=%G1", limits), (FormError{FormErrorCode::kValueTooLong, 0}));
}

TEST(Form, ValueOnAnErrorThrows) {
  EXPECT_THROW(ParseForm("a=%G1").value(), std::invalid_argument);
}

}  // namespace
}  // namespace vwr::tracer
