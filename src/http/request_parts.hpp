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
// The first value of `name` in an application/x-www-form-urlencoded query, percent-decoded
// ('+' is a space). nullopt when absent or when its encoding is broken.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);
// Percent-decodes; nullopt on a broken escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
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
