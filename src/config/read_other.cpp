// The smaller sections: tracer, admin, secrets, web, tokens, identity, log.

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMinAdminTokenLength = 16;
// tokens: issuer length, how often keys may rotate, how long a token may live.
constexpr std::size_t kMaxIssuerLength = 256;
constexpr milliseconds kMinRotateAfter{60'000};
constexpr milliseconds kMaxRotateAfter{366LL * 86'400'000};
constexpr std::size_t kMaxPublicUrlLength = 512;
constexpr std::array<std::string_view, 12> kIdentityKeys = {
    "mode",     "jwks_file", "jwks_url", "issuer",     "audience", "claim",
    "required", "leeway",    "refresh",  "algorithms", "cookie",   "tracer_login_id"};
constexpr std::array<std::string_view, 2> kIdentityModes = {"anonymous", "signed"};
constexpr std::array<std::string_view, 10> kJwsAlgorithms = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
constexpr std::array<std::string_view, 4> kTracerKeys = {"domain", "trust_client_ip",
                                                         "identity_binding", "allowed_origins"};
constexpr std::array<std::string_view, 3> kIdentityBindings = {"cookie", "address", "none"};
constexpr std::size_t kMaxAllowedOrigins = 256;
constexpr std::size_t kMaxTracerDomainLength = 253;
constexpr std::array<std::string_view, 1> kAdminKeys = {"token"};
constexpr std::array<std::string_view, 1> kSecretsKeys = {"ticket_key_file"};
constexpr std::array<std::string_view, 3> kTokensKeys = {"issuer", "rotate_after", "key_dir"};
constexpr std::array<std::string_view, 3> kWebKeys = {"public_url", "cookie_secure",
                                                      "cookie_domain"};
constexpr std::array<std::string_view, 2> kLogKeys = {"level", "format"};
constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};
constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};

// Why `url` is not an origin (scheme://host[:port]), or nullopt. A trailing "/" is allowed
// and dropped by the caller.
std::optional<std::string> CheckOrigin(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return std::string("must start with https:// or http:// (in lower case)");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty()) return std::string("has no host");
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return std::string(
        "must be an origin only (scheme, host and port), without a path, query or fragment: "
        "the waiting pages are at /wait/<room> on it");
  }
  if (rest.find('@') != std::string_view::npos) return std::string("must not hold user info");
  auto bad_port = [](std::string_view port) {
    return port.empty() || port.size() > 5 ||
           port.find_first_not_of("0123456789") != std::string_view::npos ||
           std::stoi(std::string(port)) > 65535;
  };
  std::string_view host = rest;
  if (host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos || !IsIpv6Address(host.substr(1, close - 1))) {
      return std::string("has no valid IPv6 address in brackets");
    }
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || bad_port(after.substr(1)))) {
      return std::string("has a port that is not 0..65535");
    }
    return std::nullopt;
  }
  if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
    if (bad_port(host.substr(colon + 1))) return std::string("has a port that is not 0..65535");
    host = host.substr(0, colon);
  }
  std::string lower(host);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!IsHostName(lower)) return std::string("has no valid host name or IPv4 address");
  return std::nullopt;
}

// tracer.allowed_origins: origins ("https://shop.example.com", "http://localhost:8080"), a host
// "*.example.com" for any host under a domain; normalised: host in lower case, no trailing "/".
void ReadAllowedOrigins(Reader& reader, const Field& field, TracerConfig& out) {
  std::vector<std::string> origins;
  if (!field.node.IsNull()) {
    if (!field.node.IsSequence()) {
      reader.Error(field.mark, field.path,
                   "expected a list of origins, such as [\"https://shop.example.com\"]");
      return;
    }
    if (field.node.size() > kMaxAllowedOrigins) {
      reader.Error(field.mark, field.path,
                   "lists more than " + std::to_string(kMaxAllowedOrigins) + " entries");
      return;
    }
  }
  for (std::size_t i = 0; field.node.IsSequence() && i < field.node.size(); ++i) {
    const YAML::Node item = field.node[i];
    const Field entry{field.path + "[" + std::to_string(i) + "]", item.Mark(), item};
    std::optional<std::string> text = reader.ReadString(entry);
    if (!text) continue;
    if (*text == "null" || *text == "*") {
      reader.Error(entry.mark, entry.path,
                   Quote(*text) +
                       " is not allowed: list the origins of the sites whose pages call the "
                       "TRACER API (\"null\" is what sandboxed frames and local files send, "
                       "which any page can produce; \"*\" would be every site)");
      continue;
    }
    std::string origin = *text;
    if (origin.ends_with('/')) origin.pop_back();
    // "https://*.example.com[:port]": the rest must be an origin once "*." is taken out.
    const std::size_t scheme_end = origin.find("://");
    std::string checked = origin;
    if (scheme_end != std::string::npos && origin.compare(scheme_end + 3, 2, "*.") == 0) {
      checked.erase(scheme_end + 3, 2);
    }
    if (std::optional<std::string> problem = CheckOrigin(checked)) {
      reader.Error(entry.mark, entry.path,
                   *problem +
                       "; expected an origin such as \"https://shop.example.com\" or "
                       "\"https://*.example.com\"; got " +
                       Quote(*text));
      continue;
    }
    for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    origins.push_back(std::move(origin));
  }
  out.allowed_origins = std::move(origins);
}

}  // namespace

void ReadTracer(Reader& reader, const Field& field, TracerConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kTracerKeys);
  if (!fields) return;
  if (const Field* domain = fields->Find("domain")) {
    if (std::optional<std::string> value = reader.ReadString(*domain)) {
      const bool printable = std::all_of(value->begin(), value->end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
      });
      if (value->size() > kMaxTracerDomainLength || !printable) {
        reader.Error(domain->mark, domain->path,
                     "must be a host name (with an optional port) of at most " +
                         std::to_string(kMaxTracerDomainLength) +
                         " printable characters, such as \"queue.example.com\"");
      } else {
        out.domain = std::move(*value);
      }
    }
  }
  if (const Field* trust = fields->Find("trust_client_ip")) {
    if (std::optional<std::string> value = reader.ReadChoice(*trust, kBooleans)) {
      out.trust_client_ip = *value == "true";
    }
  }
  if (const Field* binding = fields->Find("identity_binding")) {
    if (std::optional<std::string> value = reader.ReadChoice(*binding, kIdentityBindings)) {
      out.identity_binding = *value;
    }
  }
  if (const Field* origins = fields->Find("allowed_origins")) {
    ReadAllowedOrigins(reader, *origins, out);
  }
}

void ReadAdmin(Reader& reader, const Field& field, AdminConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kAdminKeys);
  if (!fields) return;
  if (const Field* token = fields->Find("token")) {
    // Never quote the token back: error messages end up in logs.
    std::optional<std::string> value = reader.ReadString(*token);
    if (!value || value->empty()) return;  // empty = not configured
    const bool printable = std::all_of(value->begin(), value->end(), [](char c) {
      return c > ' ' && c < 0x7f;  // visible ASCII, no spaces: it travels in an HTTP header
    });
    if (!printable) {
      reader.Error(token->mark, token->path,
                   "must consist of visible ASCII characters, without spaces");
    } else if (value->size() < kMinAdminTokenLength) {
      reader.Error(token->mark, token->path,
                   "must be at least " + std::to_string(kMinAdminTokenLength) +
                       " characters long (leave it out to use VWR_ADMIN_TOKEN or a generated "
                       "token)");
    } else {
      out.token = std::move(*value);
    }
  }
}

void ReadSecrets(Reader& reader, const Field& field, SecretsConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kSecretsKeys);
  if (!fields) return;
  if (const Field* file = fields->Find("ticket_key_file")) {
    if (std::optional<std::string> value = reader.ReadString(*file)) out.ticket_key_file = *value;
  }
}

void ReadWeb(Reader& reader, const Field& field, WebConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kWebKeys);
  if (!fields) return;
  if (const Field* url = fields->Find("public_url")) {
    if (std::optional<std::string> value = reader.ReadString(*url); value && !value->empty()) {
      if (value->size() > kMaxPublicUrlLength) {
        reader.Error(url->mark, url->path,
                     "must be at most " + std::to_string(kMaxPublicUrlLength) + " characters");
      } else if (std::optional<std::string> problem = CheckOrigin(*value)) {
        reader.Error(url->mark, url->path,
                     *problem + "; such as \"https://queue.example.com\"; got " + Quote(*value));
      } else {
        if (value->ends_with('/')) value->pop_back();
        out.public_url = std::move(*value);
      }
    }
  }
  if (const Field* secure = fields->Find("cookie_secure")) {
    if (std::optional<std::string> value = reader.ReadChoice(*secure, kBooleans)) {
      out.cookie_secure = *value == "true";
    }
  }
  if (const Field* domain = fields->Find("cookie_domain")) {
    if (std::optional<std::string> value = reader.ReadString(*domain); value && !value->empty()) {
      // RFC 6265: a leading dot is ignored by browsers; the domain is stored without it.
      std::string name = value->front() == '.' ? value->substr(1) : *value;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (IsHostName(name)) {
        out.cookie_domain = std::move(name);
      } else {
        reader.Error(domain->mark, domain->path,
                     "must be a domain name such as \"example.com\" (the cookies then go to it "
                     "and every host under it), without a port; got " +
                         Quote(*value));
      }
    }
  }
}

void ReadTokens(Reader& reader, const Field& field, TokensConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kTokensKeys);
  if (!fields) return;
  if (const Field* issuer = fields->Find("issuer")) {
    if (std::optional<std::string> value = reader.ReadString(*issuer)) {
      const bool printable = std::all_of(value->begin(), value->end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
      });
      if (value->empty() || value->size() > kMaxIssuerLength || !printable) {
        reader.Error(issuer->mark, issuer->path,
                     "must be 1 to " + std::to_string(kMaxIssuerLength) +
                         " characters without control characters; got " + Quote(*value));
      } else {
        out.issuer = *value;
      }
    }
  }
  if (const Field* rotate = fields->Find("rotate_after")) {
    if (std::optional<milliseconds> value = reader.ReadDuration(*rotate)) {
      if (value->count() == 0 || (*value >= kMinRotateAfter && *value <= kMaxRotateAfter)) {
        out.rotate_after = *value;
      } else {
        reader.Error(rotate->mark, rotate->path,
                     "must be 0 (rotate only on demand) or between " +
                         FormatDuration(kMinRotateAfter) + " and " +
                         FormatDuration(kMaxRotateAfter));
      }
    }
  }
  if (const Field* dir = fields->Find("key_dir")) {
    if (std::optional<std::string> value = reader.ReadString(*dir)) {
      if (value->empty()) {
        reader.Error(dir->mark, dir->path,
                     "must not be empty (leave it out to use <data_dir>/keys)");
      } else {
        out.key_dir = *value;
      }
    }
  }
}

// identity: (docs/configuration.md#identity).
void ReadIdentity(Reader& reader, const Field& field, IdentityConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kIdentityKeys);
  if (!fields) return;
  const Field* mode = fields->Find("mode");
  bool mode_ok = true;
  if (mode != nullptr) {
    if (std::optional<std::string> value = reader.ReadChoice(*mode, kIdentityModes)) {
      out.mode = *value;
    } else {
      mode_ok = false;
    }
  }
  // Plain strings without control characters, at most `max` bytes.
  auto read_text = [&](std::string_view name, std::size_t max, std::string& into) {
    const Field* f = fields->Find(name);
    if (f == nullptr) return;
    std::optional<std::string> value = reader.ReadString(*f);
    if (!value) return;
    const bool printable = std::all_of(value->begin(), value->end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    });
    if (value->size() > max || !printable) {
      reader.Error(f->mark, f->path,
                   "must be at most " + std::to_string(max) +
                       " characters without control characters; got " + Quote(*value));
      return;
    }
    into = std::move(*value);
  };
  read_text("jwks_file", 4096, out.jwks_file);
  read_text("jwks_url", 2048, out.jwks_url);
  read_text("issuer", 512, out.issuer);
  read_text("audience", 512, out.audience);
  read_text("claim", 128, out.claim);
  read_text("cookie", 128, out.cookie);
  if (const Field* f = fields->Find("required")) {
    if (std::optional<std::string> value = reader.ReadChoice(*f, kBooleans)) {
      out.required = *value == "true";
    }
  }
  if (const Field* f = fields->Find("tracer_login_id")) {
    if (std::optional<std::string> value = reader.ReadChoice(*f, kBooleans)) {
      out.tracer_login_id = *value == "true";
    }
  }
  if (const Field* f = fields->Find("leeway")) {
    if (auto value = ReadDurationInRange(reader, *f, milliseconds(0), milliseconds(300'000))) {
      out.leeway = *value;
    }
  }
  if (const Field* f = fields->Find("refresh")) {
    if (auto value =
            ReadDurationInRange(reader, *f, milliseconds(10'000), milliseconds(86'400'000))) {
      out.refresh = *value;
    }
  }
  if (const Field* f = fields->Find("algorithms")) {
    if (!f->node.IsSequence()) {
      reader.Error(
          f->mark, f->path,
          "expected a list of JWS algorithms such as [RS256, ES256], got " + Describe(f->node));
    } else {
      for (std::size_t i = 0; i < f->node.size(); ++i) {
        const Field item{Item(f->path, i), f->node[i].Mark(), f->node[i]};
        if (std::optional<std::string> alg = reader.ReadChoice(item, kJwsAlgorithms)) {
          out.algorithms.push_back(*alg);
        }
      }
    }
  }
  if (out.claim.empty()) {
    const Field* f = fields->Find("claim");
    reader.Error(f->mark, f->path, "must not be empty: it names the claim that holds the user");
  }
  if (!out.cookie.empty() &&
      out.cookie.find_first_of(" \t\"(),/:;<=>?@[\\]{}") != std::string::npos) {
    const Field* f = fields->Find("cookie");
    reader.Error(f->mark, f->path, "must be a cookie name (a token: no spaces or separators)");
  }
  const bool has_file = !out.jwks_file.empty();
  const bool has_url = !out.jwks_url.empty();
  // Problems of the keys together point at the mode, or at the section when it has none.
  const YAML::Mark& at = mode != nullptr ? mode->mark : field.mark;
  if (!mode_ok) return;
  if (out.is_signed()) {
    if (has_file == has_url) {
      reader.Error(at, Child(field.path, "mode"),
                   "signed identities need the platform's keys: set exactly one of jwks_file "
                   "and jwks_url");
    }
    if (has_url && !out.jwks_url.starts_with("https://") && !out.jwks_url.starts_with("http://")) {
      const Field* f = fields->Find("jwks_url");
      reader.Error(f->mark, f->path, "must start with https:// (or http:// on a private network)");
    }
  } else if (has_file || has_url || out.tracer_login_id) {
    reader.Error(at, Child(field.path, "mode"),
                 "jwks_file, jwks_url and tracer_login_id take effect only with mode: signed");
  }
}

void ReadLog(Reader& reader, const Field& field, LogConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kLogKeys);
  if (!fields) return;
  if (const Field* level = fields->Find("level")) {
    if (std::optional<std::string> value = reader.ReadChoice(*level, kLogLevels)) {
      out.level = *value;
    }
  }
  if (const Field* format = fields->Find("format")) {
    if (std::optional<std::string> value = reader.ReadChoice(*format, kLogFormats)) {
      out.format = *value;
    }
  }
}

}  // namespace vwr::config::detail
