#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/controller.hpp"
#include "control/rule_set.hpp"
#include "control/schedule.hpp"
#include "control/signal_spec.hpp"
#include "core/policy.hpp"

// The service configuration: plain values, loaded once at start-up from a YAML file (see
// docs/configuration.md for every key). Loading reports every problem it finds, each with the
// dotted key and the line, so that `vwr config check` can list them all in one run. Nothing here
// throws: the functions return values, whatever the input.
namespace vwr::config {

// An address to listen on or connect to. `host` holds an IPv6 address without brackets.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;  // 0 = let the kernel choose (tests)

  // "127.0.0.1:8080", or "[::1]:8080" for an IPv6 address.
  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};

// Accepts "host:port" where host is an IPv4 address, a host name or a bracketed IPv6 address
// ("[::1]:8080") and port is a decimal number in 0..65535. Returns nullopt for anything else,
// including a missing host or port and an unbracketed IPv6 address.
std::optional<HostPort> ParseHostPort(std::string_view text);

// Which requests belong to a room, for routing by host and path in front of the API (the API
// itself addresses rooms by id). `host` is "*" (any), a host name, or "*.suffix" (any host under
// suffix), always lower case; `path_prefix` starts with "/". Rooms may overlap.
struct RoomMatch {
  std::string host = "*";
  std::string path_prefix = "/";

  bool operator==(const RoomMatch&) const = default;
};

// What a room does when its shared store cannot be reached: keep people out (fail_closed, the
// default: the protected service stays protected) or let them through (fail_open).
enum class FailurePolicy { kFailClosed, kFailOpen };

// The placeholders a waiting page template may use (docs/configuration.md#roomspage), besides
// "t.<key>" for the page's built-in texts in the visitor's language.
inline constexpr std::array<std::string_view, 11> kPageVariables = {
    "room_id", "room_name",  "message",       "position",    "people_ahead", "eta",
    "lang",    "return_url", "asset_version", "lang_ko_url", "lang_en_url"};

// How the waiting page (/wait/{room}) looks. The template is read when the configuration is
// loaded (and reloaded), so that a missing file or a bad placeholder is a config error.
struct PageConfig {
  std::string template_file;  // empty: the built-in page
  std::string template_html;  // the file's contents (checked: size, UTF-8, placeholders)
  std::string message;        // the operator's line on the page; may be replaced at run time

  bool operator==(const PageConfig&) const = default;
};

// One of a room's abuse protection lists: client addresses ("192.0.2.7", CIDR blocks such as
// "10.0.0.0/8" or "2001:db8::/32") and identities (user ids, TRACER loginId / wcCookie).
struct ProtectionList {
  std::vector<std::string> ips;
  std::vector<std::string> identities;

  bool operator==(const ProtectionList&) const = default;
};

// A room's abuse protection (rooms[].protection; docs/configuration.md#roomsprotection):
// repeated-request limits per client IP and per identity in fixed windows, the block that
// follows, a limit on joins per client address, and the operators' lists. Runtime additions
// (admin API, automatic blocks) are kept apart from these and survive reloads.
struct ProtectionConfig {
  std::string mode = "shadow";                   // off | shadow (count, do not refuse) | enforce
  std::chrono::milliseconds window{10'000};      // 1s..1h
  std::uint32_t limit_per_ip = 600;              // requests per window and address; 0 = no limit
  std::uint32_t limit_per_identity = 60;         // requests per window and identity; 0 = no limit
  std::chrono::milliseconds block_time{60'000};  // 1s..7d, whole seconds
  ProtectionList deny;                           // refused always (beats allow)
  ProtectionList allow;                          // admitted at once at join, never limited
  ProtectionList unblock;                        // exempt from the limits and temporary blocks
  // Joins per joins_window from one client address (an IPv6 client: its /64); 0 = no limit.
  // Its own mode, enforce by default: it stops one client taking thousands of places, and
  // never refuses a poll of a place held.
  std::string joins_mode = "enforce";              // off | shadow | enforce
  std::chrono::milliseconds joins_window{60'000};  // 1s..1h
  std::uint32_t joins_per_ip = 300;

  bool operator==(const ProtectionConfig&) const = default;
};

struct RoomConfig {
  std::string id;                // [A-Za-z0-9_-]{1,64}, unique
  std::string name;              // display name; the id when not configured
  std::vector<RoomMatch> match;  // never empty after loading
  // Passed core::ValidatePolicy. A room of the file abandons a waiting ticket after five
  // missed polls unless it says otherwise (rooms[].abandon_after_polls).
  core::Policy policy{.abandon_after_polls = 5};
  FailurePolicy failure_policy = FailurePolicy::kFailClosed;
  PageConfig page;
  // Lifetime of the admission tokens the room issues (exp - iat); whole seconds, 1s..7d.
  // nullopt: the room's policy.session_timeout (see TokenLifetime()).
  std::optional<std::chrono::milliseconds> token_lifetime;
  // How long after a visitor's first admission they may come back without queueing (an entry
  // pass, cookie vwr_pass_<id>); whole seconds, 1m..24h. nullopt: no entry pass.
  std::optional<std::chrono::milliseconds> entry_pass;
  // Proof of work on join (see api/challenge.hpp): leading zero bits of SHA-256 a join's
  // solution must have, 0..32; 0: none asked. pow_challenge_lifetime: how long a challenge from
  // GET /api/v1/rooms/{id}/challenge may be used, 1s..1h.
  int pow_difficulty = 0;
  std::chrono::milliseconds pow_challenge_lifetime{120'000};
  ProtectionConfig protection;
  // Automatic control of max_active / admit_rate from signals (docs/control.md); nullopt: none.
  std::optional<control::ControlSpec> control;

  // The lifetime tokens of this room get: token_lifetime, else the session timeout.
  std::chrono::seconds TokenLifetime() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
        token_lifetime.value_or(policy.session_timeout));
  }

  bool operator==(const RoomConfig&) const = default;
};

// What one client may cost the HTTP listeners: sizes, times and connection counts. Every value
// is validated on loading (ranges in docs/configuration.md). A count of 0 means no limit.
struct ServerLimits {
  std::size_t max_header_bytes = 8 * 1024;              // request line and header fields
  std::size_t max_body_bytes = 64 * 1024;               // public listener
  std::size_t admin_max_body_bytes = 1024 * 1024;       // admin listener
  std::chrono::milliseconds header_timeout{10'000};     // a whole request head, from its first byte
  std::chrono::milliseconds body_timeout{10'000};       // the body once the head is in; each answer
  std::chrono::milliseconds keepalive_timeout{60'000};  // idle between requests on one connection
  std::size_t max_connections = 10'000;                 // public listener, open at once
  std::size_t max_connections_per_ip = 256;             // public listener, per client address
  std::size_t max_requests_per_connection = 10'000;     // then the answer says Connection: close
  std::size_t max_event_streams = 5'000;                // public listener: tickets' event streams

  bool operator==(const ServerLimits&) const = default;
};

// HTTPS on the public listener: both files set, or neither (plain HTTP). Loading checks only
// that they come as a pair; whether the files hold a matching certificate and key is checked
// when the server (or `vwr config check`) builds its TLS context from them.
struct TlsConfig {
  std::string cert_file;  // PEM: the certificate, then any intermediates; empty = no TLS
  std::string key_file;   // PEM: the certificate's private key, unencrypted; empty = no TLS

  bool enabled() const { return !cert_file.empty(); }
  bool operator==(const TlsConfig&) const = default;
};

struct ServerConfig {
  HostPort listen{"127.0.0.1", 8080};        // the public (visitor) API
  HostPort admin_listen{"127.0.0.1", 8081};  // the admin API and metrics
  int workers = 0;                           // 0 = one per core
  ServerLimits limits;
  TlsConfig tls;  // the public listener only: the admin listener stays plain HTTP
  // The proxies whose X-Forwarded-For is believed (http::ClientIp): addresses or CIDR blocks,
  // normalised to "<network>/<prefix>" when loaded. Empty: the socket peer is the client.
  std::vector<std::string> trusted_proxies;

  bool operator==(const ServerConfig&) const = default;
};

// When the store's journal is flushed to disk, and so what a crash can lose (see
// docs/configuration.md): kAlways answers after fsync; kInterval answers once the change is
// written to the OS and fsyncs every fsync_interval; kNever leaves flushing to the OS.
enum class FsyncMode { kAlways, kInterval, kNever };

// "always", "interval", "never".
std::string_view FsyncModeName(FsyncMode mode);

// The shared store of several nodes (store.kind: redis); see docs/scale-out.md.
struct RedisConfig {
  std::string url = "redis://127.0.0.1:6379/0";  // redis://[[user]:password@]host[:port][/db]
  bool cluster = false;                          // a Redis Cluster; url's host is one seed
  std::vector<HostPort> nodes;                   // more cluster seeds
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds command_timeout{1'000};
  std::chrono::milliseconds lease{2'000};  // a room's tick lease; 200ms..60s
  std::string key_prefix = "vwr";          // [A-Za-z0-9_.-]{1,32}

  bool operator==(const RedisConfig&) const = default;
};

struct StoreConfig {
  std::string kind = "embedded";  // "embedded" (one node) or "redis" (several nodes)
  std::string data_dir = "./data";
  FsyncMode fsync = FsyncMode::kInterval;
  std::chrono::milliseconds fsync_interval{10};         // 1ms..10s; used by kInterval
  std::chrono::milliseconds snapshot_interval{60'000};  // 1s..1h
  RedisConfig redis;                                    // used by kind "redis"

  bool operator==(const StoreConfig&) const = default;
};

struct AdminConfig {
  std::string token;  // empty: env VWR_ADMIN_TOKEN, else generated by the app

  bool operator==(const AdminConfig&) const = default;
};

// A named operator of the admin API and the console (`operators:`; docs/configuration.md).
// The token is never written in the file: it is read at start from `token_file` (a file only
// its owner may read, like the admin token's) or the environment variable `token_env`.
struct OperatorConfig {
  std::string name;  // [A-Za-z0-9][A-Za-z0-9._@-]{0,63}, unique, not "admin"
  std::string role;  // viewer | operator | admin
  std::string token_file;
  std::string token_env;

  bool operator==(const OperatorConfig&) const = default;
};

// The operator console on the admin listener (`console:`).
struct ConsoleConfig {
  std::chrono::milliseconds session_timeout{8 * 3'600'000};  // 5m..7d: a session's whole life
  // The session cookie gets "Secure" (and the name __Host-vwr_console): set it when the admin
  // listener is reached over HTTPS (a TLS-terminating proxy in front of it).
  bool cookie_secure = false;
  int signin_attempts = 5;  // failed sign-ins per window and address, 1..1000
  std::chrono::milliseconds signin_window{60'000};  // 1s..1d

  bool operator==(const ConsoleConfig&) const = default;
};

struct SecretsConfig {
  std::string ticket_key_file;  // empty: <data_dir>/ticket.key

  bool operator==(const SecretsConfig&) const = default;
};

// Admission tokens (ES256 JWTs) and their signing keys; see docs/configuration.md#tokens.
struct TokensConfig {
  std::string issuer = "vwr";  // the tokens' iss claim
  // How old the active signing key may get before it is replaced; 0 = only on demand (`vwr keys
  // rotate`, the admin API).
  std::chrono::milliseconds rotate_after{7LL * 86'400'000};
  std::string key_dir;  // empty: <data_dir>/keys

  bool operator==(const TokensConfig&) const = default;
};

// How visitors' browsers reach the waiting room (see docs/configuration.md#web).
struct WebConfig {
  // The origin the waiting pages are served at for visitors ("https://queue.example.com": a
  // scheme, a host and an optional port, no path), when it is not the protected site's own
  // host. /api/v1/verify then sends visitors to absolute waiting page URLs on it. Empty: the
  // waiting page is reached on the site's own host (relative URLs).
  std::string public_url;
  bool cookie_secure = false;  // the admission and entry pass cookies get "Secure"
  std::string cookie_domain;   // ... and "Domain=<cookie_domain>"; empty: host-only cookies

  bool operator==(const WebConfig&) const = default;
};

// The TRACER-compatible API (docs/tracer-compat.md).
struct TracerConfig {
  std::string domain;            // this node's public domain: the answers' tracer_domain
  bool trust_client_ip = false;  // the form's `ip` may name the identity (trusted clients only)
  // What a sent loginId is bound to: "cookie" (the caller's wcCookie, else its address),
  // "address", or "none" (whoever sends a loginId holds its place: unsafe).
  std::string identity_binding = "cookie";
  // The origins whose pages may call from a browser (CORS), normalised ("https://host[:port]",
  // host in lower case, "*." for any host under a domain); nullopt: the rooms' match hosts.
  std::optional<std::vector<std::string>> allowed_origins;

  bool operator==(const TracerConfig&) const = default;
};

// Who a visitor is (docs/security.md): with mode "anonymous" (the default) identities that clients
// send (a join's userId, a TRACER loginId) are hints only; with "signed" the user is taken from a
// JWT that the platform's own login or API gateway issued, verified offline against its JWKS.
struct IdentityConfig {
  std::string mode = "anonymous";  // anonymous | signed
  std::string jwks_file;           // signed: the platform's JWKS as a file (exactly one of these)
  std::string jwks_url;            // ... or fetched from http(s) and refreshed
  std::string issuer;              // the user tokens' iss must be this; empty: any
  std::string audience;            // their aud must contain this; empty: any
  std::string claim = "sub";       // the claim that names the user
  bool required = true;            // signed: a join without a user token is refused (401)
  std::chrono::milliseconds leeway{30'000};    // clock tolerance for exp and nbf, 0..5m
  std::chrono::milliseconds refresh{300'000};  // jwks_url: fetched again this often, 10s..24h
  std::vector<std::string> algorithms;         // accepted algorithms; empty: every asymmetric one
  std::string cookie;            // a cookie the platform keeps its user token in, besides headers
  bool tracer_login_id = false;  // TRACER calls carry a user token as their loginId

  bool is_signed() const { return mode == "signed"; }
  bool operator==(const IdentityConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error|off
  std::string format = "text";  // text|json

  bool operator==(const LogConfig&) const = default;
};

// The traffic analysis (analytics:, docs/analysis.md). Read at start; a change takes effect at
// the next restart.
struct AnalyticsConfig {
  bool enabled = true;  // false: nothing recorded, the stats routes and the live stream 404
  // How long history keeps each resolution (0: for ever). Seconds live in memory (and in Redis),
  // an hour at most.
  std::chrono::milliseconds keep_seconds{3'600'000};
  std::chrono::milliseconds keep_minutes{30LL * 86'400'000};
  std::chrono::milliseconds keep_hours{730LL * 86'400'000};
  std::chrono::milliseconds keep_top_minutes{86'400'000};
  std::chrono::milliseconds keep_top_hours{30LL * 86'400'000};
  std::int64_t top_keys = 20;    // keys kept per minute and breakdown (hours keep 2.5 times more)
  std::int64_t poll_sample = 8;  // polls in the breakdowns: one in this many, with its weight
  // Surges: the short-term rate at `surge_factor` times the baseline and `surge_min_rate`.
  double surge_factor = 3.0;
  double surge_min_rate = 20.0;
  std::chrono::milliseconds surge_window{5'000};
  std::chrono::milliseconds surge_baseline{300'000};
  std::int64_t live_streams = 32;  // /admin/api/v1/live streams open at once

  bool operator==(const AnalyticsConfig&) const = default;
};

// A default-constructed Config has no rooms; DefaultConfig() and every successfully loaded
// Config have at least one.
struct Config {
  ServerConfig server;
  StoreConfig store;
  AdminConfig admin;
  SecretsConfig secrets;
  TokensConfig tokens;
  WebConfig web;
  TracerConfig tracer;
  IdentityConfig identity;
  LogConfig log;
  std::vector<OperatorConfig> operators;
  ConsoleConfig console;
  AnalyticsConfig analytics;
  std::vector<RoomConfig> rooms;
  // Traffic control (docs/control.md): what is measured, the rules over it, the rooms'
  // calendar. Checked together at load: a rule names only known signals and rooms.
  std::vector<control::SignalSpec> signals;
  std::vector<control::RuleSpec> rules;
  std::vector<control::EventSpec> schedules;
  // The demo pages (/, /demo/...). Not written: on with the built-in configuration, off with a
  // file (app::LoadConfig decides, so that a file never exposes the demo by accident).
  std::optional<bool> demo;

  bool operator==(const Config&) const = default;
};

// One problem in a config file.
struct ConfigError {
  int line = 0;     // 1-based, 0 = unknown
  int column = 0;   // 1-based, 0 = unknown
  std::string key;  // dotted path, e.g. "rooms[0].max_active"; empty for the file as a whole
  std::string message;

  // "line 12, column 5: rooms[0].max_active: must be between 1 and 1000000000"; the location
  // and the key are left out when unknown.
  std::string ToString() const;
  bool operator==(const ConfigError&) const = default;
};

// Either a config (and no errors) or the errors (and no config).
struct ParseResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;  // in file order
  bool ok() const { return config.has_value(); }
};

// Parses and validates a config file's text. Reports all errors found, not only the first.
// Empty text (or only comments) gives DefaultConfig().
ParseResult ParseConfig(std::string_view yaml_text);

// Reads and parses a file; a file that cannot be read gives one error with line 0 ("cannot read
// the file: ..."). Messages do not repeat the path: callers print it in front of each error.
ParseResult LoadConfigFile(const std::string& path);

// The built-in configuration: listen 127.0.0.1:8080, admin 127.0.0.1:8081, one worker per core,
// the embedded store in ./data, and one room "default" for every host and path with the
// core::Policy defaults.
Config DefaultConfig();

// The longest lifetime of anything signed with the token keys: any room's admission tokens or
// entry passes (the key ring keeps retired keys at least this long).
std::chrono::seconds MaxTokenLifetime(const Config& config);

// tokens.key_dir, or <data_dir>/keys when it is not set.
std::string KeyDir(const Config& config);

// The room with this id, or nullptr. The pointer is valid while the Config lives unchanged.
const RoomConfig* FindRoom(const Config& config, std::string_view id);

}  // namespace vwr::config
