#include "control/signal.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "control/credential.hpp"
#include "control/signal_spec.hpp"

namespace vwr::control {
namespace {

using std::chrono::seconds;

TEST(SignalTable, ValuesAgeIntoUnknownAndFailuresAreErrors) {
  util::FakeClock clock;
  SignalTable table({{"latency", seconds(10)}, {"pushed", seconds(30)}});
  EXPECT_EQ(table.IndexOf("pushed"), 1u);
  EXPECT_FALSE(table.IndexOf("nope").has_value());
  EXPECT_EQ(table.Read(0, clock.Now()).state, SignalState::kUnknown) << "never measured";
  table.Set(0, 120, clock.Now());
  clock.Advance(seconds(10));
  auto r = table.Read(0, clock.Now());
  EXPECT_EQ(r.state, SignalState::kOk);
  EXPECT_EQ(r.value, 120);
  EXPECT_EQ(r.age, seconds(10));
  clock.Advance(seconds(1));
  EXPECT_EQ(table.Read(0, clock.Now()).state, SignalState::kUnknown) << "older than stale_after";
  table.Set(0, 90, clock.Now());
  table.SetError(0, "connection refused", clock.Now());
  r = table.Read(0, clock.Now());
  EXPECT_EQ(r.state, SignalState::kError);
  EXPECT_EQ(r.error, "connection refused");
  EXPECT_FALSE(r.ok());
  table.Set(0, 80, clock.Now());
  EXPECT_TRUE(table.Read(0, clock.Now()).ok()) << "a success clears the error";
}

TEST(SignalTable, PushedValuesExpireByTheirTtl) {
  util::FakeClock clock;
  SignalTable table({{"campaign_load", seconds(30)}});
  table.Push(0, 0.8, seconds(10), clock.Now());
  clock.Advance(seconds(10));
  EXPECT_TRUE(table.Read(0, clock.Now()).ok());
  clock.Advance(seconds(1));
  EXPECT_EQ(table.Read(0, clock.Now()).state, SignalState::kUnknown);
  EXPECT_EQ(table.ReadAll(clock.Now()).size(), 1u);
}

TEST(PushedValue, ParsesValueAndTtl) {
  std::string error;
  auto v = ParsePushedValue(R"({"value": 12.5, "ttl": "10s"})", &error);
  ASSERT_TRUE(v.has_value()) << error;
  EXPECT_EQ(v->value, 12.5);
  EXPECT_EQ(v->ttl, seconds(10));
  EXPECT_FALSE(ParsePushedValue(R"({"value": 1})", &error)->ttl.has_value());
  EXPECT_FALSE(ParsePushedValue(R"({"value": "1"})", &error));
  EXPECT_EQ(error, "value: a number is required");
  EXPECT_FALSE(ParsePushedValue(R"({"value": 1, "ttl": "forever"})", &error));
  EXPECT_FALSE(ParsePushedValue(R"({"value": 1, "ttl": "25h"})", &error));
  EXPECT_FALSE(ParsePushedValue(R"({"value": 1, "extra": 2})", &error));
  EXPECT_FALSE(ParsePushedValue("[1]", &error));
  EXPECT_FALSE(ParsePushedValue(std::string(2000, ' '), &error));
  EXPECT_EQ(ParseShortDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(ParseShortDuration("5m"), std::chrono::minutes(5));
  EXPECT_FALSE(ParseShortDuration("5 m"));
}

class CredentialFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/vwr-cred-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    path_ = dir_ + "/secret";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  std::string dir_, path_;
};

TEST_F(CredentialFile, ReadsAPrivateFileAndRefusesAReadableOne) {
  Write("s3cret\n", 0600);
  std::string error;
  EXPECT_EQ(LoadCredential(Credential{path_, ""}, &error), "s3cret");
  Write("s3cret\n", 0644);
  EXPECT_FALSE(LoadCredential(Credential{path_, ""}, &error));
  EXPECT_NE(error.find("chmod"), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cret"), std::string::npos) << "never the secret itself";
  EXPECT_FALSE(LoadCredential(Credential{dir_ + "/none", ""}, &error));
}

TEST(Credential, FromTheEnvironment) {
  ::setenv("VWR_TEST_PROBE_SECRET", "from-env", 1);
  std::string error;
  EXPECT_EQ(LoadCredential(Credential{"", "VWR_TEST_PROBE_SECRET"}, &error), "from-env");
  EXPECT_FALSE(LoadCredential(Credential{"", "VWR_TEST_NOT_SET_ANYWHERE"}, &error));
  EXPECT_EQ(error, "environment variable VWR_TEST_NOT_SET_ANYWHERE is not set");
  EXPECT_EQ(LoadCredential(Credential{}, &error), "");
}

TEST(SignalSpec, ValidationNamesTheKey) {
  SignalSpec spec;
  spec.name = "db";
  spec.kind = SignalKind::kPostgres;
  spec.postgres.conninfo = "host=x password=hunter2";
  spec.timeout = std::chrono::seconds(10);
  auto problems = ValidateSignalSpec(spec);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "signals.db.timeout: must be at least 10ms and at most the interval");
  EXPECT_NE(problems[1].find("signals.db.conninfo: no password here"), std::string::npos);
  spec = SignalSpec{};
  spec.name = "9lives";
  spec.kind = SignalKind::kPrometheus;
  spec.prometheus.url = "ftp://x";
  problems = ValidateSignalSpec(spec);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(ParseSignalKind("mysql"), SignalKind::kMysql);
  EXPECT_EQ(ParsePostgresMetric("lock_waits"), PostgresMetric::kLockWaits);
  EXPECT_EQ(ParseMysqlMetric("threads_running"), MysqlMetric::kThreadsRunning);
  EXPECT_EQ(ParsePromReading("quantile"), PromReading::kQuantile);
  EXPECT_EQ(spec.EffectiveStaleAfter(), std::chrono::seconds(17));
}

}  // namespace
}  // namespace vwr::control
