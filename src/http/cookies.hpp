#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/http.hpp"

namespace vwr::http {

// The cookies VWR sets on admitted visitors, per room:
//   vwr_<room>       the admission token (what /api/v1/verify reads when no bearer token comes)
//   vwr_pass_<room>  the entry pass of a room that has one (rooms[].entry_pass)
// Both with "Path=/; Max-Age=<seconds>; HttpOnly; SameSite=Lax", plus "Secure" and "Domain=..."
// as configured (web.cookie_secure, web.cookie_domain). Room ids ([A-Za-z0-9_-]) and tokens
// (base64url and '.') are valid cookie names and values as they are.
inline constexpr std::string_view kAdmissionCookiePrefix = "vwr_";
inline constexpr std::string_view kEntryPassCookiePrefix = "vwr_pass_";

struct CookieOptions {
  bool secure = false;  // adds "Secure": the browser sends the cookie over HTTPS only
  std::string domain;   // adds "Domain=<domain>"; empty: the cookie stays on the answering host

  bool operator==(const CookieOptions&) const = default;
};

// The value of the cookie named <prefix><room> in one Cookie header value; empty when absent.
// Pairs are separated by ';' (spaces around them ignored), names compare exactly, a value in
// double quotes is unquoted. Does not allocate.
std::string_view CookieValue(std::string_view header, std::string_view prefix,
                             std::string_view room);

// The same over every Cookie header of `request` (the first one found wins).
std::string_view FindCookie(const Request& request, std::string_view prefix, std::string_view room);

// A Set-Cookie header value:
//   <prefix><room>=<value>; Path=/; Max-Age=<max_age_s>; HttpOnly; SameSite=Lax[; Secure][;
//   Domain=<domain>]
// max_age_s 0 (or less, sent as 0) tells the browser to drop the cookie now.
std::string SetCookieValue(std::string_view prefix, std::string_view room, std::string_view value,
                           std::int64_t max_age_s, const CookieOptions& options);

}  // namespace vwr::http
