#include "pages/texts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "pages/embedded.hpp"
#include "util/text_template.hpp"

namespace vwr::pages {
namespace {

TEST(ChooseLang, TheQueryWins) {
  EXPECT_EQ(ChooseLang("ko", "en-US,en;q=0.9"), Lang::kKo);
  EXPECT_EQ(ChooseLang("en", "ko-KR,ko;q=0.9"), Lang::kEn);
}

TEST(ChooseLang, ThenAcceptLanguageByQuality) {
  EXPECT_EQ(ChooseLang("", "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"), Lang::kKo);
  EXPECT_EQ(ChooseLang("", "en-US,en;q=0.9,ko;q=0.8"), Lang::kEn);
  EXPECT_EQ(ChooseLang("", "ja;q=1, en;q=0.3, ko;q=0.5"), Lang::kKo);
  EXPECT_EQ(ChooseLang("", "fr, KO"), Lang::kKo);
  EXPECT_EQ(ChooseLang("", "ko;q=0, en;q=0.1"), Lang::kEn);
  EXPECT_EQ(ChooseLang("xx", "ko"), Lang::kKo);  // an unknown ?lang= is ignored
}

TEST(ChooseLang, EnglishWhenNothingMatches) {
  EXPECT_EQ(ChooseLang("", ""), Lang::kEn);
  EXPECT_EQ(ChooseLang("", "ja-JP,fr;q=0.5"), Lang::kEn);
  EXPECT_EQ(ChooseLang("", "ko;q=2,;;;,,q=x"), Lang::kEn);  // malformed: ignored
  EXPECT_EQ(ChooseLang("", "kor"), Lang::kEn);
}

TEST(Texts, BothLanguagesHaveTheSameKeys) {
  const Texts& texts = Texts::Builtin();
  ASSERT_GT(texts.size(Lang::kKo), 20u);
  EXPECT_EQ(texts.size(Lang::kKo), texts.size(Lang::kEn));
  EXPECT_EQ(texts.Get(Lang::kKo, "wait_heading"), "잠시만 기다려 주세요");
  EXPECT_EQ(texts.Get(Lang::kEn, "wait_heading"), "You are in line");
  EXPECT_EQ(texts.Get(Lang::kEn, "no_such_key"), "");
}

TEST(Texts, EveryTextABuiltInPageUsesExists) {
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (!file.name.starts_with("templates/")) continue;
    auto parsed = util::TextTemplate::Parse(file.text());
    ASSERT_TRUE(std::holds_alternative<util::TextTemplate>(parsed)) << file.name;
    for (std::string_view name : std::get<util::TextTemplate>(parsed).Names()) {
      if (!name.starts_with("t.")) continue;
      EXPECT_TRUE(Texts::Builtin().Has(Lang::kKo, name.substr(2))) << file.name << ": " << name;
      EXPECT_TRUE(Texts::Builtin().Has(Lang::kEn, name.substr(2))) << file.name << ": " << name;
    }
  }
}

TEST(FormatEta, ReadsLikeAPersonWouldSayIt) {
  const Texts& t = Texts::Builtin();
  EXPECT_EQ(FormatEta(t, Lang::kEn, std::nullopt), "unknown");
  EXPECT_EQ(FormatEta(t, Lang::kKo, std::nullopt), "알 수 없음");
  EXPECT_EQ(FormatEta(t, Lang::kEn, 0), "any moment");
  EXPECT_EQ(FormatEta(t, Lang::kEn, 59), "under a minute");
  EXPECT_EQ(FormatEta(t, Lang::kEn, 60), "about 1 min");
  EXPECT_EQ(FormatEta(t, Lang::kEn, 61), "about 2 min");
  EXPECT_EQ(FormatEta(t, Lang::kKo, 600), "약 10분");
  EXPECT_EQ(FormatEta(t, Lang::kEn, 3600), "about 1 h 0 min");
  EXPECT_EQ(FormatEta(t, Lang::kKo, 3 * 3600 + 125), "약 3시간 3분");
}

}  // namespace
}  // namespace vwr::pages
