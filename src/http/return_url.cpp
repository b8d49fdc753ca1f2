#include "http/return_url.hpp"

#include <algorithm>

namespace vwr::http {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

// A DNS host name: labels of letters, digits and '-', separated by single dots.
bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

bool HostMatches(std::string_view host, std::string_view pattern) {
  if (pattern == "*" || pattern.empty()) return false;
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return host == pattern;
}

}  // namespace

bool IsSafeReturnUrl(std::string_view url, std::span<const std::string> match_hosts) {
  if (url.empty() || url.size() > kMaxReturnUrlBytes) return false;
  // Browsers drop tabs and line breaks inside URLs and read "\" as "/": "/\t/evil" and
  // "/\evil" both lead to another host. Refuse them and every other control character or space.
  const bool clean = std::none_of(url.begin(), url.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '\\';
  });
  if (!clean) return false;
  if (url.front() == '/') return url.size() == 1 || url[1] != '/';

  std::string_view rest;
  if (StartsWithNoCase(url, "https://")) {
    rest = url.substr(8);
  } else if (StartsWithNoCase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return false;  // user info hides the host
  std::string_view host = authority;
  if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    host = authority.substr(0, colon);
  }
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(), Lower);
  if (!IsHostName(lower)) return false;  // IP literals and odd spellings are not room hosts
  return std::any_of(match_hosts.begin(), match_hosts.end(),
                     [&](const std::string& pattern) { return HostMatches(lower, pattern); });
}

std::string SafeReturnUrl(std::string_view url, std::span<const std::string> match_hosts) {
  return IsSafeReturnUrl(url, match_hosts) ? std::string(url) : std::string("/");
}

}  // namespace vwr::http
