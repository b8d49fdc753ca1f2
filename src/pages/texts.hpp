#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

// The pages' texts in Korean and English (web/i18n.json, the one source for the server's pages
// and for the scripts, which import it as /assets/i18n.js), and the choice of language.
namespace vwr::pages {

enum class Lang { kKo, kEn };

// "ko" or "en".
std::string_view LangCode(Lang lang);
std::optional<Lang> ParseLang(std::string_view code);

// The language of a page: ?lang=ko|en when given, else the preferred of Korean and English in
// Accept-Language (by q-value; the first listed wins a tie), else English.
Lang ChooseLang(std::string_view query_lang, std::string_view accept_language);

// The texts, by language and key. Immutable after the first use; thread-safe.
class Texts {
 public:
  // The built-in texts (web/i18n.json).
  static const Texts& Builtin();
  // Parses {"ko": {key: text, ...}, "en": {...}}; an empty set when the JSON is not that shape.
  static Texts Parse(std::string_view json);

  // The text, or empty when the key is unknown.
  std::string_view Get(Lang lang, std::string_view key) const;
  bool Has(Lang lang, std::string_view key) const;
  std::size_t size(Lang lang) const;

 private:
  std::map<std::string, std::string, std::less<>> ko_;
  std::map<std::string, std::string, std::less<>> en_;
};

// An estimated wait for people: "about 3 min" / "약 3분", "under a minute", and "unknown" when
// there is no estimate. Mirrors formatEta in web/assets/wait.js.
std::string FormatEta(const Texts& texts, Lang lang, std::optional<std::int64_t> seconds);
// The same with its range ([low, high] seconds): "about 3–5 minutes". Without a range, FormatEta.
// Mirrored by formatEtaRange in web/sdk/vwr.js.
std::string FormatEtaRange(const Texts& texts, Lang lang, std::optional<std::int64_t> seconds,
                           std::optional<std::int64_t> low, std::optional<std::int64_t> high);

}  // namespace vwr::pages
