#include "util/text_template.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <variant>

namespace vwr::util {
namespace {

TextTemplate ParseOk(std::string_view text) {
  auto parsed = TextTemplate::Parse(text);
  if (auto* error = std::get_if<TextTemplate::Error>(&parsed)) {
    ADD_FAILURE() << "line " << error->line << ": " << error->message;
    return std::get<TextTemplate>(TextTemplate::Parse(""));
  }
  return std::get<TextTemplate>(std::move(parsed));
}

TextTemplate::Error ParseError(std::string_view text) {
  auto parsed = TextTemplate::Parse(text);
  EXPECT_TRUE(std::holds_alternative<TextTemplate::Error>(parsed)) << text;
  if (auto* error = std::get_if<TextTemplate::Error>(&parsed)) return *error;
  return {};
}

TEST(TextTemplate, ReplacesEachPlaceholder) {
  const TextTemplate t = ParseOk("<h1>{{room_name}}</h1><p>{{ position }} / {{t.eta}}</p>{{x}}");
  const std::map<std::string, std::string, std::less<>> values = {
      {"room_name", "Sale"}, {"position", "12"}, {"t.eta", "soon"}, {"x", ""}};
  EXPECT_EQ(t.Render([&](std::string_view name) { return values.find(name)->second; }),
            "<h1>Sale</h1><p>12 / soon</p>");
  EXPECT_EQ(t.Names(), (std::vector<std::string_view>{"room_name", "position", "t.eta", "x"}));
}

TEST(TextTemplate, TextWithoutPlaceholdersIsKept) {
  const TextTemplate t = ParseOk("plain { text } with } braces {");
  EXPECT_EQ(t.Render([](std::string_view) { return std::string("?"); }),
            "plain { text } with } braces {");
  EXPECT_TRUE(ParseOk("").Names().empty());
}

TEST(TextTemplate, ValuesAreInsertedAsTheyComeNotParsedAgain) {
  const TextTemplate t = ParseOk("[{{a}}]");
  EXPECT_EQ(t.Render([](std::string_view) { return std::string("{{a}}"); }), "[{{a}}]");
}

TEST(TextTemplate, BrokenPlaceholdersAreErrorsWithTheirPlace) {
  TextTemplate::Error e = ParseError("line one\n  {{room_name");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 3);
  EXPECT_NE(e.message.find("not closed"), std::string::npos);
  e = ParseError("한글 {{Room}}");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.column, 4);  // characters, not bytes
  EXPECT_NE(e.message.find("not a placeholder"), std::string::npos);
  ParseError("{{}}");
  ParseError("{{ a b }}");
  ParseError("{{a}");
  ParseError("{{a {{b}}");
  ParseError("{{" + std::string(65, 'a') + "}}");
  ParseOk("{{" + std::string(64, 'a') + "}}");
}

}  // namespace
}  // namespace vwr::util
