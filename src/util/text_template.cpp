#include "util/text_template.hpp"

#include <algorithm>

namespace vwr::util {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

// Line and column (1-based) of byte `offset` in `text`.
TextTemplate::Error ErrorAt(std::string_view text, std::size_t offset, std::string message) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
      ++column;  // count characters, not UTF-8 continuation bytes
    }
  }
  return TextTemplate::Error{line, column, std::move(message)};
}

}  // namespace

std::variant<TextTemplate, TextTemplate::Error> TextTemplate::Parse(std::string_view text) {
  TextTemplate out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.segments_.push_back(Segment{false, std::string(text.substr(pos))});
      out.literal_bytes_ += text.size() - pos;
      break;
    }
    if (open > pos) {
      out.segments_.push_back(Segment{false, std::string(text.substr(pos, open - pos))});
      out.literal_bytes_ += open - pos;
    }
    const std::size_t close = text.find("}}", open + 2);
    const std::size_t next_open = text.find("{{", open + 2);
    if (close == std::string_view::npos ||
        (next_open != std::string_view::npos && next_open < close)) {
      return ErrorAt(text, open, "\"{{\" is not closed by \"}}\"");
    }
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    bool valid = !name.empty() && name.size() <= kMaxNameLength;
    for (char c : name) valid = valid && IsNameChar(c);
    if (!valid) {
      std::string shown(text.substr(open, std::min<std::size_t>(close + 2 - open, 40)));
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20) c = '?';
      }
      return ErrorAt(text, open,
                     "\"" + shown +
                         "\" is not a placeholder: names are 1 to 64 characters from a-z, 0-9, "
                         "\"_\" and \".\"");
    }
    out.segments_.push_back(Segment{true, std::string(name)});
    pos = close + 2;
  }
  return out;
}

std::string TextTemplate::Render(
    const std::function<std::string(std::string_view name)>& lookup) const {
  std::string out;
  out.reserve(literal_bytes_ + 64 * segments_.size());
  for (const Segment& segment : segments_) {
    if (segment.placeholder) {
      out += lookup(segment.text);
    } else {
      out += segment.text;
    }
  }
  return out;
}

std::vector<std::string_view> TextTemplate::Names() const {
  std::vector<std::string_view> names;
  for (const Segment& segment : segments_) {
    if (segment.placeholder) names.push_back(segment.text);
  }
  return names;
}

}  // namespace vwr::util
