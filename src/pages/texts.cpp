#include "pages/texts.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <vector>

#include "pages/embedded.hpp"

namespace vwr::pages {

std::string_view LangCode(Lang lang) { return lang == Lang::kKo ? "ko" : "en"; }

std::optional<Lang> ParseLang(std::string_view code) {
  if (code == "ko") return Lang::kKo;
  if (code == "en") return Lang::kEn;
  return std::nullopt;
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// q in thousandths ("q=0.8" -> 800); 1000 when absent, -1 when malformed.
int QualityOf(std::string_view params) {
  while (!params.empty()) {
    const std::size_t semi = params.find(';');
    std::string_view param = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
    std::string_view value = param.substr(2);
    if (value.empty() || value.size() > 5 || (value[0] != '0' && value[0] != '1')) return -1;
    int q = (value[0] - '0') * 1000;
    if (value.size() > 1) {
      if (value[1] != '.') return -1;
      int scale = 100;
      for (std::size_t i = 2; i < value.size(); ++i, scale /= 10) {
        if (value[i] < '0' || value[i] > '9') return -1;
        q += (value[i] - '0') * scale;
      }
    }
    return q > 1000 ? -1 : q;
  }
  return 1000;
}

}  // namespace

Lang ChooseLang(std::string_view query_lang, std::string_view accept_language) {
  if (std::optional<Lang> lang = ParseLang(query_lang)) return *lang;
  int best_q = 0;
  Lang best = Lang::kEn;
  while (!accept_language.empty()) {
    const std::size_t comma = accept_language.find(',');
    std::string_view item = accept_language.substr(0, comma);
    accept_language =
        comma == std::string_view::npos ? std::string_view{} : accept_language.substr(comma + 1);
    const std::size_t semi = item.find(';');
    std::string_view tag = Trim(item.substr(0, semi));
    const int q =
        QualityOf(semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1));
    const std::string_view primary = tag.substr(0, tag.find('-'));
    std::optional<Lang> lang;
    if (EqualsNoCase(primary, "ko")) lang = Lang::kKo;
    if (EqualsNoCase(primary, "en")) lang = Lang::kEn;
    if (lang && q > best_q) {
      best_q = q;
      best = *lang;
    }
  }
  return best;
}

Texts Texts::Parse(std::string_view json) {
  Texts texts;
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  const boost::json::object* root = ec ? nullptr : doc.if_object();
  if (root == nullptr) return texts;
  auto read = [&](std::string_view code, std::map<std::string, std::string, std::less<>>& out) {
    const boost::json::value* lang = root->if_contains(code);
    const boost::json::object* obj = lang == nullptr ? nullptr : lang->if_object();
    if (obj == nullptr) return;
    for (const auto& [key, value] : *obj) {
      if (const boost::json::string* s = value.if_string()) {
        out.emplace(std::string(key), std::string(s->data(), s->size()));
      }
    }
  };
  read("ko", texts.ko_);
  read("en", texts.en_);
  return texts;
}

const Texts& Texts::Builtin() {
  static const Texts texts = [] {
    Texts parsed = Parse(EmbeddedText("i18n.json"));
    if (parsed.size(Lang::kKo) == 0 || parsed.size(Lang::kEn) == 0) {
      spdlog::error("web: the built-in texts (web/i18n.json) could not be read");
    }
    return parsed;
  }();
  return texts;
}

std::string_view Texts::Get(Lang lang, std::string_view key) const {
  const auto& map = lang == Lang::kKo ? ko_ : en_;
  auto it = map.find(key);
  return it == map.end() ? std::string_view{} : std::string_view(it->second);
}

bool Texts::Has(Lang lang, std::string_view key) const {
  const auto& map = lang == Lang::kKo ? ko_ : en_;
  return map.find(key) != map.end();
}

std::size_t Texts::size(Lang lang) const { return lang == Lang::kKo ? ko_.size() : en_.size(); }

namespace {

// `pattern` with "{name}" replaced by the values given.
std::string Fill(std::string_view pattern,
                 std::initializer_list<std::pair<std::string_view, std::int64_t>> values) {
  std::string out(pattern);
  for (const auto& [name, value] : values) {
    const std::string key = "{" + std::string(name) + "}";
    for (std::size_t at = out.find(key); at != std::string::npos; at = out.find(key, at)) {
      const std::string number = std::to_string(value);
      out.replace(at, key.size(), number);
      at += number.size();
    }
  }
  return out;
}

}  // namespace

std::string FormatEta(const Texts& texts, Lang lang, std::optional<std::int64_t> seconds) {
  if (!seconds || *seconds < 0) return std::string(texts.Get(lang, "eta_unknown"));
  if (*seconds == 0) return std::string(texts.Get(lang, "eta_now"));
  if (*seconds < 60) return std::string(texts.Get(lang, "eta_under_minute"));
  const std::int64_t minutes = (*seconds + 59) / 60;
  if (minutes < 60) return Fill(texts.Get(lang, "eta_minutes"), {{"n", minutes}});
  return Fill(texts.Get(lang, "eta_hours"), {{"h", minutes / 60}, {"m", minutes % 60}});
}

std::string FormatEtaRange(const Texts& texts, Lang lang, std::optional<std::int64_t> seconds,
                           std::optional<std::int64_t> low, std::optional<std::int64_t> high) {
  if (!seconds || *seconds <= 0 || !low || !high) return FormatEta(texts, lang, seconds);
  const std::int64_t from_s = std::min(*low, *seconds);
  const std::int64_t to_s = std::max(*high, *seconds);
  if (to_s < 60) return std::string(texts.Get(lang, "eta_under_minute"));
  if (to_s < 7200) {
    const std::int64_t from = std::max<std::int64_t>(1, from_s / 60);
    const std::int64_t to = std::max(from, (to_s + 59) / 60);
    if (from == to) return Fill(texts.Get(lang, "eta_minutes"), {{"n", to}});
    return Fill(texts.Get(lang, "eta_range_minutes"), {{"low", from}, {"high", to}});
  }
  const std::int64_t from = std::max<std::int64_t>(1, from_s / 3600);
  const std::int64_t to = std::max(from, (to_s + 3599) / 3600);
  if (from == to) return FormatEta(texts, lang, seconds);
  return Fill(texts.Get(lang, "eta_range_hours"), {{"low", from}, {"high", to}});
}

}  // namespace vwr::pages
