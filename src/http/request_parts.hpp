#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::http {

// The path of a request target, without the query.
std::string_view PathOf(std::string_view target);
// The query of a request target, without '?'; empty when none.
std::string_view QueryOf(std::string_view target);
// The key=value pairs of an application/x-www-form-urlencoded text (a query without its '?',
// or a form body) as they were sent, not decoded, in order: the one walker of queries and forms
// (QueryParam, RawQueryParam, tracer::ParseForm). Pairs are split at '&', a pair at its first
// '=' ("a=1=2" is a = "1=2", "a" is a with an empty value, "=v" the empty key); empty pairs (a
// leading, trailing or doubled '&') are skipped. Allocation-free; the views point into the
// text.
class QueryPairs {
 public:
  struct Pair {
    std::string_view key;
    std::string_view value;
    std::size_t offset = 0;  // of the pair's first byte in the text
  };

  explicit QueryPairs(std::string_view text) : text_(text) {}

  // The next pair, or nullopt after the last. Inline: the verify call walks its query with it.
  std::optional<Pair> Next() {
    while (offset_ < text_.size()) {
      const std::size_t start = offset_;
      const std::size_t amp = text_.find('&', start);
      const std::size_t end = amp == std::string_view::npos ? text_.size() : amp;
      offset_ = end + 1;
      if (end == start) continue;
      const std::string_view pair = text_.substr(start, end - start);
      const std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) return Pair{pair, {}, start};
      return Pair{pair.substr(0, eq), pair.substr(eq + 1), start};
    }
    return std::nullopt;
  }

 private:
  std::string_view text_;
  std::size_t offset_ = 0;
};

// The first value of `name` in an application/x-www-form-urlencoded query, percent-decoded
// ('+' is a space). nullopt when absent or when its encoding is broken.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);
// Percent-decodes; nullopt on a broken escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// The same, appended to `out`; false on a broken escape (`out` then holds part of the text).
// Runs of bytes that decode to themselves are appended whole.
bool PercentDecodeAppend(std::string_view text, bool plus_is_space, std::string& out);
// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), so that
// the result can stand as a query value or a path segment.
std::string PercentEncode(std::string_view text);
// The first value of `name` in a query as it was sent (not decoded), without allocating;
// nullopt when absent.
std::optional<std::string_view> RawQueryParam(std::string_view query, std::string_view name);
// The segments of a path, without allocating: "/a/b/c" gives {"a","b","c"}. Empty segments are
// kept so that "//" never matches a route. A path with more than kMax segments has size()
// kMax + 1 (no route is that long) and only its first kMax segments are kept.
class PathSegments {
 public:
  static constexpr std::size_t kMax = 8;
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::string_view operator[](std::size_t i) const { return parts_[i]; }
  const std::string_view* begin() const { return parts_.data(); }
  const std::string_view* end() const { return parts_.data() + std::min(count_, kMax); }

 private:
  friend PathSegments SplitPath(std::string_view path);
  std::array<std::string_view, kMax> parts_{};
  std::size_t count_ = 0;
};
PathSegments SplitPath(std::string_view path);
// The credentials of "Authorization: Bearer <token>"; empty when absent or another scheme.
std::string_view BearerToken(std::string_view authorization);

}  // namespace vwr::http
