#include <libpq-fe.h>
#include <mysql.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "control/probes.hpp"

namespace vwr::control {

namespace {

// One line, no control characters: library messages end in newlines and may quote the server.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 300)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

int MillisLeft(const util::Clock& clock, util::TimePoint deadline) {
  const auto left = util::ToMillis(deadline - clock.Now());
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, 3'600'000));
}

// Waits until `fd` is ready for `events` or the deadline passes; false on the deadline.
bool WaitFor(const util::Clock& clock, int fd, short events, util::TimePoint deadline) {
  for (;;) {
    const int ms = MillisLeft(clock, deadline);
    if (ms == 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// PostgreSQL through libpq's asynchronous calls, so that every step (connect, send, wait for
// the answer) is bounded by the probe's deadline; the server also ends the statement by its
// statement_timeout. The connection is kept between runs and made again after any failure.
class PostgresProbe final : public Probe {
 public:
  PostgresProbe(PostgresSignalSpec spec, std::string password, util::Duration timeout,
                const util::Clock& clock)
      : spec_(std::move(spec)), password_(std::move(password)), timeout_(timeout), clock_(clock) {}
  ~PostgresProbe() override { Drop(); }

  ProbeOutcome Run() override {
    ProbeOutcome out;
    const auto start = clock_.Now();
    const auto deadline = start + timeout_;
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      Drop();
      if (!Connect(deadline, out.error)) {
        Drop();
        return out;
      }
    }
    const auto query_start = clock_.Now();
    auto value = Query(Sql(), deadline, out.error);
    if (!value) {
      Drop();
      return out;
    }
    if (spec_.metric == PostgresMetric::kLatencyMs) {
      out.value = std::chrono::duration<double, std::milli>(clock_.Now() - query_start).count();
    } else {
      out.value = *value;
    }
    return out;
  }

 private:
  const char* Sql() const {
    switch (spec_.metric) {
      case PostgresMetric::kConnectionsUsed:
        return "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client "
               "backend')::float8 / current_setting('max_connections')::float8";
      case PostgresMetric::kActiveQueries:
        return "SELECT count(*)::float8 FROM pg_stat_activity WHERE state = 'active' AND "
               "backend_type = 'client backend' AND pid <> pg_backend_pid()";
      case PostgresMetric::kLockWaits:
        return "SELECT count(*)::float8 FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
      case PostgresMetric::kLongestQuerySeconds:
        return "SELECT COALESCE(EXTRACT(EPOCH FROM max(clock_timestamp() - query_start)), "
               "0)::float8 FROM pg_stat_activity WHERE state = 'active' AND backend_type = "
               "'client backend' AND pid <> pg_backend_pid()";
      case PostgresMetric::kLatencyMs:
        return "SELECT 1::float8";
    }
    return "SELECT 1::float8";
  }

  bool Connect(util::TimePoint deadline, std::string& error) {
    const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
    const std::string connect_timeout =
        std::to_string(std::max<std::int64_t>(2, (timeout_ms + 999) / 1000));
    const std::string options =
        "-c statement_timeout=" + std::to_string(std::max<std::int64_t>(1, timeout_ms));
    // The conninfo goes in as "dbname" with expand_dbname, so its keys apply; the ones after
    // it override what it says.
    const char* keys[] = {"dbname",           "password", "connect_timeout",
                          "application_name", "options",  nullptr};
    const char* values[] = {
        spec_.conninfo.c_str(),  password_.empty() ? nullptr : password_.c_str(),
        connect_timeout.c_str(), "vwr-probe",
        options.c_str(),         nullptr};
    if (password_.empty()) {
      keys[1] = "connect_timeout";
      values[1] = connect_timeout.c_str();
    }
    conn_ = PQconnectStartParams(keys, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
      error = "postgres: " + (conn_ != nullptr ? OneLine(PQerrorMessage(conn_)) : "out of memory");
      return false;
    }
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    for (;;) {
      if (state == PGRES_POLLING_OK) return true;
      if (state == PGRES_POLLING_FAILED) {
        error = "postgres: " + OneLine(PQerrorMessage(conn_));
        return false;
      }
      const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      if (!WaitFor(clock_, PQsocket(conn_), events, deadline)) {
        error = "postgres: no connection within " + std::to_string(timeout_ms) + " ms";
        return false;
      }
      state = PQconnectPoll(conn_);
    }
  }

  std::optional<double> Query(const char* sql, util::TimePoint deadline, std::string& error) {
    const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
    if (PQsendQuery(conn_, sql) != 1) {
      error = "postgres: " + OneLine(PQerrorMessage(conn_));
      return std::nullopt;
    }
    for (;;) {
      const int flushed = PQflush(conn_);
      if (flushed == 0) break;
      if (flushed < 0 || !WaitFor(clock_, PQsocket(conn_), POLLOUT, deadline)) {
        error = "postgres: could not send the query within " + std::to_string(timeout_ms) + " ms";
        return std::nullopt;
      }
    }
    std::optional<double> value;
    for (;;) {
      while (PQisBusy(conn_)) {
        if (!WaitFor(clock_, PQsocket(conn_), POLLIN, deadline)) {
          error = "postgres: no answer within " + std::to_string(timeout_ms) + " ms";
          return std::nullopt;
        }
        if (PQconsumeInput(conn_) != 1) {
          error = "postgres: " + OneLine(PQerrorMessage(conn_));
          return std::nullopt;
        }
      }
      PGresult* result = PQgetResult(conn_);
      if (result == nullptr) break;
      if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1 &&
          PQnfields(result) == 1 && !PQgetisnull(result, 0, 0)) {
        try {
          value = std::stod(PQgetvalue(result, 0, 0));
        } catch (...) {
        }
      } else if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        error = "postgres: " + OneLine(PQresultErrorMessage(result));
      }
      PQclear(result);
    }
    if (!value && error.empty()) error = "postgres: the query gave no number";
    if (!value) return std::nullopt;
    return value;
  }

  void Drop() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  PostgresSignalSpec spec_;
  std::string password_;
  util::Duration timeout_;
  const util::Clock& clock_;
  PGconn* conn_ = nullptr;
};

std::once_flag mysql_library_once;

// MariaDB and MySQL through libmariadb, with its connect, read and write timeouts (whole
// seconds, at least 1: the smallest the library takes). The connection is kept between runs.
class MysqlProbe final : public Probe {
 public:
  MysqlProbe(MysqlSignalSpec spec, std::string password, util::Duration timeout,
             const util::Clock& clock)
      : spec_(std::move(spec)), password_(std::move(password)), timeout_(timeout), clock_(clock) {
    std::call_once(mysql_library_once, [] { mysql_library_init(0, nullptr, nullptr); });
  }
  ~MysqlProbe() override { Drop(); }

  ProbeOutcome Run() override {
    ProbeOutcome out;
    if (mysql_ == nullptr && !Connect(out.error)) {
      Drop();
      return out;
    }
    const auto start = clock_.Now();
    std::optional<double> value;
    switch (spec_.metric) {
      case MysqlMetric::kThreadsRunning:
        value = Number("SHOW GLOBAL STATUS LIKE 'Threads_running'", 1, out.error);
        break;
      case MysqlMetric::kConnectionsUsed: {
        auto connected = Number("SHOW GLOBAL STATUS LIKE 'Threads_connected'", 1, out.error);
        auto max = connected ? Number("SELECT @@max_connections", 0, out.error) : std::nullopt;
        if (connected && max && *max > 0) value = *connected / *max;
        break;
      }
      case MysqlMetric::kLatencyMs:
        if (Number("SELECT 1", 0, out.error)) {
          value = std::chrono::duration<double, std::milli>(clock_.Now() - start).count();
        }
        break;
    }
    if (!value) {
      if (out.error.empty()) out.error = "mysql: the query gave no number";
      Drop();
      return out;
    }
    out.value = value;
    return out;
  }

 private:
  bool Connect(std::string& error) {
    mysql_ = mysql_init(nullptr);
    if (mysql_ == nullptr) {
      error = "mysql: out of memory";
      return false;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
    const unsigned int seconds =
        static_cast<unsigned int>(std::max<std::int64_t>(1, (ms + 999) / 1000));
    mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
    mysql_optionsv(mysql_, MYSQL_OPT_READ_TIMEOUT, &seconds);
    mysql_optionsv(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    const char* socket = spec_.unix_socket.empty() ? nullptr : spec_.unix_socket.c_str();
    const char* database = spec_.database.empty() ? nullptr : spec_.database.c_str();
    if (mysql_real_connect(mysql_, spec_.host.c_str(), spec_.user.c_str(), password_.c_str(),
                           database, spec_.port, socket, 0) == nullptr) {
      error = "mysql: " + OneLine(mysql_error(mysql_));
      return false;
    }
    return true;
  }

  // The number in column `column` of the single row `sql` answers.
  std::optional<double> Number(const char* sql, unsigned column, std::string& error) {
    if (mysql_query(mysql_, sql) != 0) {
      error = "mysql: " + OneLine(mysql_error(mysql_));
      return std::nullopt;
    }
    MYSQL_RES* result = mysql_store_result(mysql_);
    if (result == nullptr) {
      error = "mysql: " + OneLine(mysql_error(mysql_));
      return std::nullopt;
    }
    std::optional<double> value;
    MYSQL_ROW row = mysql_fetch_row(result);
    if (row != nullptr && mysql_num_fields(result) > column && row[column] != nullptr) {
      try {
        value = std::stod(row[column]);
      } catch (...) {
      }
    }
    mysql_free_result(result);
    return value;
  }

  void Drop() {
    if (mysql_ != nullptr) mysql_close(mysql_);
    mysql_ = nullptr;
  }

  MysqlSignalSpec spec_;
  std::string password_;
  util::Duration timeout_;
  const util::Clock& clock_;
  MYSQL* mysql_ = nullptr;
};

}  // namespace

std::unique_ptr<Probe> MakePostgresProbe(const SignalSpec& spec, const util::Clock& clock,
                                         std::string* error) {
  std::string problem;
  auto password = LoadCredential(spec.postgres.password, &problem);
  if (!password) {
    if (error != nullptr) *error = "password: " + problem;
    return nullptr;
  }
  return std::make_unique<PostgresProbe>(spec.postgres, std::move(*password), spec.timeout, clock);
}

std::unique_ptr<Probe> MakeMysqlProbe(const SignalSpec& spec, const util::Clock& clock,
                                      std::string* error) {
  std::string problem;
  auto password = LoadCredential(spec.mysql.password, &problem);
  if (!password) {
    if (error != nullptr) *error = "password: " + problem;
    return nullptr;
  }
  return std::make_unique<MysqlProbe>(spec.mysql, std::move(*password), spec.timeout, clock);
}

}  // namespace vwr::control
