// The PostgreSQL and MariaDB probes against real servers started by the test (Debian's
// postgresql and mariadb-server), and what a dead or hung database does to a signal.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "control/signal_spec.hpp"
#include "support/database_servers.hpp"

namespace vwr::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using vwr::testing::Eventually;

constexpr const char* kPassword = "probe-pass-7f3a";

// A directory of the test's own for secret files, as an operator would keep them (0700).
struct SecretDir {
  SecretDir() {
    char dir_template[] = "/tmp/vwr-secret-XXXXXX";
    path = ::mkdtemp(dir_template);
  }
  ~SecretDir() { std::filesystem::remove_all(path); }
  // A file holding `secret` (mode 0600).
  std::string File(const std::string& name, const std::string& secret) const {
    const std::string file = path + "/" + name;
    std::ofstream(file) << secret << "\n";
    ::chmod(file.c_str(), 0600);
    return file;
  }
  std::string path;
};

std::unique_ptr<Probe> Make(const SignalSpec& spec) {
  EXPECT_TRUE(ValidateSignalSpec(spec).empty());
  std::string error;
  auto probe = MakeProbe(spec, util::SystemClock::Instance(), &error);
  EXPECT_NE(probe, nullptr) << error;
  return probe;
}

SignalSpec Postgres(const vwr::testing::PostgresServer& server, PostgresMetric metric,
                    const std::string& password_file) {
  SignalSpec spec;
  spec.name = "db";
  spec.kind = SignalKind::kPostgres;
  spec.timeout = milliseconds(1500);
  spec.postgres.conninfo = server.conninfo();
  spec.postgres.password.file = password_file;
  spec.postgres.metric = metric;
  return spec;
}

double Value(Probe& probe) {
  const ProbeOutcome out = probe.Run();
  EXPECT_TRUE(out.value.has_value()) << out.error;
  return out.value.value_or(-1);
}

class PostgresProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!vwr::testing::PostgresServer::Binaries()) {
      GTEST_SKIP() << "PostgreSQL is not installed (apt-get install postgresql): skipped";
    }
    server_ = std::make_unique<vwr::testing::PostgresServer>(kPassword);
    ASSERT_TRUE(server_->running());
    password_file_ = secrets_.File("pg-password", kPassword);
  }
  SecretDir secrets_;
  std::unique_ptr<vwr::testing::PostgresServer> server_;
  std::string password_file_;
};

TEST_F(PostgresProbeTest, MeasuresConnectionsQueriesLocksAndLatency) {
  auto used = Make(Postgres(*server_, PostgresMetric::kConnectionsUsed, password_file_));
  const double before = Value(*used);
  EXPECT_GT(before, 0.0) << "the probe's own connection counts";
  std::vector<PGconn*> extra;
  for (int i = 0; i < 5; ++i) extra.push_back(server_->Connect());
  EXPECT_NEAR(Value(*used) - before, 5.0 / 20.0, 1e-9) << "max_connections is 20";

  // One session holds a lock, another waits on it, a third runs a long statement.
  auto exec = [](PGconn* c, const char* sql) { PQclear(PQexec(c, sql)); };
  exec(extra[0], "CREATE TABLE t (x int)");
  exec(extra[0], "BEGIN");
  exec(extra[0], "LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQsendQuery(extra[1], "SELECT * FROM t"), 1);
  ASSERT_EQ(PQsendQuery(extra[2], "SELECT pg_sleep(30)"), 1);

  auto locks = Make(Postgres(*server_, PostgresMetric::kLockWaits, password_file_));
  EXPECT_TRUE(Eventually([&] { return Value(*locks) >= 1.0; }));
  auto active = Make(Postgres(*server_, PostgresMetric::kActiveQueries, password_file_));
  EXPECT_TRUE(Eventually([&] { return Value(*active) >= 2.0; })) << "the waiter and the sleeper";
  auto longest = Make(Postgres(*server_, PostgresMetric::kLongestQuerySeconds, password_file_));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_GE(Value(*longest), 0.25);
  auto latency = Make(Postgres(*server_, PostgresMetric::kLatencyMs, password_file_));
  const double ms = Value(*latency);
  EXPECT_GT(ms, 0.0);
  EXPECT_LT(ms, 1000.0);
  for (PGconn* c : extra) PQfinish(c);
}

TEST_F(PostgresProbeTest, AWrongPasswordIsAnErrorThatNeverShowsIt) {
  const std::string wrong = secrets_.File("wrong", "not-the-password");
  auto probe = Make(Postgres(*server_, PostgresMetric::kLatencyMs, wrong));
  const ProbeOutcome out = probe->Run();
  EXPECT_FALSE(out.value.has_value());
  EXPECT_NE(out.error.find("password authentication failed"), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find("not-the-password"), std::string::npos);
}

TEST_F(PostgresProbeTest, ADeadOrHungDatabaseCostsTheTimeoutAndNoMore) {
  auto probe = Make(Postgres(*server_, PostgresMetric::kConnectionsUsed, password_file_));
  EXPECT_GT(Value(*probe), 0.0);
  // Hung: the server stops (SIGSTOP) with the probe's connection open.
  const pid_t pid = std::stoi(vwr::testing::ReadWholeFile(server_->dir() + "/data/postmaster.pid"));
  ::kill(pid, SIGSTOP);
  // Stopping the postmaster leaves its backends running; stop them all.
  std::system(("pkill -STOP -P " + std::to_string(pid)).c_str());
  auto start = std::chrono::steady_clock::now();
  ProbeOutcome out = probe->Run();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(out.value.has_value());
  EXPECT_NE(out.error.find("no answer within 1500 ms"), std::string::npos) << out.error;
  EXPECT_LT(took, milliseconds(2500));
  // A new connection to the hung server: bounded the same way.
  start = std::chrono::steady_clock::now();
  out = probe->Run();
  took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(out.value.has_value());
  EXPECT_LT(took, milliseconds(2500)) << out.error;
  std::system(("pkill -CONT -P " + std::to_string(pid)).c_str());
  ::kill(pid, SIGCONT);
  EXPECT_TRUE(Eventually([&] { return probe->Run().value.has_value(); })) << "recovers";
  // Dead: refused at once.
  server_->Kill();
  out = probe->Run();
  EXPECT_FALSE(out.value.has_value());
  EXPECT_FALSE(out.error.empty());
}

SignalSpec Mysql(const vwr::testing::MariadbServer& server, MysqlMetric metric) {
  SignalSpec spec;
  spec.name = "mysql";
  spec.kind = SignalKind::kMysql;
  spec.timeout = seconds(2);
  spec.mysql.host = "127.0.0.1";
  spec.mysql.port = server.port();
  spec.mysql.user = "vwr";
  spec.mysql.password.env = "VWR_TEST_MYSQL_PASSWORD";
  spec.mysql.metric = metric;
  return spec;
}

class MariadbProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!vwr::testing::MariadbServer::Installed()) {
      GTEST_SKIP() << "MariaDB is not installed (apt-get install mariadb-server): skipped";
    }
    ::setenv("VWR_TEST_MYSQL_PASSWORD", kPassword, 1);
    server_ = std::make_unique<vwr::testing::MariadbServer>(kPassword);
    ASSERT_TRUE(server_->running());
  }
  std::unique_ptr<vwr::testing::MariadbServer> server_;
};

TEST_F(MariadbProbeTest, MeasuresThreadsConnectionsAndLatency) {
  auto running = Make(Mysql(*server_, MysqlMetric::kThreadsRunning));
  const double idle = Value(*running);
  EXPECT_GE(idle, 1.0) << "the probe's own statement runs";
  auto used = Make(Mysql(*server_, MysqlMetric::kConnectionsUsed));
  const double before = Value(*used);
  // Three sessions each running SLEEP(20) on threads of their own.
  std::vector<MYSQL*> sleepers;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    sleepers.push_back(server_->RootConnection());
    ASSERT_NE(sleepers.back(), nullptr);
    threads.emplace_back([m = sleepers.back()] { mysql_query(m, "SELECT SLEEP(20)"); });
  }
  EXPECT_TRUE(Eventually([&] { return Value(*running) >= idle + 3; }));
  EXPECT_NEAR(Value(*used) - before, 3.0 / 30.0, 1e-9) << "max_connections is 30";
  auto latency = Make(Mysql(*server_, MysqlMetric::kLatencyMs));
  EXPECT_GT(Value(*latency), 0.0);
  // End the sleepers from a connection of their own.
  MYSQL* root = server_->RootConnection();
  for (MYSQL* m : sleepers) {
    const std::string kill = "KILL QUERY " + std::to_string(mysql_thread_id(m));
    mysql_query(root, kill.c_str());
  }
  for (auto& t : threads) t.join();
  for (MYSQL* m : sleepers) mysql_close(m);
  mysql_close(root);
}

TEST_F(MariadbProbeTest, AWrongPasswordOrADeadServerIsAnError) {
  ::setenv("VWR_TEST_MYSQL_PASSWORD", "not-the-password", 1);
  auto wrong = Make(Mysql(*server_, MysqlMetric::kLatencyMs));
  ProbeOutcome out = wrong->Run();
  EXPECT_FALSE(out.value.has_value());
  EXPECT_NE(out.error.find("Access denied"), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find("not-the-password"), std::string::npos);
  ::setenv("VWR_TEST_MYSQL_PASSWORD", kPassword, 1);
  auto probe = Make(Mysql(*server_, MysqlMetric::kThreadsRunning));
  EXPECT_GE(Value(*probe), 1.0);
  server_->Kill();
  const auto start = std::chrono::steady_clock::now();
  out = probe->Run();
  EXPECT_FALSE(out.value.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(probe->Run().error.find("mysql: ") == 0);
}

}  // namespace
}  // namespace vwr::control
