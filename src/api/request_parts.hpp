#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::api {

// The path of a request target, without the query.
std::string_view PathOf(std::string_view target);
// The query of a request target, without '?'; empty when none.
std::string_view QueryOf(std::string_view target);
// The first value of `name` in an application/x-www-form-urlencoded query, percent-decoded
// ('+' is a space). nullopt when absent or when its encoding is broken.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);
// Percent-decodes; nullopt on a broken escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Splits "/a/b/c" into {"a","b","c"}; empty segments are kept so that "//" never matches a route.
std::vector<std::string_view> SplitPath(std::string_view path);
// The credentials of "Authorization: Bearer <token>"; empty when absent or another scheme.
std::string_view BearerToken(std::string_view authorization);

}  // namespace vwr::api
