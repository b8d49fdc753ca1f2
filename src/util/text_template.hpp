#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vwr::util {

// A text with {{name}} placeholders, split once into literal text and placeholder names so that
// rendering is a single pass. Names are 1 to 64 characters from a-z, 0-9, '_' and '.', with
// optional spaces inside the braces ("{{ room_name }}"). Every "{{" starts a placeholder: one
// that is not closed, or whose name is not valid, is an error, never literal text, so that a
// typo is reported when the template is loaded instead of showing up on a page.
//
// The template says nothing about escaping: the caller's lookup returns text ready to insert
// (the web pages HTML-escape every value). Immutable and thread-safe once parsed.
class TextTemplate {
 public:
  struct Segment {
    bool placeholder = false;
    std::string text;  // literal text, or the placeholder's name
  };

  struct Error {
    int line = 0;    // 1-based, in the template
    int column = 0;  // 1-based
    std::string message;
  };

  static constexpr std::size_t kMaxNameLength = 64;

  static std::variant<TextTemplate, Error> Parse(std::string_view text);

  // Concatenates the literals and lookup(name) for each placeholder.
  std::string Render(const std::function<std::string(std::string_view name)>& lookup) const;

  // Every placeholder name, in order, with repeats.
  std::vector<std::string_view> Names() const;

  const std::vector<Segment>& segments() const { return segments_; }

 private:
  std::vector<Segment> segments_;
  std::size_t literal_bytes_ = 0;
};

}  // namespace vwr::util
