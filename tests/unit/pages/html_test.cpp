#include "pages/html.hpp"

#include <gtest/gtest.h>

#include <variant>

#include "util/text_template.hpp"

namespace vwr::pages {
namespace {

util::TextTemplate Parse(std::string_view text) {
  return std::get<util::TextTemplate>(util::TextTemplate::Parse(text));
}

TEST(HtmlEscape, EscapesEveryCharacterThatEndsTextOrAnAttribute) {
  EXPECT_EQ(HtmlEscape(R"(<script>alert("x")</script> & 'y')"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
  EXPECT_EQ(HtmlEscape("대기 순번 12번 — ok"), "대기 순번 12번 — ok");
  EXPECT_EQ(HtmlEscape(""), "");
  EXPECT_EQ(HtmlEscape("&amp;"), "&amp;amp;");  // escaped once more, never decoded
}

TEST(RenderPage, EscapesEveryValueInTextAndInAttributes) {
  const util::TextTemplate page =
      Parse(R"(<p title="{{room_name}}">{{message}}</p><a href="{{return_url}}">x</a>)");
  PageValues values;
  values.values = {{"room_name", R"(" onmouseover="alert(1))"},
                   {"message", "<img src=x onerror=alert(1)>"},
                   {"return_url", "/a?b=1&c='2'"}};
  EXPECT_EQ(
      RenderPage(page, values),
      R"x(<p title="&quot; onmouseover=&quot;alert(1)">&lt;img src=x onerror=alert(1)&gt;</p>)x"
      R"x(<a href="/a?b=1&amp;c=&#39;2&#39;">x</a>)x");
}

TEST(RenderPage, TextsComeInTheChosenLanguageAndUnknownNamesGiveNothing) {
  const Texts texts = Texts::Parse(R"({"ko":{"hi":"안녕 <b>"},"en":{"hi":"Hello & welcome"}})");
  const util::TextTemplate page = Parse("[{{t.hi}}][{{t.nope}}][{{nope}}]");
  PageValues values;
  values.texts = &texts;
  values.lang = Lang::kKo;
  EXPECT_EQ(RenderPage(page, values), "[안녕 &lt;b&gt;][][]");
  values.lang = Lang::kEn;
  EXPECT_EQ(RenderPage(page, values), "[Hello &amp; welcome][][]");
}

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(http::PercentEncode("/demo/inside?a=1&b=한"),
            "%2Fdemo%2Finside%3Fa%3D1%26b%3D%ED%95%9C");
  EXPECT_EQ(http::PercentEncode("AZaz09-._~"), "AZaz09-._~");
}

}  // namespace
}  // namespace vwr::pages
