#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/credential.hpp"
#include "control/prometheus_text.hpp"
#include "util/clock.hpp"

namespace vwr::control {

enum class SignalKind : std::uint8_t { kHttp, kPrometheus, kPostgres, kMysql, kPush };
std::string_view SignalKindName(SignalKind kind);
std::optional<SignalKind> ParseSignalKind(std::string_view name);

//   - name: origin_latency_ms
//     kind: http
//     url: https://api.example.com/healthz
//     measure: latency_ms          # latency_ms | success | json
//     json_pointer: /db/pool/used  # with measure: json
//     bearer: { file: /etc/vwr/probe-token }   # or { env: PROBE_TOKEN }
struct HttpSignalSpec {
  std::string url;
  std::string method = "GET";
  enum class Measure : std::uint8_t {
    kLatencyMs,
    kSuccess,
    kJsonPointer
  } measure = Measure::kLatencyMs;
  std::string json_pointer;
  unsigned ok_status_min = 200;  // success: a status in [min, max] is 1, else 0
  unsigned ok_status_max = 399;
  Credential bearer;
  std::vector<std::pair<std::string, std::string>> headers;
  bool verify_tls = true;

  bool operator==(const HttpSignalSpec&) const = default;
};

//   - name: api_p95_ms
//     kind: prometheus
//     url: http://10.0.0.5:9100/metrics      # a scrape endpoint ...
//     metric: http_request_duration_seconds{route="/api"}
//     reading: quantile                      # gauge | rate | quantile
//     quantile: 0.95
//     scale: 1000                            # seconds -> ms
//   - name: api_errors_per_s
//     kind: prometheus
//     url: http://prometheus:9090            # ... or a Prometheus server
//     query: sum(rate(http_requests_total{code=~"5.."}[1m]))
struct PrometheusSignalSpec {
  std::string url;
  std::string metric;  // a selector, for a scrape
  PromReading reading = PromReading::kGauge;
  double quantile = 0.95;
  std::string query;  // PromQL, for a server (then `metric` is empty)
  double scale = 1.0;
  Credential bearer;
  bool verify_tls = true;

  bool operator==(const PrometheusSignalSpec&) const = default;
};

enum class PostgresMetric : std::uint8_t {
  kConnectionsUsed,      // client connections / max_connections (0..1)
  kActiveQueries,        // sessions running a statement, this probe excluded
  kLockWaits,            // sessions waiting on a lock
  kLongestQuerySeconds,  // the oldest running statement's age
  kLatencyMs,            // round trip of SELECT 1
};

//   - name: db_connections_used
//     kind: postgres
//     conninfo: host=10.0.0.7 port=5432 dbname=app user=vwr_monitor
//     password: { file: /etc/vwr/pg-password }
//     metric: connections_used
struct PostgresSignalSpec {
  std::string conninfo;  // libpq key=value form, without a password
  Credential password;
  PostgresMetric metric = PostgresMetric::kConnectionsUsed;

  bool operator==(const PostgresSignalSpec&) const = default;
};

enum class MysqlMetric : std::uint8_t {
  kThreadsRunning,   // Threads_running
  kConnectionsUsed,  // Threads_connected / max_connections (0..1)
  kLatencyMs,        // round trip of SELECT 1
};

//   - name: mysql_running
//     kind: mysql
//     host: 10.0.0.8
//     port: 3306
//     user: vwr_monitor
//     password: { env: MYSQL_MONITOR_PASSWORD }
//     metric: threads_running
struct MysqlSignalSpec {
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string unix_socket;
  std::string user;
  std::string database;
  Credential password;
  MysqlMetric metric = MysqlMetric::kThreadsRunning;

  bool operator==(const MysqlSignalSpec&) const = default;
};

std::optional<PostgresMetric> ParsePostgresMetric(std::string_view name);
std::optional<MysqlMetric> ParseMysqlMetric(std::string_view name);
std::optional<PromReading> ParsePromReading(std::string_view name);

// One entry of `signals:`. interval, timeout and stale_after apply to every kind (a push
// signal's value expires by the ttl of each push, or stale_after when a push gives none).
struct SignalSpec {
  std::string name;
  SignalKind kind = SignalKind::kPush;
  util::Duration interval = std::chrono::seconds(5);
  util::Duration timeout = std::chrono::seconds(2);
  // 0: three intervals plus the timeout.
  util::Duration stale_after{0};
  HttpSignalSpec http;
  PrometheusSignalSpec prometheus;
  PostgresSignalSpec postgres;
  MysqlSignalSpec mysql;

  util::Duration EffectiveStaleAfter() const {
    return stale_after > util::Duration::zero() ? stale_after : 3 * interval + timeout;
  }

  bool operator==(const SignalSpec&) const = default;
};

// Problems with a spec, naming the key ("signals.db.timeout: ..."); empty when usable. Does not
// read credentials (MakeProbe does).
std::vector<std::string> ValidateSignalSpec(const SignalSpec& spec);

// What one run of a probe measured.
struct ProbeOutcome {
  std::optional<double> value;
  std::string error;          // a failure: the signal becomes kError
  bool no_value_yet = false;  // not a failure (a rate's first scrape): nothing changes
};

// A signal's probe: blocking, run on a probe thread, finishing within its spec's timeout (each
// kind enforces it on its sockets). Not thread-safe: the runner never runs one probe twice at
// once.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual ProbeOutcome Run() = 0;
};

// The probe for `spec` (nullptr for a push signal, which has none), with its credentials read
// now. Nullptr with `error` set when it cannot be made.
std::unique_ptr<Probe> MakeProbe(const SignalSpec& spec, const util::Clock& clock,
                                 std::string* error);

// Reads `{"value": <number>, "ttl": "10s"}` (ttl optional, at most 24h) for PUT
// /admin/api/v1/signals/{name}. Nullopt with `error` set when malformed.
struct PushedValue {
  double value = 0.0;
  std::optional<util::Duration> ttl;
};
std::optional<PushedValue> ParsePushedValue(std::string_view json, std::string* error);

// "250ms", "10s", "5m", "1h" (a whole number and a unit); nullopt otherwise.
std::optional<util::Duration> ParseShortDuration(std::string_view text);

}  // namespace vwr::control
