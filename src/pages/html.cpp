#include "pages/html.hpp"

namespace vwr::pages {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string RenderPage(const util::TextTemplate& page, const PageValues& values) {
  return page.Render([&](std::string_view name) -> std::string {
    if (name.starts_with("t.")) return HtmlEscape(values.texts->Get(values.lang, name.substr(2)));
    auto it = values.values.find(name);
    return it == values.values.end() ? std::string() : HtmlEscape(it->second);
  });
}

}  // namespace vwr::pages
