#include "http/room_routes.hpp"

#include <algorithm>

namespace vwr::http {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `text` equals `lower` (already lower case), ignoring the case of `text`.
bool EqualsNoCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (Lower(text[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace

RoomRoutes::RoomRoutes(const std::vector<RoomRoute>& rooms) {
  for (const RoomRoute& route : rooms) {
    Room room{route.room, {}};
    for (const RouteRule& rule : route.match) {
      room.hosts.push_back(rule.host);
      Rule r{rule.path_prefix, {}, HostKind::kAny, rooms_.size()};
      if (rule.host.starts_with("*.")) {
        r.kind = HostKind::kSuffix;
        r.host = rule.host.substr(1);
      } else if (rule.host != "*" && !rule.host.empty()) {
        r.kind = HostKind::kExact;
        r.host = rule.host;
      }
      std::transform(r.host.begin(), r.host.end(), r.host.begin(), Lower);
      rules_.push_back(std::move(r));
    }
    rooms_.push_back(std::move(room));
  }
  // Longest prefix first, then the most specific host; stable: configuration order after that.
  std::stable_sort(rules_.begin(), rules_.end(), [](const Rule& a, const Rule& b) {
    if (a.path_prefix.size() != b.path_prefix.size()) {
      return a.path_prefix.size() > b.path_prefix.size();
    }
    return a.kind < b.kind;
  });
}

std::string_view RoomRoutes::HostOf(std::string_view host) {
  if (host.starts_with('[')) {
    const std::size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const std::size_t colon = host.find(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  // "shop.example.com." is the same host, written as a fully qualified name.
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

bool RoomRoutes::HostMatches(const Rule& rule, std::string_view host) {
  switch (rule.kind) {
    case HostKind::kAny:
      return true;
    case HostKind::kExact:
      return EqualsNoCase(host, rule.host);
    case HostKind::kSuffix:
      // ".example.com": a host under it, with at least one character before the dot.
      return host.size() > rule.host.size() &&
             EqualsNoCase(host.substr(host.size() - rule.host.size()), rule.host);
  }
  return false;
}

const std::string* RoomRoutes::Find(std::string_view host_header, std::string_view target) const {
  const std::string_view host = HostOf(host_header);
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  for (const Rule& rule : rules_) {
    if (path.starts_with(rule.path_prefix) && HostMatches(rule, host)) {
      return &rooms_[rule.room].id;
    }
  }
  return nullptr;
}

const std::vector<std::string>& RoomRoutes::MatchHosts(std::string_view room) const {
  static const std::vector<std::string> kNone;
  for (const Room& r : rooms_) {
    if (r.id == room) return r.hosts;
  }
  return kNone;
}

}  // namespace vwr::http
