#include "http/request_parts.hpp"

namespace vwr::http {

std::string_view PathOf(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view QueryOf(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool PercentDecodeAppend(std::string_view text, bool plus_is_space, std::string& out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const char* run = p;
    while (p != end && *p != '%' && (*p != '+' || !plus_is_space)) ++p;
    out.append(run, static_cast<std::size_t>(p - run));
    if (p == end) break;
    if (*p == '+') {
      out.push_back(' ');
      ++p;
      continue;
    }
    if (end - p < 3) return false;
    const int hi = HexValue(p[1]);
    const int lo = HexValue(p[2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    p += 3;
  }
  return true;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  if (!PercentDecodeAppend(text, plus_is_space, out)) return std::nullopt;
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0f]);
    }
  }
  return out;
}

std::optional<std::string_view> RawQueryParam(std::string_view query, std::string_view name) {
  QueryPairs pairs(query);
  while (const std::optional<QueryPairs::Pair> pair = pairs.Next()) {
    if (pair->key == name) return pair->value;
  }
  return std::nullopt;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  const std::optional<std::string_view> value = RawQueryParam(query, name);
  if (!value) return std::nullopt;
  return PercentDecode(*value, /*plus_is_space=*/true);
}

PathSegments SplitPath(std::string_view path) {
  PathSegments out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    if (out.count_ == PathSegments::kMax) {
      ++out.count_;  // too long for any route
      break;
    }
    out.parts_[out.count_++] = path.substr(0, slash);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char a = authorization[i];
    const char b = kScheme[i];
    if ((a | 0x20) != (b | 0x20)) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace vwr::http
