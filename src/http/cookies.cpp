#include "http/cookies.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vwr::http {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view CookieValue(std::string_view header, std::string_view prefix,
                             std::string_view room) {
  const std::size_t name_length = prefix.size() + room.size();
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    const std::string_view pair = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = Trim(pair.substr(0, eq));
    if (name.size() != name_length || !name.starts_with(prefix) || !name.ends_with(room)) continue;
    std::string_view value = Trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return {};
}

std::string_view FindCookie(const Request& request, std::string_view prefix,
                            std::string_view room) {
  for (auto [it, end] = request.equal_range(http::field::cookie); it != end; ++it) {
    const std::string_view value = CookieValue(it->value(), prefix, room);
    if (!value.empty()) return value;
  }
  return {};
}

std::string SetCookieValue(std::string_view prefix, std::string_view room, std::string_view value,
                           std::int64_t max_age_s, const CookieOptions& options) {
  std::string out;
  out.reserve(prefix.size() + room.size() + value.size() + 96 + options.domain.size());
  out += prefix;
  out += room;
  out += '=';
  out += value;
  fmt::format_to(std::back_inserter(out), "; Path=/; Max-Age={}; HttpOnly; SameSite=Lax",
                 std::max<std::int64_t>(0, max_age_s));
  if (options.secure) out += "; Secure";
  if (!options.domain.empty()) {
    out += "; Domain=";
    out += options.domain;
  }
  return out;
}

}  // namespace vwr::http
