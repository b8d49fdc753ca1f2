#include "tracer/allowed_origins.hpp"

#include <algorithm>
#include <charconv>

namespace vwr::tracer {
namespace {

constexpr std::uint16_t kHttpPort = 80;
constexpr std::uint16_t kHttpsPort = 443;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsIgnoringCase(text.substr(0, prefix.size()), prefix);
}

// "scheme://host[:port]" taken apart; host without the brackets of an IPv6 address.
struct Origin {
  bool https = false;
  std::string_view host;
  std::optional<std::uint16_t> port;  // as written; nullopt when the origin names none
  std::string_view authority;         // "host[:port]" as written
};

std::optional<Origin> ParseOrigin(std::string_view text) {
  Origin out;
  if (StartsWithIgnoringCase(text, "https://")) {
    out.https = true;
    text.remove_prefix(8);
  } else if (StartsWithIgnoringCase(text, "http://")) {
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  out.authority = text;
  if (text.empty() || text.find_first_of("/?#@\\ \t") != std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view port;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = text.substr(1, close - 1);
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const std::size_t colon = text.find(':');
    out.host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (out.host.empty()) return std::nullopt;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || port.size() > 5 || value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void AddUnique(std::vector<AllowedOrigins::Pattern>& patterns, AllowedOrigins::Pattern pattern) {
  if (std::find(patterns.begin(), patterns.end(), pattern) == patterns.end()) {
    patterns.push_back(std::move(pattern));
  }
}

}  // namespace

AllowedOrigins AllowedOrigins::FromList(const std::vector<std::string>& origins,
                                        std::vector<std::string>* rejected) {
  std::vector<Pattern> patterns;
  for (const std::string& text : origins) {
    std::string_view entry = text;
    if (entry.ends_with('/')) entry.remove_suffix(1);
    // "*." right after the scheme: any host under the domain that follows.
    std::string plain(entry);
    bool any_host_under = false;
    if (const std::size_t scheme_end = plain.find("://");
        scheme_end != std::string::npos && plain.compare(scheme_end + 3, 2, "*.") == 0) {
      plain.erase(scheme_end + 3, 2);
      any_host_under = true;
    }
    const std::optional<Origin> origin = ParseOrigin(plain);
    if (!origin) {
      if (rejected != nullptr) rejected->push_back(text);
      continue;
    }
    Pattern pattern;
    pattern.http = !origin->https;
    pattern.https = origin->https;
    pattern.any_host_under = any_host_under;
    pattern.host = Lower(origin->host);
    pattern.port = origin->port.value_or(origin->https ? kHttpsPort : kHttpPort);
    AddUnique(patterns, std::move(pattern));
  }
  return AllowedOrigins(std::move(patterns));
}

AllowedOrigins AllowedOrigins::FromRoomHosts(const std::vector<http::RoomRoute>& rooms) {
  std::vector<Pattern> patterns;
  for (const http::RoomRoute& room : rooms) {
    for (const http::RouteRule& rule : room.match) {
      if (rule.host.empty() || rule.host == "*") continue;
      Pattern pattern;
      pattern.http = true;
      pattern.https = true;
      pattern.any_host_under = rule.host.starts_with("*.");
      pattern.host = Lower(pattern.any_host_under ? rule.host.substr(2) : rule.host);
      AddUnique(patterns, std::move(pattern));
    }
  }
  return AllowedOrigins(std::move(patterns));
}

bool AllowedOrigins::Allows(std::string_view text) const {
  const std::optional<Origin> origin = ParseOrigin(text);
  if (!origin) return false;
  const std::uint16_t port = origin->port.value_or(origin->https ? kHttpsPort : kHttpPort);
  for (const Pattern& pattern : patterns_) {
    if (!(origin->https ? pattern.https : pattern.http)) continue;
    if (pattern.port && *pattern.port != port) continue;
    if (pattern.any_host_under) {
      const std::string_view host = origin->host;
      if (host.size() > pattern.host.size() + 1 &&
          host[host.size() - pattern.host.size() - 1] == '.' &&
          EqualsIgnoringCase(host.substr(host.size() - pattern.host.size()), pattern.host)) {
        return true;
      }
    } else if (EqualsIgnoringCase(origin->host, pattern.host)) {
      return true;
    }
  }
  return false;
}

std::string AllowedOrigins::Describe() const {
  std::string out;
  for (const Pattern& p : patterns_) {
    if (!out.empty()) out += ", ";
    out += p.http && p.https ? "http(s)" : (p.https ? "https" : "http");
    out += "://";
    if (p.any_host_under) out += "*.";
    const bool ipv6 = p.host.find(':') != std::string::npos;
    if (ipv6) out += '[';
    out += p.host;
    if (ipv6) out += ']';
    const bool default_port = p.port && ((p.https && !p.http && *p.port == kHttpsPort) ||
                                         (p.http && !p.https && *p.port == kHttpPort));
    if (p.port && !default_port) {
      out += ':';
      out += std::to_string(*p.port);
    } else if (!p.port) {
      out += " (any port)";
    }
  }
  return out;
}

bool IsSameOrigin(std::string_view origin, std::string_view host) {
  const std::optional<Origin> parsed = ParseOrigin(origin);
  return parsed && !host.empty() && EqualsIgnoringCase(parsed->authority, host);
}

}  // namespace vwr::tracer
