#include "config/reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "config/duration.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

// Longest part of an offending value quoted back in a message.
constexpr std::size_t kMaxQuotedLength = 60;

bool Contains(Keys names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string UnknownKeyMessage(std::string_view name, Keys allowed) {
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only close misspellings
  for (std::string_view candidate : allowed) {
    const std::size_t distance = EditDistance(name, candidate);
    if (distance < best_distance && distance < candidate.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best.empty()) return "unknown key (did you mean \"" + std::string(best) + "\"?)";
  return "unknown key (allowed here: " + JoinNames(allowed) + ")";
}

bool IsDecimalNumber(std::string_view text) {
  std::size_t pos = 0;
  auto digits = [&] {
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    return pos > start;
  };
  if (pos < text.size() && text[pos] == '-') ++pos;
  if (!digits()) return false;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (!digits()) return false;
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
    if (!digits()) return false;
  }
  return pos == text.size();
}

}  // namespace

int LineOf(const YAML::Mark& mark) { return mark.is_null() || mark.line < 0 ? 0 : mark.line + 1; }
int ColumnOf(const YAML::Mark& mark) {
  return mark.is_null() || mark.line < 0 || mark.column < 0 ? 0 : mark.column + 1;
}

std::string Child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string Item(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuotedLength; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += c < 0x20 || c == 0x7f ? '?' : text[i];
  }
  if (text.size() > kMaxQuotedLength) out += "...";
  return out + "\"";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
  }
  return "something else";
}

std::string JoinNames(Keys names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

void Reader::Error(const YAML::Mark& mark, std::string key, std::string message) {
  errors_.push_back(ConfigError{LineOf(mark), ColumnOf(mark), std::move(key), std::move(message)});
}

std::vector<ConfigError> Reader::TakeErrors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

std::optional<Fields> Reader::ReadMap(const Field& field, Keys allowed) {
  Fields fields;
  if (field.node.IsNull()) return fields;
  if (!field.node.IsMap()) {
    Error(field.mark, field.path,
          "expected a mapping (keys: " + JoinNames(allowed) + "), got " + Describe(field.node));
    return std::nullopt;
  }
  std::map<std::string, int> first_line;
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    // Copies: it-> yields a proxy, so references into it would dangle.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      Error(key.Mark(), field.path, "keys must be plain names, got " + Describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    std::string path = Child(field.path, name);
    if (!Contains(allowed, name)) {
      Error(key.Mark(), std::move(path), UnknownKeyMessage(name, allowed));
      continue;
    }
    if (auto [seen, inserted] = first_line.emplace(name, LineOf(key.Mark())); !inserted) {
      Error(key.Mark(), std::move(path),
            "duplicate key (first given at line " + std::to_string(seen->second) + ")");
      continue;
    }
    fields.Add(name, Field{std::move(path), key.Mark(), value});
  }
  return fields;
}

std::optional<std::string> Reader::ReadString(const Field& field) {
  if (field.node.IsScalar()) return field.node.Scalar();
  Error(field.mark, field.path, "expected a string, got " + Describe(field.node));
  return std::nullopt;
}

std::optional<std::int64_t> Reader::ReadInt(const Field& field) {
  if (!field.node.IsScalar()) {
    Error(field.mark, field.path, "expected an integer, got " + Describe(field.node));
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  const std::size_t digits_start = !text.empty() && text.front() == '-' ? 1 : 0;
  if (text.size() == digits_start ||
      text.find_first_not_of("0123456789", digits_start) != std::string::npos) {
    Error(field.mark, field.path, "expected an integer, got " + Quote(text));
    return std::nullopt;
  }
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    Error(field.mark, field.path, Quote(text) + " does not fit in a 64-bit integer");
    return std::nullopt;
  }
  return value;
}

std::optional<double> Reader::ReadNumber(const Field& field) {
  if (!field.node.IsScalar()) {
    Error(field.mark, field.path, "expected a number, got " + Describe(field.node));
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  if (!IsDecimalNumber(text)) {
    Error(field.mark, field.path, "expected a number, got " + Quote(text));
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    Error(field.mark, field.path, Quote(text) + " is out of range");
    return std::nullopt;
  }
  return value;
}

std::optional<milliseconds> Reader::ReadDuration(const Field& field) {
  if (!field.node.IsScalar()) {
    Error(field.mark, field.path,
          "expected a duration such as \"20s\", \"1500ms\" or \"5m\", got " + Describe(field.node));
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  if (std::optional<milliseconds> value = ParseDuration(text)) return value;
  if (!text.empty() && text.front() == '-') {
    Error(field.mark, field.path, "must not be negative, got " + Quote(text));
  } else {
    Error(field.mark, field.path,
          "expected a duration: a number and a unit (ms, s, m, h, d) such as \"20s\", "
          "\"1500ms\" or \"1.5s\", in whole milliseconds; got " +
              Quote(text));
  }
  return std::nullopt;
}

std::optional<std::string> Reader::ReadChoice(const Field& field, Keys allowed) {
  std::optional<std::string> text = ReadString(field);
  if (!text) return std::nullopt;
  if (Contains(allowed, *text)) return text;
  Error(field.mark, field.path, "must be one of " + JoinNames(allowed) + "; got " + Quote(*text));
  return std::nullopt;
}

std::optional<std::int64_t> ReadIntInRange(Reader& reader, const Field& field, std::int64_t min,
                                           std::int64_t max, std::string_view zero_means) {
  const std::optional<std::int64_t> value = reader.ReadInt(field);
  if (!value) return std::nullopt;
  if ((*value >= min && *value <= max) || (*value == 0 && !zero_means.empty())) return value;
  const std::string low =
      zero_means.empty() ? std::to_string(min) : "0 (" + std::string(zero_means) + ")";
  reader.Error(field.mark, field.path, "must be between " + low + " and " + std::to_string(max));
  return std::nullopt;
}

std::optional<milliseconds> ReadDurationInRange(Reader& reader, const Field& field,
                                                milliseconds min, milliseconds max) {
  const std::optional<milliseconds> value = reader.ReadDuration(field);
  if (!value) return std::nullopt;
  if (*value >= min && *value <= max) return value;
  reader.Error(field.mark, field.path,
               "must be between " + FormatDuration(min) + " and " + FormatDuration(max));
  return std::nullopt;
}

}  // namespace vwr::config::detail
