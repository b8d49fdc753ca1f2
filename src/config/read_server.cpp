// server: the listeners, their limits, TLS and the trusted proxies.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/address.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"
#include "util/ip_range.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

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
constexpr std::array<std::string_view, 6> kServerKeys = {
    "listen", "admin_listen", "workers", "limits", "tls", "trusted_proxies"};
constexpr std::array<std::string_view, 2> kTlsKeys = {"cert_file", "key_file"};
constexpr std::array<std::string_view, 10> kLimitsKeys = {
    "max_header_bytes", "max_body_bytes",         "admin_max_body_bytes",
    "header_timeout",   "body_timeout",           "keepalive_timeout",
    "max_connections",  "max_connections_per_ip", "max_requests_per_connection",
    "max_event_streams"};
constexpr std::size_t kMaxTrustedProxies = 256;

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
  read_count("max_event_streams", 1, kMaxConnectionCount, "no event streams: clients poll",
             out.max_event_streams);
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
      // Normalised to "<network>/<prefix>", which the server reads back (util::IpRange).
      if (std::optional<util::IpRange> range = util::IpRange::Parse(*text)) {
        out.push_back(range->ToString());
      } else {
        reader.Error(entry.mark, entry.path,
                     "expected an IP address or a CIDR block (\"10.0.0.0/8\", \"2001:db8::/32\"), "
                     "got " +
                         Quote(*text));
      }
    }
  }
}

}  // namespace

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

}  // namespace vwr::config::detail
