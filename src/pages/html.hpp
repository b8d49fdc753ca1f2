#pragma once

#include <map>
#include <string>
#include <string_view>

#include "http/request_parts.hpp"
#include "pages/texts.hpp"
#include "util/text_template.hpp"

namespace vwr::pages {

// Text made safe to put in HTML, as element content or in a quoted attribute: & < > " ' become
// character references. Everything a page template receives goes through this.
std::string HtmlEscape(std::string_view text);

// Percent-encoding for the pages' links is http::PercentEncode (api/request_parts.hpp).
using http::PercentEncode;

// What a page template's placeholders stand for: `values` by name, and "t.<key>" for the text
// `key` in `lang`. Every value is HTML-escaped on the way in; an unknown name gives nothing.
struct PageValues {
  const Texts* texts = &Texts::Builtin();
  Lang lang = Lang::kEn;
  std::map<std::string, std::string, std::less<>> values;
};

std::string RenderPage(const util::TextTemplate& page, const PageValues& values);

}  // namespace vwr::pages
