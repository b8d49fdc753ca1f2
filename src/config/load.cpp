// ParseConfig and LoadConfigFile: YAML text -> validated Config, or every error found.
//
// The reader walks the YAML tree by hand rather than with yaml-cpp's as<T>() conversions, so
// that it can keep going after a problem and report each one with its dotted key and line:
//
//   for each mapping:  unknown or repeated keys -> error at the key; known keys -> read
//   for each value:    wrong type or impossible value -> error at the key; default kept
//   for each room:     core::ValidatePolicy -> error at the policy key (or the room)
//   across rooms:      repeated ids
//
// A Config comes back only when no error was found. yaml-cpp throws on syntax errors; those
// exceptions (and any other) stop at ParseConfig and become ConfigErrors.

#include <arpa/inet.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>
#include <variant>

#include "config/address.hpp"
#include "config/config.hpp"
#include "config/duration.hpp"
#include "config/operators_section.hpp"
#include "util/text_template.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using Keys = std::span<const std::string_view>;

constexpr int kMaxWorkers = 1024;
// server.limits: generous bounds that still catch a slip of the finger (a unit left out).
constexpr std::int64_t kMinHeaderBytes = 1024;
constexpr std::int64_t kMaxHeaderBytes = 1024 * 1024;
constexpr std::int64_t kMinBodyBytes = 1024;
constexpr std::int64_t kMaxBodyBytes = 64 * 1024 * 1024;
constexpr std::int64_t kMaxConnectionCount = 10'000'000;
constexpr std::int64_t kMaxRequestsPerConnection = 1'000'000'000;
constexpr milliseconds kMinClientTimeout{100};
constexpr milliseconds kMaxClientTimeout{10 * 60'000};
constexpr milliseconds kMaxKeepaliveTimeout{60 * 60'000};
// store: how often the journal is fsynced (interval mode) and the state snapshotted.
constexpr milliseconds kMinFsyncInterval{1};
constexpr milliseconds kMaxFsyncInterval{10'000};
constexpr milliseconds kMinSnapshotInterval{1'000};
constexpr milliseconds kMaxSnapshotInterval{60 * 60'000};
constexpr std::size_t kMinAdminTokenLength = 16;
// tokens: issuer length, how often keys may rotate, how long a token may live.
constexpr std::size_t kMaxIssuerLength = 256;
constexpr milliseconds kMinRotateAfter{60'000};
constexpr milliseconds kMaxRotateAfter{366LL * 86'400'000};
constexpr milliseconds kMinTokenLifetime{1'000};
constexpr milliseconds kMaxTokenLifetime{7LL * 86'400'000};
// rooms[].entry_pass: from a minute (a quick way back) to a day (an event's whole day).
constexpr milliseconds kMinEntryPass{60'000};
constexpr milliseconds kMaxEntryPass{86'400'000};
// rooms[].pow_difficulty: 32 bits is ~4e9 hashes, minutes in a browser; more is no queue.
constexpr std::int64_t kMaxPowDifficulty = 32;
constexpr milliseconds kMinPowChallengeLifetime{1'000};
constexpr milliseconds kMaxPowChallengeLifetime{3'600'000};
constexpr std::size_t kMaxPublicUrlLength = 512;
constexpr std::size_t kMaxRoomIdLength = 64;
// A config file is a few kilobytes; this only stops a wrong path (a log, a device) early.
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;
// Longest part of an offending value quoted back in a message.
constexpr std::size_t kMaxQuotedLength = 60;

constexpr std::array<std::string_view, 13> kTopKeys = {
    "server", "store",    "admin", "secrets", "tokens",    "web",    "tracer",
    "log",    "identity", "rooms", "demo",    "operators", "console"};
constexpr std::array<std::string_view, 12> kIdentityKeys = {
    "mode",     "jwks_file", "jwks_url", "issuer",     "audience", "claim",
    "required", "leeway",    "refresh",  "algorithms", "cookie",   "tracer_login_id"};
constexpr std::array<std::string_view, 2> kIdentityModes = {"anonymous", "signed"};
constexpr std::array<std::string_view, 10> kJwsAlgorithms = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
constexpr std::array<std::string_view, 6> kServerKeys = {
    "listen", "admin_listen", "workers", "limits", "tls", "trusted_proxies"};
constexpr std::array<std::string_view, 4> kTracerKeys = {"domain", "trust_client_ip",
                                                         "identity_binding", "allowed_origins"};
constexpr std::array<std::string_view, 3> kIdentityBindings = {"cookie", "address", "none"};
constexpr std::size_t kMaxTrustedProxies = 256;
constexpr std::size_t kMaxAllowedOrigins = 256;
constexpr std::size_t kMaxTracerDomainLength = 253;
constexpr std::array<std::string_view, 2> kTlsKeys = {"cert_file", "key_file"};
constexpr std::array<std::string_view, 9> kLimitsKeys = {
    "max_header_bytes", "max_body_bytes",         "admin_max_body_bytes",
    "header_timeout",   "body_timeout",           "keepalive_timeout",
    "max_connections",  "max_connections_per_ip", "max_requests_per_connection"};
constexpr std::array<std::string_view, 6> kStoreKeys = {
    "kind", "data_dir", "fsync", "fsync_interval", "snapshot_interval", "redis"};
constexpr std::array<std::string_view, 7> kRedisKeys = {
    "url", "cluster", "nodes", "connect_timeout", "command_timeout", "lease", "key_prefix"};
constexpr std::array<std::string_view, 2> kStoreKinds = {"embedded", "redis"};
constexpr std::array<std::string_view, 2> kBooleans = {"true", "false"};
constexpr std::array<std::string_view, 2> kFailurePolicies = {"fail_closed", "fail_open"};
constexpr std::array<std::string_view, 3> kFsyncModes = {"always", "interval", "never"};
constexpr std::array<std::string_view, 1> kAdminKeys = {"token"};
constexpr std::array<std::string_view, 1> kSecretsKeys = {"ticket_key_file"};
constexpr std::array<std::string_view, 3> kTokensKeys = {"issuer", "rotate_after", "key_dir"};
constexpr std::array<std::string_view, 3> kWebKeys = {"public_url", "cookie_secure",
                                                      "cookie_domain"};
constexpr std::array<std::string_view, 2> kLogKeys = {"level", "format"};
constexpr std::array<std::string_view, 18> kRoomKeys = {"id",
                                                        "name",
                                                        "match",
                                                        "max_active",
                                                        "admit_rate",
                                                        "burst",
                                                        "session_timeout",
                                                        "claim_grace",
                                                        "mode",
                                                        "queue_limit",
                                                        "poll",
                                                        "failure_policy",
                                                        "page",
                                                        "token_lifetime",
                                                        "entry_pass",
                                                        "pow_difficulty",
                                                        "pow_challenge_lifetime",
                                                        "protection"};
constexpr std::array<std::string_view, 2> kPageKeys = {"template_file", "message"};
// A waiting page is a few kilobytes; the cap catches a wrong path (a log, an image).
constexpr std::size_t kMaxTemplateBytes = 256 * 1024;
// The operator's message is one line on a phone screen, not an article.
constexpr std::size_t kMaxPageMessageBytes = 1000;
constexpr std::array<std::string_view, 2> kMatchKeys = {"host", "path_prefix"};
constexpr std::array<std::string_view, 2> kPollKeys = {"min", "max"};
constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};
constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};

int LineOf(const YAML::Mark& mark) { return mark.is_null() || mark.line < 0 ? 0 : mark.line + 1; }
int ColumnOf(const YAML::Mark& mark) {
  return mark.is_null() || mark.line < 0 || mark.column < 0 ? 0 : mark.column + 1;
}

std::string Child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string Item(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// A value quoted back to the operator: shortened, control characters made visible.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuotedLength; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += c < 0x20 || c == 0x7f ? '?' : text[i];
  }
  if (text.size() > kMaxQuotedLength) out += "...";
  return out + "\"";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
  }
  return "something else";
}

std::string JoinNames(Keys names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

bool Contains(Keys names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string UnknownKeyMessage(std::string_view name, Keys allowed) {
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only close misspellings
  for (std::string_view candidate : allowed) {
    const std::size_t distance = EditDistance(name, candidate);
    if (distance < best_distance && distance < candidate.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best.empty()) return "unknown key (did you mean \"" + std::string(best) + "\"?)";
  return "unknown key (allowed here: " + JoinNames(allowed) + ")";
}

// A value in the document together with what is needed to report a problem with it.
struct Field {
  std::string path;  // dotted key, e.g. "rooms[0].poll.min"
  YAML::Mark mark;   // where problems point: the key, or the list item
  YAML::Node node;
};

// The known keys present in one mapping, in file order.
class Fields {
 public:
  const Field* Find(std::string_view name) const {
    for (const auto& [key, field] : fields_) {
      if (key == name) return &field;
    }
    return nullptr;
  }
  void Add(std::string name, Field field) { fields_.emplace_back(std::move(name), field); }

 private:
  std::vector<std::pair<std::string, Field>> fields_;
};

// Reads typed values out of the tree, recording one error per problem. Each Read* returns
// nullopt after recording the error, so the caller keeps the default and moves on.
class Reader {
 public:
  void Error(const YAML::Mark& mark, std::string key, std::string message) {
    errors_.push_back(
        ConfigError{LineOf(mark), ColumnOf(mark), std::move(key), std::move(message)});
  }

  // Errors in file order (stable: errors on one spot keep the order they were found in).
  std::vector<ConfigError> TakeErrors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) {
                       return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                     });
    return std::move(errors_);
  }

  // A mapping whose keys must be among `allowed`. An empty value (a section whose keys are all
  // commented out) reads as an empty mapping.
  std::optional<Fields> ReadMap(const Field& field, Keys allowed) {
    Fields fields;
    if (field.node.IsNull()) return fields;
    if (!field.node.IsMap()) {
      Error(field.mark, field.path,
            "expected a mapping (keys: " + JoinNames(allowed) + "), got " + Describe(field.node));
      return std::nullopt;
    }
    std::map<std::string, int> first_line;
    for (auto it = field.node.begin(); it != field.node.end(); ++it) {
      // Copies: it-> yields a proxy, so references into it would dangle.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        Error(key.Mark(), field.path, "keys must be plain names, got " + Describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      std::string path = Child(field.path, name);
      if (!Contains(allowed, name)) {
        Error(key.Mark(), std::move(path), UnknownKeyMessage(name, allowed));
        continue;
      }
      if (auto [seen, inserted] = first_line.emplace(name, LineOf(key.Mark())); !inserted) {
        Error(key.Mark(), std::move(path),
              "duplicate key (first given at line " + std::to_string(seen->second) + ")");
        continue;
      }
      fields.Add(name, Field{std::move(path), key.Mark(), value});
    }
    return fields;
  }

  std::optional<std::string> ReadString(const Field& field) {
    if (field.node.IsScalar()) return field.node.Scalar();
    Error(field.mark, field.path, "expected a string, got " + Describe(field.node));
    return std::nullopt;
  }

  // A decimal integer that fits in 64 bits: digits with an optional leading '-'.
  std::optional<std::int64_t> ReadInt(const Field& field) {
    if (!field.node.IsScalar()) {
      Error(field.mark, field.path, "expected an integer, got " + Describe(field.node));
      return std::nullopt;
    }
    const std::string& text = field.node.Scalar();
    const std::size_t digits_start = !text.empty() && text.front() == '-' ? 1 : 0;
    if (text.size() == digits_start ||
        text.find_first_not_of("0123456789", digits_start) != std::string::npos) {
      Error(field.mark, field.path, "expected an integer, got " + Quote(text));
      return std::nullopt;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      Error(field.mark, field.path, Quote(text) + " does not fit in a 64-bit integer");
      return std::nullopt;
    }
    return value;
  }

  // A finite decimal number: "10", "0.5", "-2", "1e3". No hex, no ".5", no inf or nan.
  std::optional<double> ReadNumber(const Field& field) {
    if (!field.node.IsScalar()) {
      Error(field.mark, field.path, "expected a number, got " + Describe(field.node));
      return std::nullopt;
    }
    const std::string& text = field.node.Scalar();
    if (!IsDecimalNumber(text)) {
      Error(field.mark, field.path, "expected a number, got " + Quote(text));
      return std::nullopt;
    }
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
      Error(field.mark, field.path, Quote(text) + " is out of range");
      return std::nullopt;
    }
    return value;
  }

  std::optional<milliseconds> ReadDuration(const Field& field) {
    if (!field.node.IsScalar()) {
      Error(
          field.mark, field.path,
          "expected a duration such as \"20s\", \"1500ms\" or \"5m\", got " + Describe(field.node));
      return std::nullopt;
    }
    const std::string& text = field.node.Scalar();
    if (std::optional<milliseconds> value = ParseDuration(text)) return value;
    if (!text.empty() && text.front() == '-') {
      Error(field.mark, field.path, "must not be negative, got " + Quote(text));
    } else {
      Error(field.mark, field.path,
            "expected a duration: a number and a unit (ms, s, m, h, d) such as \"20s\", "
            "\"1500ms\" or \"1.5s\", in whole milliseconds; got " +
                Quote(text));
    }
    return std::nullopt;
  }

  // A string that must be one of `allowed`.
  std::optional<std::string> ReadChoice(const Field& field, Keys allowed) {
    std::optional<std::string> text = ReadString(field);
    if (!text) return std::nullopt;
    if (Contains(allowed, *text)) return text;
    Error(field.mark, field.path, "must be one of " + JoinNames(allowed) + "; got " + Quote(*text));
    return std::nullopt;
  }

 private:
  static bool IsDecimalNumber(std::string_view text) {
    std::size_t pos = 0;
    auto digits = [&] {
      const std::size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
      return pos > start;
    };
    if (pos < text.size() && text[pos] == '-') ++pos;
    if (!digits()) return false;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      if (!digits()) return false;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
      if (!digits()) return false;
    }
    return pos == text.size();
  }

  std::vector<ConfigError> errors_;
};

// ---- values with a range ----

// An integer in min..max; nullopt (after recording the error) otherwise. With `zero_means`, 0 is
// allowed too and the message says what it means ("no limit").
std::optional<std::int64_t> ReadIntInRange(Reader& reader, const Field& field, std::int64_t min,
                                           std::int64_t max, std::string_view zero_means = {}) {
  const std::optional<std::int64_t> value = reader.ReadInt(field);
  if (!value) return std::nullopt;
  if ((*value >= min && *value <= max) || (*value == 0 && !zero_means.empty())) return value;
  const std::string low =
      zero_means.empty() ? std::to_string(min) : "0 (" + std::string(zero_means) + ")";
  reader.Error(field.mark, field.path, "must be between " + low + " and " + std::to_string(max));
  return std::nullopt;
}

std::optional<milliseconds> ReadDurationInRange(Reader& reader, const Field& field,
                                                milliseconds min, milliseconds max) {
  const std::optional<milliseconds> value = reader.ReadDuration(field);
  if (!value) return std::nullopt;
  if (*value >= min && *value <= max) return value;
  reader.Error(field.mark, field.path,
               "must be between " + FormatDuration(min) + " and " + FormatDuration(max));
  return std::nullopt;
}

// ---- server, store, admin, secrets, log ----

bool IsWildcardAddress(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// Two listeners that cannot both bind. Port 0 (kernel's choice) never conflicts.
bool Conflict(const HostPort& a, const HostPort& b) {
  if (a.port == 0 || a.port != b.port) return false;
  return a.host == b.host || IsWildcardAddress(a.host) || IsWildcardAddress(b.host);
}

// An address to listen on. A host name is allowed (the server resolves it at start and binds the
// first address it gets), but an IP address says exactly which interface is meant.
std::optional<HostPort> ReadListenAddress(Reader& reader, const Field& field) {
  std::optional<std::string> text = reader.ReadString(field);
  if (!text) return std::nullopt;
  std::optional<HostPort> address = ParseHostPort(*text);
  if (!address) {
    reader.Error(field.mark, field.path,
                 "expected \"host:port\" with a port in 0..65535, such as \"127.0.0.1:8080\", "
                 "\"0.0.0.0:8080\" or \"[::1]:8080\"; got " +
                     Quote(*text));
    return std::nullopt;
  }
  return address;
}

void ReadLimits(Reader& reader, const Field& field, ServerLimits& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kLimitsKeys);
  if (!fields) return;
  auto read_count = [&](std::string_view name, std::int64_t min, std::int64_t max,
                        std::string_view zero_means, std::size_t& value) {
    if (const Field* f = fields->Find(name)) {
      if (auto v = ReadIntInRange(reader, *f, min, max, zero_means)) {
        value = static_cast<std::size_t>(*v);
      }
    }
  };
  auto read_duration = [&](std::string_view name, milliseconds max, milliseconds& value) {
    if (const Field* f = fields->Find(name)) {
      if (auto v = ReadDurationInRange(reader, *f, kMinClientTimeout, max)) value = *v;
    }
  };
  read_count("max_header_bytes", kMinHeaderBytes, kMaxHeaderBytes, {}, out.max_header_bytes);
  read_count("max_body_bytes", kMinBodyBytes, kMaxBodyBytes, {}, out.max_body_bytes);
  read_count("admin_max_body_bytes", kMinBodyBytes, kMaxBodyBytes, {}, out.admin_max_body_bytes);
  read_duration("header_timeout", kMaxClientTimeout, out.header_timeout);
  read_duration("body_timeout", kMaxClientTimeout, out.body_timeout);
  read_duration("keepalive_timeout", kMaxKeepaliveTimeout, out.keepalive_timeout);
  read_count("max_connections", 1, kMaxConnectionCount, "no limit", out.max_connections);
  read_count("max_connections_per_ip", 1, kMaxConnectionCount, "no limit",
             out.max_connections_per_ip);
  read_count("max_requests_per_connection", 1, kMaxRequestsPerConnection, "no limit",
             out.max_requests_per_connection);
}

// The certificate and its key come as a pair: a listener with one and not the other cannot speak
// TLS, and falling back to plain HTTP would quietly expose what the operator meant to protect.
void ReadTls(Reader& reader, const Field& field, TlsConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kTlsKeys);
  if (!fields) return;
  const Field* cert = fields->Find("cert_file");
  const Field* key = fields->Find("key_file");
  bool ok = true;
  // An empty string is the same as a left-out key, as for the other file keys.
  auto read_path = [&](const Field* f, std::string& value) {
    if (f == nullptr) return;
    if (std::optional<std::string> text = reader.ReadString(*f)) {
      value = *text;
    } else {
      ok = false;
    }
  };
  TlsConfig tls;
  read_path(cert, tls.cert_file);
  read_path(key, tls.key_file);
  if (!ok) return;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    const bool cert_missing = tls.cert_file.empty();
    const Field* given = cert_missing ? key : cert;
    reader.Error(given->mark, Child(field.path, cert_missing ? "cert_file" : "key_file"),
                 std::string("missing: server.tls.") + (cert_missing ? "key_file" : "cert_file") +
                     " is set, and TLS needs both the certificate and its private key (leave "
                     "both out for plain HTTP)");
    return;
  }
  out = std::move(tls);
}

// "10.0.0.0/8", "2001:db8::/32", "192.0.2.1": normalised to "<network>/<prefix>"; nullopt when
// it is not an address or a block (http::ParseCidr reads the normalised text).
std::optional<std::string> NormaliseCidr(std::string_view text) {
  std::string_view address_text = text;
  std::optional<unsigned> prefix;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    address_text = text.substr(0, slash);
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    prefix = static_cast<unsigned>(std::stoul(std::string(digits)));
  }
  boost::system::error_code ec;
  boost::asio::ip::address address = boost::asio::ip::make_address(std::string(address_text), ec);
  if (ec) return std::nullopt;
  const unsigned max = address.is_v4() ? 32 : 128;
  const unsigned length = prefix.value_or(max);
  if (length > max) return std::nullopt;
  if (address.is_v4()) {
    const std::uint32_t mask =
        length == 0 ? 0 : (length >= 32 ? 0xffffffffU : ~((std::uint32_t{1} << (32 - length)) - 1));
    address = boost::asio::ip::address_v4(address.to_v4().to_uint() & mask);
  } else {
    boost::asio::ip::address_v6::bytes_type bytes = address.to_v6().to_bytes();
    unsigned bits = length;
    for (auto& byte : bytes) {
      const unsigned keep = bits >= 8 ? 8 : bits;
      byte = static_cast<unsigned char>(byte & (keep == 0 ? 0 : 0xff << (8 - keep)));
      bits -= keep;
    }
    address = boost::asio::ip::address_v6(bytes);
  }
  return address.to_string() + "/" + std::to_string(length);
}

void ReadTrustedProxies(Reader& reader, const Field& field, std::vector<std::string>& out) {
  if (field.node.IsNull()) return;
  if (!field.node.IsSequence()) {
    reader.Error(field.mark, field.path,
                 "expected a list of addresses or CIDR blocks, such as [\"10.0.0.0/8\", \"::1\"]");
    return;
  }
  if (field.node.size() > kMaxTrustedProxies) {
    reader.Error(field.mark, field.path,
                 "lists more than " + std::to_string(kMaxTrustedProxies) + " entries");
    return;
  }
  for (std::size_t i = 0; i < field.node.size(); ++i) {
    const YAML::Node item = field.node[i];
    const Field entry{field.path + "[" + std::to_string(i) + "]", item.Mark(), item};
    if (std::optional<std::string> text = reader.ReadString(entry)) {
      if (std::optional<std::string> cidr = NormaliseCidr(*text)) {
        out.push_back(std::move(*cidr));
      } else {
        reader.Error(entry.mark, entry.path,
                     "expected an IP address or a CIDR block (\"10.0.0.0/8\", \"2001:db8::/32\"), "
                     "got " +
                         Quote(*text));
      }
    }
  }
}

std::optional<std::string> CheckOrigin(std::string_view url);

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

void ReadServer(Reader& reader, const Field& field, ServerConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kServerKeys);
  if (!fields) return;
  bool addresses_ok = true;
  const Field* listen = fields->Find("listen");
  const Field* admin_listen = fields->Find("admin_listen");
  if (listen) {
    std::optional<HostPort> address = ReadListenAddress(reader, *listen);
    addresses_ok = addresses_ok && address;
    if (address) out.listen = *address;
  }
  if (admin_listen) {
    std::optional<HostPort> address = ReadListenAddress(reader, *admin_listen);
    addresses_ok = addresses_ok && address;
    if (address) out.admin_listen = *address;
  }
  if (addresses_ok && Conflict(out.listen, out.admin_listen)) {
    // Only one of them may have been written; blame that one.
    if (admin_listen != nullptr) {
      reader.Error(admin_listen->mark, admin_listen->path,
                   "must not use the same port as server.listen (" + out.listen.ToString() +
                       "); the admin API needs its own listener");
    } else {
      reader.Error(listen->mark, listen->path,
                   "must not use the same port as server.admin_listen (" +
                       out.admin_listen.ToString() + " by default); move one of them");
    }
  }
  if (const Field* workers = fields->Find("workers")) {
    if (std::optional<std::int64_t> value = reader.ReadInt(*workers)) {
      if (*value < 0 || *value > kMaxWorkers) {
        reader.Error(workers->mark, workers->path,
                     "must be between 0 (one per CPU core) and " + std::to_string(kMaxWorkers));
      } else {
        out.workers = static_cast<int>(*value);
      }
    }
  }
  if (const Field* limits = fields->Find("limits")) ReadLimits(reader, *limits, out.limits);
  if (const Field* tls = fields->Find("tls")) ReadTls(reader, *tls, out.tls);
  if (const Field* proxies = fields->Find("trusted_proxies")) {
    ReadTrustedProxies(reader, *proxies, out.trusted_proxies);
  }
}

// Why `url` is not a Redis URL, or nullopt. Never repeats the URL (it may hold a password).
std::optional<std::string> CheckRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    return std::string("must start with redis:// (redis://[[user]:password@]host[:port][/db])");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':') return std::string("has no host");
  if (authority.find(':') != std::string_view::npos && authority.front() != '[') {
    if (!ParseHostPort(authority)) return std::string("has a port that is not 1..65535");
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (db.size() > 5 || db.find_first_not_of("0123456789") != db.npos)) {
      return std::string("has a database that is not a number");
    }
  }
  return std::nullopt;
}

void ReadRedis(Reader& reader, const Field& field, RedisConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kRedisKeys);
  if (!fields) return;
  if (const Field* url = fields->Find("url")) {
    if (std::optional<std::string> value = reader.ReadString(*url)) {
      // The password may be in it: never quote the URL back.
      if (std::optional<std::string> problem = CheckRedisUrl(*value)) {
        reader.Error(url->mark, url->path, *problem);
      } else {
        out.url = *value;
      }
    }
  }
  if (const Field* cluster = fields->Find("cluster")) {
    if (std::optional<std::string> value = reader.ReadChoice(*cluster, kBooleans)) {
      out.cluster = *value == "true";
    }
  }
  if (const Field* nodes = fields->Find("nodes")) {
    if (!nodes->node.IsSequence()) {
      reader.Error(nodes->mark, nodes->path, "expected a list of HOST:PORT");
    } else {
      for (std::size_t i = 0; i < nodes->node.size(); ++i) {
        const YAML::Node item = nodes->node[i];
        const Field entry{nodes->path + "[" + std::to_string(i) + "]", item.Mark(), item};
        if (std::optional<std::string> text = reader.ReadString(entry)) {
          if (std::optional<HostPort> hp = ParseHostPort(*text); hp && hp->port != 0) {
            out.nodes.push_back(*hp);
          } else {
            reader.Error(entry.mark, entry.path, "expected HOST:PORT, got " + Quote(*text));
          }
        }
      }
    }
  }
  // More seeds without cluster: true would be ignored: the URL's Redis would be taken for the
  // only one, and every room on another master would stay unavailable.
  if (const Field* nodes = fields->Find("nodes");
      nodes != nullptr && !out.cluster && !out.nodes.empty()) {
    reader.Error(nodes->mark, nodes->path,
                 "lists seeds of a Redis Cluster: set store.redis.cluster: true, or remove it");
  }
  // A Redis Cluster has database 0 only: a URL naming another would be silently ignored.
  if (const Field* url = fields->Find("url"); url != nullptr && out.cluster) {
    const std::string_view text = out.url;
    const std::size_t scheme = text.find("://");
    const std::string_view rest = scheme == std::string_view::npos ? text : text.substr(scheme + 3);
    if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
      const std::string_view db = rest.substr(slash + 1);
      if (!db.empty() && db.find_first_not_of('0') != std::string_view::npos) {
        reader.Error(url->mark, url->path,
                     "names a database other than 0, which a Redis Cluster does not have: "
                     "remove it (or end the URL with /0)");
      }
    }
  }
  auto duration = [&](const char* key, std::chrono::milliseconds& target, milliseconds min,
                      milliseconds max) {
    if (const Field* f = fields->Find(key)) {
      if (auto value = ReadDurationInRange(reader, *f, min, max)) target = *value;
    }
  };
  duration("connect_timeout", out.connect_timeout, milliseconds(10), milliseconds(60'000));
  duration("command_timeout", out.command_timeout, milliseconds(10), milliseconds(60'000));
  duration("lease", out.lease, milliseconds(200), milliseconds(60'000));
  if (const Field* prefix = fields->Find("key_prefix")) {
    if (std::optional<std::string> value = reader.ReadString(*prefix)) {
      const bool ok =
          !value->empty() && value->size() <= 32 &&
          std::all_of(value->begin(), value->end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
          });
      if (ok) {
        out.key_prefix = *value;
      } else {
        reader.Error(prefix->mark, prefix->path,
                     "must be 1 to 32 letters, digits, '_', '.' or '-'; got " + Quote(*value));
      }
    }
  }
}

void ReadStore(Reader& reader, const Field& field, StoreConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kStoreKeys);
  if (!fields) return;
  if (const Field* kind = fields->Find("kind")) {
    if (std::optional<std::string> value = reader.ReadChoice(*kind, kStoreKinds)) out.kind = *value;
  }
  if (const Field* redis = fields->Find("redis")) ReadRedis(reader, *redis, out.redis);
  if (const Field* data_dir = fields->Find("data_dir")) {
    if (std::optional<std::string> value = reader.ReadString(*data_dir)) {
      if (value->empty()) {
        reader.Error(data_dir->mark, data_dir->path,
                     "must not be empty (leave it out to use \"./data\")");
      } else {
        out.data_dir = *value;
      }
    }
  }
  if (const Field* fsync = fields->Find("fsync")) {
    if (std::optional<std::string> value = reader.ReadChoice(*fsync, kFsyncModes)) {
      out.fsync = *value == "always"     ? FsyncMode::kAlways
                  : *value == "interval" ? FsyncMode::kInterval
                                         : FsyncMode::kNever;
    }
  }
  if (const Field* interval = fields->Find("fsync_interval")) {
    if (auto value = ReadDurationInRange(reader, *interval, kMinFsyncInterval, kMaxFsyncInterval)) {
      out.fsync_interval = *value;
    }
  }
  if (const Field* interval = fields->Find("snapshot_interval")) {
    if (auto value =
            ReadDurationInRange(reader, *interval, kMinSnapshotInterval, kMaxSnapshotInterval)) {
      out.snapshot_interval = *value;
    }
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

// ---- rooms ----

// One room as read, with the positions needed for the checks that span rooms.
struct RoomSource {
  RoomConfig room;
  std::string path;    // "rooms[2]"
  YAML::Mark mark;     // of the list item
  bool id_ok = false;  // room.id was given and valid
  YAML::Mark id_mark;
};

bool IsRoomId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRoomIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string ToLower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool IsMatchHost(std::string_view host) {
  if (host == "*") return true;
  if (host.starts_with("*.")) host.remove_prefix(2);
  return IsHostName(host);
}

bool IsPathPrefix(std::string_view path) {
  if (!path.starts_with('/')) return false;
  return std::none_of(path.begin(), path.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= ' ' || u == 0x7f || c == '?' || c == '#';
  });
}

void ReadMatchEntry(Reader& reader, const Field& field, RoomSource& source) {
  if (!field.node.IsMap()) {
    reader.Error(field.mark, field.path,
                 "expected a mapping with host and/or path_prefix, got " + Describe(field.node));
    return;
  }
  const std::optional<Fields> fields = reader.ReadMap(field, kMatchKeys);
  if (!fields) return;
  RoomMatch match;
  bool ok = true;
  if (const Field* host = fields->Find("host")) {
    std::optional<std::string> value = reader.ReadString(*host);
    if (value && IsMatchHost(*value)) {
      match.host = ToLower(*value);
    } else {
      if (value) {
        reader.Error(host->mark, host->path,
                     "must be \"*\" (any host), a host name such as \"shop.example.com\", or "
                     "\"*.example.com\" (any host under example.com), without a port; got " +
                         Quote(*value));
      }
      ok = false;
    }
  }
  if (const Field* path_prefix = fields->Find("path_prefix")) {
    std::optional<std::string> value = reader.ReadString(*path_prefix);
    if (value && IsPathPrefix(*value)) {
      match.path_prefix = *value;
    } else {
      if (value && !value->starts_with('/')) {
        reader.Error(path_prefix->mark, path_prefix->path,
                     "must start with \"/\"; got " + Quote(*value));
      } else if (value) {
        reader.Error(path_prefix->mark, path_prefix->path,
                     "must be a plain path without spaces, \"?\" or \"#\"; got " + Quote(*value));
      }
      ok = false;
    }
  }
  if (!ok) return;
  source.room.match.push_back(std::move(match));
}

void ReadMatches(Reader& reader, const Field* field, RoomSource& source) {
  if (field == nullptr) {
    source.room.match.push_back(RoomMatch{});
    return;
  }
  const YAML::Node& node = field->node;
  if (node.IsNull() || (node.IsSequence() && node.size() == 0)) {
    reader.Error(field->mark, field->path,
                 "must list at least one {host, path_prefix} entry (leave it out to match every "
                 "request)");
    return;
  }
  if (!node.IsSequence()) {
    reader.Error(field->mark, field->path,
                 "expected a list of {host, path_prefix} entries, got " + Describe(node));
    return;
  }
  std::size_t index = 0;
  for (const YAML::Node& entry : node) {
    const YAML::Mark mark = entry.IsNull() ? field->mark : entry.Mark();
    ReadMatchEntry(reader, Field{Item(field->path, index), mark, entry}, source);
    ++index;
  }
}

// Reads the policy keys of one room into `policy`, then reports what core::ValidatePolicy
// rejects, at the key's line, or the room's when the key was left out.
void ReadPolicy(Reader& reader, const Fields& fields, const RoomSource& source,
                core::Policy& policy) {
  std::map<std::string, YAML::Mark, std::less<>> written;  // policy key -> where
  std::set<std::string, std::less<>> bad;                  // already reported
  auto read = [&](std::string_view key, auto&& read_value, auto&& store) {
    const Field* field = fields.Find(key);
    if (field == nullptr) return;
    written.emplace(key, field->mark);
    if (auto value = read_value(*field)) {
      store(*value);
    } else {
      bad.emplace(key);
    }
  };
  auto int_reader = [&](const Field& f) { return reader.ReadInt(f); };
  auto number_reader = [&](const Field& f) { return reader.ReadNumber(f); };
  auto duration_reader = [&](const Field& f) { return reader.ReadDuration(f); };
  auto mode_reader = [&](const Field& f) -> std::optional<core::Mode> {
    std::optional<std::string> text = reader.ReadString(f);
    if (!text) return std::nullopt;
    if (std::optional<core::Mode> mode = core::ParseMode(*text)) return mode;
    reader.Error(f.mark, f.path,
                 "must be one of fifo, passthrough, reject, pause; got " + Quote(*text));
    return std::nullopt;
  };

  read("max_active", int_reader, [&](std::int64_t v) { policy.max_active = v; });
  read("admit_rate", number_reader, [&](double v) { policy.admit_rate = v; });
  read("burst", int_reader, [&](std::int64_t v) { policy.burst = v; });
  read("session_timeout", duration_reader, [&](milliseconds v) { policy.session_timeout = v; });
  read("claim_grace", duration_reader, [&](milliseconds v) { policy.claim_grace = v; });
  read("mode", mode_reader, [&](core::Mode v) { policy.mode = v; });
  read("queue_limit", int_reader, [&](std::int64_t v) { policy.queue_limit = v; });
  if (const Field* poll = fields.Find("poll")) {
    written.emplace("poll", poll->mark);
    if (std::optional<Fields> poll_fields = reader.ReadMap(*poll, kPollKeys)) {
      auto read_poll = [&](std::string_view name, milliseconds& out) {
        const std::string key = "poll." + std::string(name);
        const Field* field = poll_fields->Find(name);
        if (field == nullptr) return;
        written.emplace(key, field->mark);
        if (std::optional<milliseconds> value = reader.ReadDuration(*field)) {
          out = *value;
        } else {
          bad.insert(key);
        }
      };
      read_poll("min", policy.poll_min);
      read_poll("max", policy.poll_max);
    } else {
      bad.insert("poll.min");
      bad.insert("poll.max");
    }
  }

  for (const core::PolicyProblem& problem : core::ValidatePolicy(policy)) {
    if (bad.contains(problem.key)) continue;
    YAML::Mark mark = source.mark;
    if (auto it = written.find(problem.key); it != written.end()) {
      mark = it->second;
    } else if (auto poll_it = written.find("poll");
               problem.key.starts_with("poll.") && poll_it != written.end()) {
      mark = poll_it->second;
    }
    reader.Error(mark, Child(source.path, problem.key), problem.message);
  }
}

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

// A placeholder a page template may use: one of kPageVariables, or "t.<key>" (a built-in text;
// which keys exist is the web pages' business, and an unknown one renders as nothing).
bool IsPageVariable(std::string_view name) {
  if (name.starts_with("t.")) return name.size() > 2;
  return std::find(kPageVariables.begin(), kPageVariables.end(), name) != kPageVariables.end();
}

// Reads a page template file and checks it the way the server will use it; the problem, or
// nullopt with `html` filled.
std::optional<std::string> ReadTemplateFile(const std::string& path, std::string& html) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "\"" + path + "\" is a directory";
  // A pipe or a device would block the load or never end: only plain files are templates.
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    return "\"" + path + "\" is not a regular file";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "cannot read \"" + path + "\": " + std::generic_category().message(errno);
  }
  std::string text;
  std::array<char, 16 * 1024> buffer;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTemplateBytes) {
      return "\"" + path + "\" is larger than " + std::to_string(kMaxTemplateBytes / 1024) + " KiB";
    }
  }
  if (in.bad()) return "cannot read \"" + path + "\": read error";
  if (!IsUtf8(text)) return "\"" + path + "\" is not UTF-8 text";
  auto parsed = util::TextTemplate::Parse(text);
  if (const auto* error = std::get_if<util::TextTemplate::Error>(&parsed)) {
    return "\"" + path + "\" line " + std::to_string(error->line) + ", column " +
           std::to_string(error->column) + ": " + error->message;
  }
  for (std::string_view name : std::get<util::TextTemplate>(parsed).Names()) {
    if (!IsPageVariable(name)) {
      std::string known;
      for (std::string_view v : kPageVariables)
        known += (known.empty() ? "" : ", ") + std::string(v);
      return "\"" + path + "\": unknown placeholder {{" + std::string(name) +
             "}} (known: " + known + ", t.<text>)";
    }
  }
  html = std::move(text);
  return std::nullopt;
}

void ReadPage(Reader& reader, const Field& field, PageConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kPageKeys);
  if (!fields) return;
  if (const Field* file = fields->Find("template_file")) {
    if (std::optional<std::string> path = reader.ReadString(*file); path && !path->empty()) {
      std::string html;
      if (std::optional<std::string> problem = ReadTemplateFile(*path, html)) {
        reader.Error(file->mark, file->path, *problem);
      } else {
        out.template_file = *path;
        out.template_html = std::move(html);
      }
    }
  }
  if (const Field* message = fields->Find("message")) {
    if (std::optional<std::string> text = reader.ReadString(*message)) {
      const bool control = std::any_of(text->begin(), text->end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      });
      if (text->size() > kMaxPageMessageBytes) {
        reader.Error(message->mark, message->path,
                     "must be at most " + std::to_string(kMaxPageMessageBytes) + " bytes");
      } else if (control || !IsUtf8(*text)) {
        reader.Error(message->mark, message->path,
                     "must be one line of UTF-8 text (no line breaks or control characters)");
      } else {
        out.message = std::move(*text);
      }
    }
  }
}

// ---- rooms[].protection ----

constexpr std::array<std::string_view, 11> kProtectionKeys = {
    "mode",       "window",     "limit_per_ip", "limit_per_identity",
    "block_time", "joins_mode", "joins_window", "joins_per_ip",
    "deny",       "allow",      "unblock"};
constexpr std::array<std::string_view, 3> kProtectionModes = {"off", "shadow", "enforce"};
constexpr std::array<std::string_view, 2> kProtectionListKeys = {"ips", "identities"};
constexpr milliseconds kMinProtectionWindow{1'000};
constexpr milliseconds kMaxProtectionWindow{3'600'000};
constexpr milliseconds kMinBlockTime{1'000};
constexpr milliseconds kMaxBlockTime{7LL * 86'400'000};
constexpr std::int64_t kMaxProtectionLimit = 1'000'000'000;
constexpr std::size_t kMaxIdentityBytes = 256;  // as a userId

// "192.0.2.7", "2001:db8::1", or either with "/prefix" (0..32, 0..128).
bool IsIpOrCidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned char buffer[16];
  int max_prefix = 0;
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    max_prefix = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  const std::string_view digits = text.substr(slash + 1);
  int prefix = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size() &&
         prefix >= 0 && prefix <= max_prefix;
}

void ReadProtectionList(Reader& reader, const Field& field, ProtectionList& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kProtectionListKeys);
  if (!fields) return;
  auto read_items = [&](const Field* items, bool ips, std::vector<std::string>& into) {
    if (items == nullptr || items->node.IsNull()) return;
    if (!items->node.IsSequence()) {
      reader.Error(items->mark, items->path, "expected a list, got " + Describe(items->node));
      return;
    }
    for (std::size_t i = 0; i < items->node.size(); ++i) {
      const Field item{Item(items->path, i), items->node[i].Mark(), items->node[i]};
      std::optional<std::string> value = reader.ReadString(item);
      if (!value) continue;
      if (ips && !IsIpOrCidr(*value)) {
        reader.Error(
            item.mark, item.path,
            "expected an IP address or a CIDR block such as \"10.0.0.0/8\"; got " + Quote(*value));
      } else if (!ips && (value->empty() || value->size() > kMaxIdentityBytes)) {
        reader.Error(item.mark, item.path, "must be 1 to 256 bytes");
      } else {
        into.push_back(std::move(*value));
      }
    }
  };
  read_items(fields->Find("ips"), true, out.ips);
  read_items(fields->Find("identities"), false, out.identities);
}

void ReadProtection(Reader& reader, const Field& field, ProtectionConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kProtectionKeys);
  if (!fields) return;
  if (const Field* mode = fields->Find("mode")) {
    if (std::optional<std::string> value = reader.ReadChoice(*mode, kProtectionModes)) {
      out.mode = *value;
    }
  }
  if (const Field* window = fields->Find("window")) {
    if (auto value =
            ReadDurationInRange(reader, *window, kMinProtectionWindow, kMaxProtectionWindow)) {
      out.window = *value;
    }
  }
  if (const Field* limit = fields->Find("limit_per_ip")) {
    if (auto value = ReadIntInRange(reader, *limit, 1, kMaxProtectionLimit, "no limit")) {
      out.limit_per_ip = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* limit = fields->Find("limit_per_identity")) {
    if (auto value = ReadIntInRange(reader, *limit, 1, kMaxProtectionLimit, "no limit")) {
      out.limit_per_identity = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* block = fields->Find("block_time")) {
    if (auto value = ReadDurationInRange(reader, *block, kMinBlockTime, kMaxBlockTime)) {
      if (value->count() % 1000 != 0) {
        // Retry-After and the lists' expiry are whole seconds.
        reader.Error(block->mark, block->path,
                     "must be a whole number of seconds; got " + FormatDuration(*value));
      } else {
        out.block_time = *value;
      }
    }
  }
  if (const Field* mode = fields->Find("joins_mode")) {
    if (std::optional<std::string> value = reader.ReadChoice(*mode, kProtectionModes)) {
      out.joins_mode = *value;
    }
  }
  if (const Field* window = fields->Find("joins_window")) {
    if (auto value =
            ReadDurationInRange(reader, *window, kMinProtectionWindow, kMaxProtectionWindow)) {
      out.joins_window = *value;
    }
  }
  if (const Field* limit = fields->Find("joins_per_ip")) {
    if (auto value = ReadIntInRange(reader, *limit, 1, kMaxProtectionLimit, "no limit")) {
      out.joins_per_ip = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* list = fields->Find("deny")) ReadProtectionList(reader, *list, out.deny);
  if (const Field* list = fields->Find("allow")) ReadProtectionList(reader, *list, out.allow);
  if (const Field* list = fields->Find("unblock")) ReadProtectionList(reader, *list, out.unblock);
}

std::optional<RoomSource> ReadRoom(Reader& reader, const Field& field) {
  if (!field.node.IsMap()) {
    reader.Error(field.mark, field.path,
                 "expected a room (a mapping with at least an id), got " + Describe(field.node));
    return std::nullopt;
  }
  const std::optional<Fields> fields = reader.ReadMap(field, kRoomKeys);
  if (!fields) return std::nullopt;
  RoomSource source;
  source.path = field.path;
  source.mark = field.mark;

  if (const Field* id = fields->Find("id")) {
    source.id_mark = id->mark;
    if (std::optional<std::string> value = reader.ReadString(*id)) {
      if (IsRoomId(*value)) {
        source.room.id = *value;
        source.id_ok = true;
      } else {
        reader.Error(
            id->mark, id->path,
            "must be 1 to 64 characters from A-Z, a-z, 0-9, \"_\" and \"-\"; got " + Quote(*value));
      }
    }
  } else {
    reader.Error(field.mark, Child(field.path, "id"), "missing: every room needs an id");
  }

  source.room.name = source.room.id;
  if (const Field* name = fields->Find("name")) {
    if (std::optional<std::string> value = reader.ReadString(*name)) {
      if (value->empty()) {
        reader.Error(name->mark, name->path, "must not be empty (leave it out to use the id)");
      } else {
        source.room.name = *value;
      }
    }
  }

  ReadMatches(reader, fields->Find("match"), source);
  ReadPolicy(reader, *fields, source, source.room.policy);
  if (const Field* page = fields->Find("page")) ReadPage(reader, *page, source.room.page);
  if (const Field* failure = fields->Find("failure_policy")) {
    if (std::optional<std::string> value = reader.ReadChoice(*failure, kFailurePolicies)) {
      source.room.failure_policy =
          *value == "fail_open" ? FailurePolicy::kFailOpen : FailurePolicy::kFailClosed;
    }
  }
  if (const Field* lifetime = fields->Find("token_lifetime")) {
    if (auto value = ReadDurationInRange(reader, *lifetime, kMinTokenLifetime, kMaxTokenLifetime)) {
      if (value->count() % 1000 != 0) {
        // Token times (iat, exp) are whole unix seconds.
        reader.Error(lifetime->mark, lifetime->path,
                     "must be a whole number of seconds; got " + FormatDuration(*value));
      } else {
        source.room.token_lifetime = *value;
      }
    }
  }
  if (const Field* protection = fields->Find("protection")) {
    ReadProtection(reader, *protection, source.room.protection);
  }
  if (const Field* pass = fields->Find("entry_pass")) {
    if (auto value = ReadDurationInRange(reader, *pass, kMinEntryPass, kMaxEntryPass)) {
      if (value->count() % 1000 != 0) {
        // A pass's times (iat, exp) are whole unix seconds, as a token's.
        reader.Error(pass->mark, pass->path,
                     "must be a whole number of seconds; got " + FormatDuration(*value));
      } else {
        source.room.entry_pass = *value;
      }
    }
  }
  if (const Field* pow = fields->Find("pow_difficulty")) {
    if (auto value = ReadIntInRange(reader, *pow, 0, kMaxPowDifficulty)) {
      source.room.pow_difficulty = static_cast<int>(*value);
    }
  }
  if (const Field* lifetime = fields->Find("pow_challenge_lifetime")) {
    if (auto value = ReadDurationInRange(reader, *lifetime, kMinPowChallengeLifetime,
                                         kMaxPowChallengeLifetime)) {
      source.room.pow_challenge_lifetime = *value;
    }
  }
  return source;
}

// Room ids must be unique: the API addresses rooms by id (/api/v1/rooms/{id}/...).
void CheckRoomIds(Reader& reader, const std::vector<RoomSource>& rooms) {
  std::map<std::string, const RoomSource*, std::less<>> by_id;
  for (const RoomSource& source : rooms) {
    if (!source.id_ok) continue;
    if (auto [first, inserted] = by_id.emplace(source.room.id, &source); !inserted) {
      reader.Error(source.id_mark, Child(source.path, "id"),
                   "duplicate room id " + Quote(source.room.id) + " (also " + first->second->path +
                       ", line " + std::to_string(LineOf(first->second->id_mark)) + ")");
    }
  }
  // Room X's entry pass cookie is vwr_pass_X, which is also the admission cookie of a room with
  // id "pass_X": the two rooms would overwrite each other's cookies.
  constexpr std::string_view kPassPrefix = "pass_";
  for (const RoomSource& source : rooms) {
    if (!source.id_ok || !source.room.id.starts_with(kPassPrefix)) continue;
    const auto other = by_id.find(std::string_view(source.room.id).substr(kPassPrefix.size()));
    if (other != by_id.end()) {
      reader.Error(source.id_mark, Child(source.path, "id"),
                   "room id " + Quote(source.room.id) + " clashes with room " +
                       Quote(other->second->room.id) + " (" + other->second->path +
                       "): its admission cookie vwr_" + source.room.id +
                       " is that room's entry pass cookie; choose another id");
    }
  }
}

void ReadRooms(Reader& reader, const Field& field, std::vector<RoomConfig>& out) {
  out.clear();
  const YAML::Node& node = field.node;
  if (node.IsNull() || (node.IsSequence() && node.size() == 0)) {
    reader.Error(field.mark, field.path,
                 "must list at least one room (leave \"rooms\" out to get the default room)");
    return;
  }
  if (!node.IsSequence()) {
    reader.Error(field.mark, field.path, "expected a list of rooms, got " + Describe(node));
    return;
  }
  std::vector<RoomSource> rooms;
  std::size_t index = 0;
  for (const YAML::Node& item : node) {
    // An empty item's mark points at whatever follows it; the list's key is less misleading.
    const YAML::Mark mark = item.IsNull() ? field.mark : item.Mark();
    if (std::optional<RoomSource> room =
            ReadRoom(reader, Field{Item(field.path, index), mark, item})) {
      rooms.push_back(std::move(*room));
    }
    ++index;
  }
  CheckRoomIds(reader, rooms);
  for (RoomSource& source : rooms) out.push_back(std::move(source.room));
}

// ---- the document ----

// Finds where each document in the text starts, without building them, so that the reader can
// insist on exactly one. It also guards against a yaml-cpp 0.7 bug (issue #1040): a token that
// starts no node, such as a stray "," at the top level, is never consumed, so every call yields
// another empty document at the same place and YAML::LoadAll loops while eating memory (and
// YAML::Load returns an empty document as if the file were fine). A document starting where the
// previous one started is that case, and is reported as the syntax error it is.
class DocumentStarts final : public YAML::EventHandler {
 public:
  static std::vector<YAML::Mark> Scan(const std::string& text) {
    std::istringstream input(text);
    YAML::Parser parser(input);
    DocumentStarts handler;
    while (parser.HandleNextDocument(handler)) {
      const std::vector<YAML::Mark>& starts = handler.starts_;
      if (starts.size() >= 2 && starts.back().pos == starts[starts.size() - 2].pos) {
        const YAML::Mark at = starts.back();
        std::string message = "unexpected character";
        if (at.pos >= 0 && static_cast<std::size_t>(at.pos) < text.size()) {
          message += " " + Quote(text.substr(static_cast<std::size_t>(at.pos), 1));
        }
        throw YAML::ParserException(at, message);
      }
    }
    return std::move(handler.starts_);
  }

  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> starts_;
};

std::optional<Config> ReadDocument(Reader& reader, std::string_view text) {
  const std::string owned(text);
  const std::vector<YAML::Mark> starts = DocumentStarts::Scan(owned);
  Config config = DefaultConfig();
  if (starts.empty()) return config;  // empty, or only comments
  if (starts.size() > 1) {
    reader.Error(starts[1], "",
                 "found " + std::to_string(starts.size()) +
                     " YAML documents (separated by \"---\"); the file must hold exactly one");
  }
  const YAML::Node root = YAML::Load(owned);  // the first document
  if (!root.IsNull() && !root.IsMap()) {
    reader.Error(root.Mark(), "",
                 "the file must be a mapping of sections (" + JoinNames(kTopKeys) + "), got " +
                     Describe(root));
    return std::nullopt;
  }
  const std::optional<Fields> sections = reader.ReadMap(Field{"", root.Mark(), root}, kTopKeys);
  if (!sections) return std::nullopt;
  if (const Field* field = sections->Find("server")) ReadServer(reader, *field, config.server);
  if (const Field* field = sections->Find("store")) ReadStore(reader, *field, config.store);
  if (const Field* field = sections->Find("admin")) ReadAdmin(reader, *field, config.admin);
  if (const Field* field = sections->Find("secrets")) ReadSecrets(reader, *field, config.secrets);
  if (const Field* field = sections->Find("tokens")) ReadTokens(reader, *field, config.tokens);
  if (const Field* field = sections->Find("web")) ReadWeb(reader, *field, config.web);
  if (const Field* field = sections->Find("tracer")) ReadTracer(reader, *field, config.tracer);
  if (const Field* field = sections->Find("identity")) {
    ReadIdentity(reader, *field, config.identity);
  }
  if (const Field* field = sections->Find("log")) ReadLog(reader, *field, config.log);
  if (const Field* field = sections->Find("rooms")) ReadRooms(reader, *field, config.rooms);
  // operators_section.cpp: the console's operators and sessions.
  const SectionError section_error = [&](const YAML::Mark& m, std::string k, std::string msg) {
    reader.Error(m, std::move(k), std::move(msg));
  };
  if (const Field* f = sections->Find("operators")) {
    ReadOperatorsSection(f->node, f->mark, f->path, section_error, config.operators);
  }
  if (const Field* f = sections->Find("console")) {
    ReadConsoleSection(f->node, f->mark, f->path, section_error, config.console);
  }
  if (const Field* field = sections->Find("demo")) {
    if (std::optional<std::string> value = reader.ReadChoice(*field, kBooleans)) {
      config.demo = *value == "true";
    }
  }
  return config;
}

ParseResult OneError(std::string message) {
  ParseResult result;
  result.errors.push_back(ConfigError{0, 0, "", std::move(message)});
  return result;
}

}  // namespace

ParseResult ParseConfig(std::string_view yaml_text) {
  try {
    Reader reader;
    std::optional<Config> config;
    try {
      config = ReadDocument(reader, yaml_text);
    } catch (const YAML::DeepRecursion& e) {
      reader.Error(e.mark, "", "invalid YAML: lists or mappings nested too deeply");
    } catch (const YAML::Exception& e) {
      // Syntax errors (ParserException) carry the position; the message is yaml-cpp's own.
      reader.Error(e.mark, "", "invalid YAML: " + e.msg);
    }
    ParseResult result;
    result.errors = reader.TakeErrors();
    if (result.errors.empty()) {
      if (!config) return OneError("internal error: the configuration could not be read");
      result.config = std::move(config);
    }
    return result;
  } catch (const std::exception& e) {
    return OneError(std::string("cannot read the configuration: ") + e.what());
  } catch (...) {
    return OneError("cannot read the configuration: unknown error");
  }
}

ParseResult LoadConfigFile(const std::string& path) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return OneError("cannot read the file: it is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return OneError("cannot read the file: " + std::generic_category().message(errno));
    // Read in bounded steps rather than by size: the path may name a pipe or a device.
    std::string text;
    std::array<char, 64 * 1024> buffer;
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
      text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxFileBytes) {
        return OneError("cannot read the file: larger than " +
                        std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB");
      }
    }
    if (in.bad()) return OneError("cannot read the file: read error");
    return ParseConfig(text);
  } catch (const std::exception& e) {
    return OneError(std::string("cannot read the file: ") + e.what());
  } catch (...) {
    return OneError("cannot read the file: unknown error");
  }
}

}  // namespace vwr::config
