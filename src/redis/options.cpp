#include "redis/options.hpp"

#include <charconv>
#include <optional>

namespace vwr::redis {
namespace {

std::optional<int> HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// Percent-decoding, so that a password may contain ':', '@' or '/'.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const auto high = HexDigit(text[i + 1]);
    const auto low = HexDigit(text[i + 2]);
    if (!high || !low) return std::nullopt;
    out += static_cast<char>(*high * 16 + *low);
    i += 2;
  }
  return out;
}

template <typename Int>
std::optional<Int> ParseNumber(std::string_view text) {
  Int value{};
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

boost::system::result<ClientOptions, std::string> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.starts_with("rediss://")) {
    return std::string("rediss:// (TLS) is not supported; use redis://");
  }
  if (!url.starts_with(kScheme)) {
    return std::string("must start with redis:// (redis://[[user]:password@]host[:port][/db])");
  }
  std::string_view rest = url.substr(kScheme.size());
  ClientOptions options;

  // The user info ends at the last '@': an unencoded '@' in a password still parses.
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return std::string("the part before '@' must be [user]:password");
    }
    auto user = PercentDecode(userinfo.substr(0, colon));
    auto password = PercentDecode(userinfo.substr(colon + 1));
    if (!user || !password) return std::string("bad percent-encoding in the user or password");
    if (password->empty()) return std::string("the password after ':' is empty");
    options.username = std::move(*user);
    options.password = std::move(*password);
  }

  std::string_view hostport = rest;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db_text = rest.substr(slash + 1);
    if (!db_text.empty()) {
      const auto db = ParseNumber<int>(db_text);
      if (!db || *db < 0) {
        return std::string("the database after '/' must be a number >= 0");
      }
      options.db = *db;
    }
  }

  Endpoint endpoint;
  std::string_view port_text;
  if (hostport.starts_with('[')) {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return std::string("an IPv6 host lacks its ']'");
    endpoint.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return std::string("unexpected text after the IPv6 host");
      port_text = after.substr(1);
      if (port_text.empty()) return std::string("the port after ':' is empty");
    }
  } else if (const std::size_t colon = hostport.find(':'); colon != std::string_view::npos) {
    endpoint.host = std::string(hostport.substr(0, colon));
    port_text = hostport.substr(colon + 1);
    if (port_text.empty()) return std::string("the port after ':' is empty");
  } else {
    endpoint.host = std::string(hostport);
  }
  if (endpoint.host.empty()) return std::string("the URL has no host");
  if (endpoint.host.find_first_of("?#") != std::string::npos ||
      port_text.find_first_of("?#") != std::string_view::npos) {
    return std::string("query strings and fragments are not supported");
  }
  if (!port_text.empty()) {
    const auto port = ParseNumber<std::uint32_t>(port_text);
    if (!port || *port == 0 || *port > 65535) {
      return std::string("the port must be a number from 1 to 65535");
    }
    endpoint.port = static_cast<std::uint16_t>(*port);
  }
  options.seeds.push_back(std::move(endpoint));
  return options;
}

}  // namespace vwr::redis
