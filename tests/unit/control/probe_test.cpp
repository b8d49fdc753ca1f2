// The HTTP and Prometheus probes against small HTTP servers of the test's own on loopback, and
// the probe runner's promise that a dead target never holds up the others.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "control/http_fetch.hpp"
#include "control/probe_runner.hpp"
#include "control/signal_spec.hpp"

namespace vwr::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool Eventually(const std::function<bool()>& condition, milliseconds timeout = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Answers every request on 127.0.0.1 with `response` (a whole HTTP response), or, when it is
// empty, accepts and never answers (a hung origin). Records the last request head.
class FakeHttpServer {
 public:
  explicit FakeHttpServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeHttpServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int c : held_) ::close(c);
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }
  void set_response(std::string response) {
    std::lock_guard lock(mu_);
    response_ = std::move(response);
  }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stopping_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      std::string response;
      {
        std::lock_guard lock(mu_);
        last_request_ = head;
        response = response_;
      }
      ++requests_;
      if (response.empty()) {
        held_.push_back(c);  // never answered, never closed until the end of the test
        continue;
      }
      std::size_t sent = 0;
      while (sent < response.size()) {
        const ssize_t n = ::write(c, response.data() + sent, response.size() - sent);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string response_;
  std::string last_request_;
  std::vector<int> held_;
};

std::string Response(int status, const std::string& body,
                     const std::string& type = "application/json") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

SignalSpec HttpSignal(const std::string& url, HttpSignalSpec::Measure measure) {
  SignalSpec spec;
  spec.name = "origin";
  spec.kind = SignalKind::kHttp;
  spec.timeout = milliseconds(300);
  spec.http.url = url;
  spec.http.measure = measure;
  if (measure == HttpSignalSpec::Measure::kJsonPointer) spec.http.json_pointer = "/";
  EXPECT_TRUE(ValidateSignalSpec(spec).empty());
  return spec;
}

ProbeOutcome RunOnce(const SignalSpec& spec) {
  std::string error;
  auto probe = MakeProbe(spec, util::SystemClock::Instance(), &error);
  EXPECT_NE(probe, nullptr) << error;
  if (probe == nullptr) return {};
  return probe->Run();
}

TEST(HttpProbe, MeasuresLatencySuccessAndAJsonPointer) {
  FakeHttpServer server(Response(200, R"({"db": {"pool": {"used": 17}}, "ok": true})"));
  auto latency = RunOnce(HttpSignal(server.url("/healthz"), HttpSignalSpec::Measure::kLatencyMs));
  ASSERT_TRUE(latency.value.has_value()) << latency.error;
  EXPECT_GE(*latency.value, 0.0);
  EXPECT_LT(*latency.value, 1000.0);
  EXPECT_NE(server.last_request().find("GET /healthz HTTP/1.1"), std::string::npos);

  auto spec = HttpSignal(server.url(), HttpSignalSpec::Measure::kJsonPointer);
  spec.http.json_pointer = "/db/pool/used";
  EXPECT_EQ(RunOnce(spec).value, 17.0);
  spec.http.json_pointer = "/db/missing";
  EXPECT_NE(RunOnce(spec).error.find("no number at /db/missing"), std::string::npos);

  EXPECT_EQ(RunOnce(HttpSignal(server.url(), HttpSignalSpec::Measure::kSuccess)).value, 1.0);
  server.set_response(Response(503, "{}"));
  EXPECT_EQ(RunOnce(HttpSignal(server.url(), HttpSignalSpec::Measure::kSuccess)).value, 0.0);
  auto failed =
      RunOnce(HttpSignal(server.url("/x?token=abc"), HttpSignalSpec::Measure::kLatencyMs));
  EXPECT_FALSE(failed.value.has_value());
  EXPECT_NE(failed.error.find("status 503"), std::string::npos);
  EXPECT_EQ(failed.error.find("token=abc"), std::string::npos) << "a query is not shown";
}

TEST(HttpProbe, AHungOriginCostsTheTimeoutAndNoMore) {
  FakeHttpServer hung("");
  const auto start = std::chrono::steady_clock::now();
  auto outcome = RunOnce(HttpSignal(hung.url(), HttpSignalSpec::Measure::kLatencyMs));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(outcome.value.has_value());
  EXPECT_NE(outcome.error.find("no answer within 300 ms (exchange)"), std::string::npos)
      << outcome.error;
  EXPECT_LT(took, milliseconds(1000));
  // Success measures exactly this: no answer is 0.
  EXPECT_EQ(RunOnce(HttpSignal(hung.url(), HttpSignalSpec::Measure::kSuccess)).value, 0.0);
}

TEST(HttpProbe, ARefusedConnectionIsAnError) {
  int port = 0;
  {
    FakeHttpServer gone(Response(200, "{}"));
    port = std::stoi(gone.url().substr(17));
  }
  auto outcome = RunOnce(HttpSignal("http://127.0.0.1:" + std::to_string(port) + "/",
                                    HttpSignalSpec::Measure::kLatencyMs));
  EXPECT_FALSE(outcome.value.has_value());
  EXPECT_NE(outcome.error.find("connect"), std::string::npos) << outcome.error;
}

TEST(HttpProbe, SendsTheBearerFromTheEnvironment) {
  FakeHttpServer server(Response(200, "{}"));
  ::setenv("VWR_TEST_PROBE_TOKEN", "tok-123", 1);
  auto spec = HttpSignal(server.url(), HttpSignalSpec::Measure::kLatencyMs);
  spec.http.bearer.env = "VWR_TEST_PROBE_TOKEN";
  EXPECT_TRUE(RunOnce(spec).value.has_value());
  EXPECT_NE(server.last_request().find("Authorization: Bearer tok-123"), std::string::npos);
  spec.http.bearer.env = "VWR_TEST_PROBE_TOKEN_MISSING";
  std::string error;
  EXPECT_EQ(MakeProbe(spec, util::SystemClock::Instance(), &error), nullptr);
  EXPECT_EQ(error, "bearer: environment variable VWR_TEST_PROBE_TOKEN_MISSING is not set");
}

TEST(PrometheusProbe, ScrapesACounterIntoARate) {
  FakeHttpServer server(
      Response(200, "req_total{code=\"500\"} 10\nreq_total{code=\"200\"} 90\n", "text/plain"));
  SignalSpec spec;
  spec.name = "errors_per_s";
  spec.kind = SignalKind::kPrometheus;
  spec.prometheus.url = server.url("/metrics");
  spec.prometheus.metric = "req_total{code=~\"5..\"}";
  spec.prometheus.reading = PromReading::kRate;
  ASSERT_TRUE(ValidateSignalSpec(spec).empty());
  std::string error;
  auto probe = MakeProbe(spec, util::SystemClock::Instance(), &error);
  ASSERT_NE(probe, nullptr) << error;
  auto first = probe->Run();
  EXPECT_TRUE(first.no_value_yet) << first.error;
  std::this_thread::sleep_for(milliseconds(100));
  server.set_response(
      Response(200, "req_total{code=\"500\"} 30\nreq_total{code=\"200\"} 900\n", "text/plain"));
  auto second = probe->Run();
  ASSERT_TRUE(second.value.has_value()) << second.error;
  EXPECT_GT(*second.value, 20.0 / 1.0);  // 20 more within a little over 100 ms
  EXPECT_LT(*second.value, 20.0 / 0.1);
}

TEST(PrometheusProbe, AsksAServerAPromQLQuery) {
  FakeHttpServer server(Response(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"0.375"]}]}})"));
  SignalSpec spec;
  spec.name = "p95";
  spec.kind = SignalKind::kPrometheus;
  spec.prometheus.url = server.url();
  spec.prometheus.query = "histogram_quantile(0.95, sum(rate(x_bucket[1m])) by (le))";
  spec.prometheus.scale = 1000;
  auto outcome = RunOnce(spec);
  EXPECT_EQ(outcome.value, 375.0) << outcome.error;
  EXPECT_NE(server.last_request().find("GET /api/v1/query?query=histogram_quantile%280.95%2C"),
            std::string::npos)
      << server.last_request();
  server.set_response(
      Response(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
  EXPECT_NE(RunOnce(spec).error.find("gave 0 series"), std::string::npos);
}

// An HTTPS origin: `openssl s_server -www` with a self-signed certificate made for the test.
TEST(HttpProbe, HttpsChecksTheCertificateUnlessToldNotTo) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "openssl (the command) is not installed: skipped";
  }
  char dir_template[] = "/tmp/vwr-tls-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  const std::string make_cert =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >" + dir + "/req.log 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);
  int port = 0;
  {
    FakeHttpServer reserve(Response(200, "{}"));  // a port that was free a moment ago
    port = std::stoi(reserve.url().substr(17));
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string accept = std::to_string(port);
    const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
    ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(), "-cert",
             cert.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto spec = HttpSignal("https://127.0.0.1:" + std::to_string(port) + "/",
                         HttpSignalSpec::Measure::kLatencyMs);
  spec.timeout = seconds(2);
  spec.interval = seconds(5);
  spec.http.verify_tls = false;
  ProbeOutcome out;
  EXPECT_TRUE(Eventually([&] {
    out = RunOnce(spec);
    return out.value.has_value();
  })) << out.error;
  spec.http.verify_tls = true;  // self-signed: not to be trusted
  out = RunOnce(spec);
  EXPECT_FALSE(out.value.has_value());
  EXPECT_NE(out.error.find("TLS handshake"), std::string::npos) << out.error;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);
}

// A probe that takes as long as it is told.
class SlowProbe final : public Probe {
 public:
  explicit SlowProbe(std::atomic<int>& delay_ms) : delay_ms_(delay_ms) {}
  ProbeOutcome Run() override {
    std::this_thread::sleep_for(milliseconds(delay_ms_.load()));
    ProbeOutcome out;
    out.value = 1.0;
    return out;
  }

 private:
  std::atomic<int>& delay_ms_;
};

TEST(ProbeRunner, AStuckProbeGoesUnknownWhileTheOthersKeepMeasuring) {
  const util::SystemClock& clock = util::SystemClock::Instance();
  SignalTable table({{"slow", milliseconds(300)}, {"quick", milliseconds(300)}});
  std::atomic<int> slow_delay{0}, quick_delay{0};
  std::vector<ProbeRunner::Entry> entries;
  entries.push_back({0, "slow", std::make_unique<SlowProbe>(slow_delay), milliseconds(50)});
  entries.push_back({1, "quick", std::make_unique<SlowProbe>(quick_delay), milliseconds(50)});
  ProbeRunner runner(table, clock, std::move(entries), 2);
  runner.Start();
  ASSERT_TRUE(Eventually(
      [&] { return table.Read(0, clock.Now()).ok() && table.Read(1, clock.Now()).ok(); }));
  slow_delay = 3000;  // the slow target stops answering
  ASSERT_TRUE(Eventually([&] { return table.Read(0, clock.Now()).state == SignalState::kUnknown; }))
      << "its last value ages out";
  const auto quick_runs = runner.Status()[1].runs;
  ASSERT_TRUE(Eventually([&] { return runner.Status()[1].runs >= quick_runs + 5; }))
      << "the other probe keeps running";
  EXPECT_TRUE(table.Read(1, clock.Now()).ok());
  EXPECT_TRUE(runner.Status()[0].running);
  slow_delay = 0;
  runner.Stop();
}

}  // namespace
}  // namespace vwr::control
