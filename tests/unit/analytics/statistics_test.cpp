#include "analytics/statistics.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "analytics/sqlite_history.hpp"
#include "util/clock.hpp"

namespace vwr::analytics {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    char dir_template[] = "/tmp/vwr-analytics-XXXXXX";
    path_ = ::mkdtemp(dir_template);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::int64_t UnixNow(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

// Waits for an asynchronous answer.
Answer Await(const std::function<void(std::function<void(Answer)>)>& ask) {
  std::promise<Answer> promise;
  auto future = promise.get_future();
  ask([&promise](Answer a) { promise.set_value(std::move(a)); });
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  return future.get();
}

// A node's statistics driven second by second on a fake clock.
struct Node {
  explicit Node(std::unique_ptr<History> history = nullptr, StatisticsOptions options = {})
      : stats(options, std::move(history)) {}
  // Ends the current second: what was recorded since the last call belongs to it.
  void EndSecond(const std::vector<RoomSample>& samples = {}) {
    clock.Advance(1s);
    stats.Tick(UnixNow(clock), samples);
  }
  std::int64_t now() const { return UnixNow(clock); }
  void Polls(std::string_view room, int n) {
    for (int i = 0; i < n; ++i) {
      stats.recorder().Room(room).Request(
          {.endpoint = Endpoint::kStatus, .outcome = Outcome::kSuccess, .latency = 300us});
    }
  }
  Answer Ask(const std::string& query) {
    const auto param = [&](std::string_view name) -> std::optional<std::string> {
      std::istringstream in(query);
      std::string pair;
      while (std::getline(in, pair, '&')) {
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) return pair.substr(eq + 1);
      }
      return std::nullopt;
    };
    auto series = ParseSeriesQuery(param, now());
    if (!series) return series.error();
    return Await([&](auto done) { stats.Series(*series, done); });
  }

  util::FakeClock clock;  // starts on an hour boundary (1'800'000'000 = 500'000 h)
  Statistics stats;
};

RoomSample Sample(std::string room) {
  RoomSample s;
  s.room = std::move(room);
  return s;
}

// The [t, v] pairs of one series in a JSON body, in order.
std::vector<std::pair<std::int64_t, double>> Points(const std::string& body,
                                                    const std::string& metric) {
  std::vector<std::pair<std::int64_t, double>> out;
  std::size_t at = body.find("\"" + metric + "\":[");
  if (at == std::string::npos) return out;
  at += metric.size() + 4;
  while (body[at] == '[' || body[at] == ',') {
    if (body[at] == ',') ++at;
    if (body[at] != '[') break;
    std::int64_t t = 0;
    double v = 0;
    int used = 0;
    std::sscanf(body.c_str() + at, "[%ld,%lf]%n", &t, &v, &used);
    out.emplace_back(t, v);
    at += static_cast<std::size_t>(used);
  }
  return out;
}

TEST(Statistics, CountsEverySecondMinuteAndHourExactly) {
  TempDir dir;
  std::string error;
  auto history = SqliteHistory::Open(dir.File("analytics.db"), {}, error);
  ASSERT_TRUE(history) << error;
  Node node(std::move(history));
  const std::int64_t start = node.now();
  std::map<std::int64_t, std::uint64_t> per_second;
  RoomSample sample = Sample("shop");
  for (std::int64_t i = 0; i < 7200; ++i) {
    const int n = 1 + static_cast<int>(i % 5);
    node.Polls("shop", n);
    per_second[start + i] = static_cast<std::uint64_t>(n);
    sample.counters.joins += static_cast<std::uint64_t>(i % 3);
    node.EndSecond({sample});
  }
  // Seconds: the last hour, one point per second, zeros included before the traffic.
  const std::int64_t to = node.now();
  Answer a = node.Ask("room=shop&step=1s&from=" + std::to_string(to - 3600) +
                      "&to=" + std::to_string(to) + "&metrics=requests,status_polls");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  auto points = Points(a.body, "requests");
  ASSERT_EQ(points.size(), 3600u);
  for (const auto& [t, v] : points) EXPECT_EQ(v, static_cast<double>(per_second[t])) << t;
  EXPECT_EQ(Points(a.body, "status_polls"), points);

  // Minutes over both hours: every minute's sum (the last one still open in memory).
  a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) + "&to=" + std::to_string(to) +
               "&metrics=requests,joins");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  points = Points(a.body, "requests");
  ASSERT_EQ(points.size(), 120u);
  for (const auto& [t, v] : points) {
    std::uint64_t sum = 0;
    for (std::int64_t s = t; s < t + 60; ++s) sum += per_second[s];
    EXPECT_EQ(v, static_cast<double>(sum)) << t;
  }
  // joins: the store's counter moved by i % 3 in second i; the first sample is the baseline.
  const auto joins = Points(a.body, "joins");
  EXPECT_EQ(joins[0].second, 60.0 - 0.0);  // seconds 1..59: 20 × (0+1+2) less second 0's 0
  EXPECT_EQ(joins[1].second, 60.0);

  // Hours: both, exactly.
  a = node.Ask("room=shop&step=1h&from=" + std::to_string(start) + "&to=" + std::to_string(to) +
               "&metrics=requests");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  points = Points(a.body, "requests");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].second, 3600.0 * 3);  // 1+2+3+4+5 every 5 seconds
  EXPECT_EQ(points[1].second, 3600.0 * 3);
  EXPECT_NE(a.body.find("{\"room\":\"shop\",\"step\":\"1h\",\"from\":" + std::to_string(start) +
                        ",\"to\":" + std::to_string(to) + ",\"series\":{\"requests\":[["),
            std::string::npos)
      << a.body.substr(0, 200);
}

TEST(Statistics, CsvHasAHeaderAndOneRowPerStep) {
  Node node;
  const std::int64_t start = node.now();
  for (int i = 0; i < 180; ++i) {
    node.Polls("shop", i < 60 ? 1 : 2);
    node.EndSecond({Sample("shop")});
  }
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) + "&to=" +
                      std::to_string(start + 240) + "&metrics=requests,waiting&format=csv");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  EXPECT_EQ(a.content_type, "text/csv; charset=utf-8");
  const std::string s = std::to_string(start);
  EXPECT_EQ(a.body, "time,requests,waiting\n" + s + ",60,0\n" + std::to_string(start + 60) +
                        ",120,0\n" + std::to_string(start + 120) + ",120,0\n" +
                        std::to_string(start + 180) + ",0,0\n");
}

TEST(Statistics, GaugesAreTheValueAtTheEndOfTheStep) {
  Node node;
  const std::int64_t start = node.now();
  RoomSample sample = Sample("shop");
  for (int i = 0; i < 120; ++i) {
    sample.waiting = static_cast<std::uint64_t>(1000 + i);
    sample.active = 7;
    sample.policy.max_active = 50;
    sample.policy.admit_rate = 2.5;
    node.EndSecond({sample});
  }
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 120) +
                      "&metrics=waiting,active,max_active,admit_rate");
  ASSERT_EQ(a.status, 200u);
  EXPECT_EQ(Points(a.body, "waiting"),
            (std::vector<std::pair<std::int64_t, double>>{{start, 1059}, {start + 60, 1119}}));
  EXPECT_EQ(Points(a.body, "active")[1].second, 7);
  EXPECT_EQ(Points(a.body, "max_active")[1].second, 50);
  EXPECT_EQ(Points(a.body, "admit_rate")[1].second, 2.5);
}

TEST(Statistics, EntriesAndExitsAreTheStoreCountersDeltas) {
  Node node;
  const std::int64_t start = node.now();
  RoomSample sample = Sample("shop");
  sample.counters.joins = 100;  // before this process watched: not counted
  node.EndSecond({sample});
  sample.counters.joins = 105;
  sample.counters.immediate = 2;
  sample.counters.admissions = 4;  // 2 at once, 2 from the line
  sample.counters.rejected = 1;
  sample.counters.full = 3;
  sample.counters.bypass = 1;
  sample.counters.no_shows = 2;
  sample.counters.expired_sessions = 1;
  sample.counters.leaves = 6;
  sample.counters.withdrawn = 1;
  node.EndSecond({sample});
  Answer a = node.Ask("room=shop&step=1s&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 2) +
                      "&metrics=joins,admitted_now,queued,admitted_from_line,rejected,full,"
                      "bypassed,no_shows,idle_timeouts,leaves,withdrawn&format=csv");
  EXPECT_EQ(a.body,
            "time,joins,admitted_now,queued,admitted_from_line,rejected,full,bypassed,no_shows,"
            "idle_timeouts,leaves,withdrawn\n" +
                std::to_string(start) + ",0,0,0,0,0,0,0,0,0,0,0\n" + std::to_string(start + 1) +
                ",5,2,3,2,1,3,1,2,1,6,1\n");
}

// Session lengths are the store's counts too: each second holds the sessions that ended in it,
// whatever ended them, and what ended before the first sample is not counted.
TEST(Statistics, SessionLengthsAreTheStoreCountersDeltas) {
  Node node;
  const std::int64_t start = node.now();
  RoomSample sample = Sample("shop");
  sample.counters.session_lengths.Add(3'600'000);  // before this process watched: not counted
  node.EndSecond({sample});
  sample.counters.session_lengths.Add(30'000);  // (10 s, 30 s]
  sample.counters.session_lengths.Add(30'000);
  sample.counters.session_lengths.Add(95'000);  // (60 s, 120 s]
  sample.counters.leaves = 3;
  node.EndSecond({sample});
  node.EndSecond({sample});                         // nothing ended
  sample.counters.session_lengths.Add(20'000'000);  // beyond the last bound (4 h)
  node.EndSecond({sample});
  Answer a = node.Ask("room=shop&step=1s&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 4) +
                      "&metrics=session_length_count,session_length_avg,session_length_p50,"
                      "session_length_p95&format=csv");
  EXPECT_EQ(a.body,
            "time,session_length_count,session_length_avg,session_length_p50,"
            "session_length_p95\n" +
                std::to_string(start) + ",0,0,0,0\n" + std::to_string(start + 1) +
                ",3,51.667,25,111\n" + std::to_string(start + 2) + ",0,0,0,0\n" +
                std::to_string(start + 3) + ",1,20000,14400,14400\n")
      << a.body;
  Answer minute =
      node.Ask("room=shop&step=1m&from=" + std::to_string(start - start % 60) +
               "&to=" + std::to_string(start - start % 60 + 120) + "&metrics=session_length_count");
  double total = 0;
  for (const auto& [t, v] : Points(minute.body, "session_length_count")) total += v;
  EXPECT_EQ(total, 4) << minute.body;
  std::string text;
  node.stats.RenderPrometheus(text);
  EXPECT_NE(text.find("vwr_session_length_seconds_bucket{room=\"shop\",le=\"10\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vwr_session_length_seconds_bucket{room=\"shop\",le=\"30\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vwr_session_length_seconds_bucket{room=\"shop\",le=\"120\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vwr_session_length_seconds_bucket{room=\"shop\",le=\"+Inf\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vwr_session_length_seconds_sum{room=\"shop\"} 20155\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vwr_session_length_seconds_count{room=\"shop\"} 4\n"), std::string::npos)
      << text;
}

TEST(Statistics, WhatHappensBeforeTheFirstStepCountsFromTheBaselineAtStart) {
  Node node;
  const std::int64_t start = node.now();
  RoomSample sample = Sample("shop");
  sample.counters.joins = 100;  // before the node served: not counted
  node.stats.Baseline({sample});
  sample.counters.joins = 107;  // joins served before the first step
  node.EndSecond({sample});
  Answer a = node.Ask("room=shop&step=1s&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 1) + "&metrics=joins&format=csv");
  EXPECT_EQ(a.body, "time,joins\n" + std::to_string(start) + ",7\n");
}

TEST(Statistics, WaitTimesAndEtaHonestyComeFromTheLineAndTheFrontier) {
  Node node;
  const std::int64_t start = node.now();
  RoomSample sample = Sample("shop");
  sample.advance_rate = 1.0;
  node.EndSecond({sample});  // baseline: nothing issued yet
  sample.last_issued = 10;   // ten join in the second second (ETA given: 1..10 s)
  node.EndSecond({sample});
  for (int i = 0; i < 29; ++i) node.EndSecond({sample});
  sample.frontier = 10;  // all ten are called 30 s after they joined
  node.EndSecond({sample});
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 60) +
                      "&metrics=wait_time_count,wait_time_avg,eta_error_count,eta_under,eta_over");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  EXPECT_EQ(Points(a.body, "wait_time_count")[0].second, 10);
  EXPECT_EQ(Points(a.body, "wait_time_avg")[0].second, 30);
  EXPECT_EQ(Points(a.body, "eta_error_count")[0].second, 10);
  EXPECT_EQ(Points(a.body, "eta_under")[0].second, 10);  // told 5 s (the middle), waited 30
  EXPECT_EQ(Points(a.body, "eta_over")[0].second, 0);
}

TEST(Statistics, OnASharedStoreTheWaitsOfTicketsIssuedBeforeTheBaselineButAfterTheFirstTickCount) {
  // The node's first tick read the room back with 2 tickets issued; the analysis took its
  // baseline a moment later, when 3 more had been issued (a loaded machine). Those 3 were
  // issued while this node watched: their waits count; the first 2 are not this node's to time.
  Node node;
  const std::int64_t start = node.now();
  RoomSample sample = Sample("shop");
  sample.last_issued = 5;
  sample.known_since_last_issued = 2;
  node.stats.Baseline({sample});
  for (int i = 0; i < 20; ++i) node.EndSecond({sample});
  sample.frontier = 5;  // all five are called
  node.EndSecond({sample});
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 60) + "&metrics=wait_time_count");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  EXPECT_EQ(Points(a.body, "wait_time_count")[0].second, 3);
}

TEST(Statistics, EtaHonestyJudgesWhatTicketsWereToldAtJoinAndAtLaterPolls) {
  Node node;
  const std::int64_t start = node.now();
  const std::int64_t called_at = start + 11;  // the second in which all ten are called
  std::uint64_t frontier = 0;
  RoomSample sample = Sample("shop");
  // The store tells every waiting ticket twice the wait it really has left, with a range from
  // half to twice that: at join 20 s (range 10..40 s) for a wait of 10 s.
  sample.wait_told = [&](std::uint64_t ticket) -> std::optional<core::WaitEstimate> {
    if (ticket <= frontier) return std::nullopt;
    const std::int64_t left = called_at - (node.now() - 1);
    return core::WaitEstimate{
        .eta_seconds = 2 * left, .low_seconds = left, .high_seconds = 4 * left};
  };
  node.EndSecond({sample});  // second `start`: the baseline, nothing issued yet
  sample.last_issued = 10;   // ten join in second start + 1
  for (int i = 0; i < 10; ++i) node.EndSecond({sample});  // seconds start + 1 .. start + 10
  frontier = sample.frontier = 10;
  node.EndSecond({sample});  // second start + 11: all ten called, 10 s after they joined
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 60) +
                      "&metrics=wait_time_avg,eta_error_count,eta_error_avg,eta_over,eta_under,"
                      "eta_in_range,eta_within_range,eta_poll_error_count,eta_poll_error_avg");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  EXPECT_EQ(Points(a.body, "wait_time_avg")[0].second, 10);
  EXPECT_EQ(Points(a.body, "eta_error_count")[0].second, 10);
  EXPECT_EQ(Points(a.body, "eta_error_avg")[0].second, 1.0);  // told 20 s, waited 10 s
  EXPECT_EQ(Points(a.body, "eta_over")[0].second, 10);
  EXPECT_EQ(Points(a.body, "eta_under")[0].second, 0);
  EXPECT_EQ(Points(a.body, "eta_in_range")[0].second, 10);  // 10 s is within 10..40 s
  EXPECT_EQ(Points(a.body, "eta_within_range")[0].second, 1.0);
  // Four tickets of the line probed each of the ten seconds it waited, each told twice what
  // it had left.
  EXPECT_EQ(Points(a.body, "eta_poll_error_count")[0].second, 40);
  EXPECT_EQ(Points(a.body, "eta_poll_error_avg")[0].second, 1.0);
}

TEST(Statistics, AWaitOutsideTheRangeToldIsNotWithinIt) {
  Node node;
  const std::int64_t start = node.now();
  std::uint64_t frontier = 0;
  RoomSample sample = Sample("shop");
  // Told 3 s (2..4 s); the wait is 30 s.
  sample.wait_told = [&](std::uint64_t ticket) -> std::optional<core::WaitEstimate> {
    if (ticket <= frontier) return std::nullopt;
    return core::WaitEstimate{.eta_seconds = 3, .low_seconds = 2, .high_seconds = 4};
  };
  node.EndSecond({sample});
  sample.last_issued = 4;
  for (int i = 0; i < 30; ++i) node.EndSecond({sample});
  frontier = sample.frontier = 4;
  node.EndSecond({sample});
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 60) +
                      "&metrics=eta_error_avg,eta_under,eta_in_range,eta_within_range,"
                      "eta_poll_error_count");
  ASSERT_EQ(a.status, 200u) << a.error_message;
  EXPECT_EQ(Points(a.body, "eta_error_avg")[0].second, 0.9);  // |3 - 30| / 30
  EXPECT_EQ(Points(a.body, "eta_under")[0].second, 4);
  EXPECT_EQ(Points(a.body, "eta_in_range")[0].second, 0);
  EXPECT_EQ(Points(a.body, "eta_within_range")[0].second, 0);
  // A line of four: probes at tickets 1, 2, 3 and 4 each second (30 s of waiting).
  EXPECT_EQ(Points(a.body, "eta_poll_error_count")[0].second, 4 * 30);
}

TEST(Statistics, PutsTheTwentyPercentHeavyHitterFirst) {
  TempDir dir;
  std::string error;
  Node node(SqliteHistory::Open(dir.File("analytics.db"), {}, error));
  const std::int64_t start = node.now();
  int unique = 0;
  for (int second = 0; second < 150; ++second) {
    for (int i = 0; i < 100; ++i) {
      std::string ip = i % 5 == 0 ? "203.0.113.7"
                                  : "10." + std::to_string(unique / 65536 % 256) + "." +
                                        std::to_string(unique / 256 % 256) + "." +
                                        std::to_string(unique % 256);
      if (i % 5 != 0) ++unique;
      const Visitor who{.ip = ip, .user_agent = "Mozilla/5.0 Chrome/120", .host = "shop.example"};
      node.stats.recorder().Room("shop").Request(
          {.endpoint = Endpoint::kJoin, .outcome = Outcome::kSuccess, .visitor = &who});
    }
    node.EndSecond({Sample("shop")});
  }
  // Two closed minutes in SQLite and the open one in memory.
  TopQuery q{.room = "shop", .dim = Dimension::kIp, .from = start, .to = start + 180, .k = 5};
  Answer a = Await([&](auto done) { node.stats.Top(q, done); });
  ASSERT_EQ(a.status, 200u);
  EXPECT_EQ(a.body.find("\"top\":[{\"key\":\"203.0.113.7\",\"count\":3000,\"share\":0.2}"),
            a.body.find("\"top\":["))
      << a.body;
  EXPECT_NE(a.body.find("\"total\":15000"), std::string::npos) << a.body;
  q.dim = Dimension::kIpPrefix;
  a = Await([&](auto done) { node.stats.Top(q, done); });
  EXPECT_NE(a.body.find("\"top\":[{\"key\":\"203.0.113.0/24\",\"count\":3000"), std::string::npos)
      << a.body;
  q.dim = Dimension::kUserAgent;
  a = Await([&](auto done) { node.stats.Top(q, done); });
  EXPECT_NE(a.body.find("\"share\":1,\"class\":\"browser\""), std::string::npos) << a.body;
}

TEST(Statistics, RetentionDropsOldMinutesAndKeepsHours) {
  TempDir dir;
  std::string error;
  Retention retention;
  retention.minutes = 3600s;
  Node node(SqliteHistory::Open(dir.File("analytics.db"), retention, error));
  const std::int64_t start = node.now();
  for (int i = 0; i < 3 * 3600 + 120; ++i) {
    node.Polls("shop", 1);
    node.EndSecond({Sample("shop")});
  }
  Answer a = node.Ask("room=shop&step=1m&from=" + std::to_string(start) +
                      "&to=" + std::to_string(start + 3600));
  auto points = Points(a.body, "requests");
  ASSERT_EQ(points.size(), 60u);
  for (const auto& [t, v] : points) EXPECT_EQ(v, 0) << "minute " << t << " outlived retention";
  a = node.Ask("room=shop&step=1m&from=" + std::to_string(start + 3 * 3600 - 600) +
               "&to=" + std::to_string(start + 3 * 3600));
  for (const auto& [t, v] : Points(a.body, "requests")) EXPECT_EQ(v, 60) << t;
  a = node.Ask("room=shop&step=1h&from=" + std::to_string(start) +
               "&to=" + std::to_string(start + 3 * 3600));
  EXPECT_EQ(Points(a.body, "requests"),
            (std::vector<std::pair<std::int64_t, double>>{
                {start, 3600}, {start + 3600, 3600}, {start + 7200, 3600}}));
}

TEST(Statistics, SqliteHistorySurvivesAReopen) {
  TempDir dir;
  std::string error;
  util::FakeClock clock;
  const std::int64_t start = UnixNow(clock);
  {
    Statistics stats({}, SqliteHistory::Open(dir.File("analytics.db"), {}, error));
    for (int i = 0; i < 90; ++i) {  // a minute and a half: the half is written at Stop
      stats.recorder().Room("shop").Request({.endpoint = Endpoint::kJoin});
      clock.Advance(1s);
      stats.Tick(UnixNow(clock), {Sample("shop")});
    }
    stats.Stop();
  }
  Statistics stats({}, SqliteHistory::Open(dir.File("analytics.db"), {}, error));
  for (int i = 0; i < 90; ++i) {
    stats.recorder().Room("shop").Request({.endpoint = Endpoint::kJoin});
    stats.recorder().Room("shop").Request({.endpoint = Endpoint::kJoin});
    clock.Advance(1s);
    stats.Tick(UnixNow(clock), {Sample("shop")});
  }
  SeriesQuery q{.room = "shop", .step = Step::kMinute, .from = start, .to = start + 180};
  q.metrics = {FindMetric("requests_join")};
  Answer a = Await([&](auto done) { stats.Series(q, done); });
  EXPECT_EQ(Points(a.body, "requests_join"),
            (std::vector<std::pair<std::int64_t, double>>{
                {start, 60}, {start + 60, 30 + 60}, {start + 120, 120}}));
}

TEST(Statistics, SurgeIsLoggedCountedShownLiveAndExported) {
  Node node;
  std::vector<std::string> events;
  node.stats.Subscribe(
      [&](const std::shared_ptr<const std::string>& json) { events.push_back(*json); });
  for (int i = 0; i < 120; ++i) {
    node.Polls("shop", 30);
    node.EndSecond({Sample("shop")});
  }
  EXPECT_FALSE(node.stats.Surge("shop").active);
  int began_at = -1;
  for (int i = 0; i < 10 && began_at < 0; ++i) {
    node.Polls("shop", 300);
    node.EndSecond({Sample("shop")});
    if (node.stats.Surge("shop").active) began_at = i;
  }
  ASSERT_GE(began_at, 0) << "a tenfold rise was not a surge";
  EXPECT_LE(began_at, 2);
  EXPECT_NE(events.back().find("\"surges\":[\"shop\"]"), std::string::npos) << events.back();
  EXPECT_NE(events.back().find("\"surge\":{\"active\":true"), std::string::npos);
  EXPECT_EQ(events.size(), 120u + static_cast<std::size_t>(began_at) + 1);
  std::string metrics;
  node.stats.RenderPrometheus(metrics);
  EXPECT_NE(metrics.find("vwr_room_surges_total{room=\"shop\"} 1\n"), std::string::npos) << metrics;
  Answer a = node.Ask("room=shop&step=1m&metrics=surges&to=" + std::to_string(node.now()));
  double surges = 0;
  for (const auto& [t, v] : Points(a.body, "surges")) surges += v;
  EXPECT_EQ(surges, 1);
}

TEST(Statistics, LiveEventCarriesEveryRoomsSecond) {
  Node node;
  node.Polls("a", 3);
  node.Polls("b", 1);
  RoomSample a = Sample("a");
  a.waiting = 42;
  node.EndSecond({a, Sample("b")});
  const std::string live = node.stats.LiveEvent();
  EXPECT_EQ(
      live.rfind("{\"t\":" + std::to_string(node.now() - 1) + ",\"rooms\":{\"a\":{\"requests\":3,",
                 0),
      0u)
      << live;
  EXPECT_NE(live.find("\"waiting\":42"), std::string::npos);
  EXPECT_NE(live.find("\"b\":{\"requests\":1,"), std::string::npos);
  EXPECT_EQ(SseMessage("stats", "{}"), "event: stats\ndata: {}\n\n");
}

TEST(StatsQueries, RefuseWhatTheyCannotAnswer) {
  const auto ask = [](std::map<std::string, std::string> params) {
    return ParseSeriesQuery(
        [&](std::string_view name) -> std::optional<std::string> {
          auto it = params.find(std::string(name));
          if (it == params.end()) return std::nullopt;
          return it->second;
        },
        1'800'000'000);
  };
  EXPECT_EQ(ask({{"step", "1m"}}).error().error_message, "room is required");
  EXPECT_EQ(ask({{"room", "r"}, {"step", "5m"}}).error().status, 400u);
  EXPECT_EQ(ask({{"room", "r"}, {"metrics", "requests,bogus"}}).error().error_message,
            "metrics: unknown metric \"bogus\"");
  EXPECT_EQ(ask({{"room", "r"}, {"from", "100"}, {"to", "100"}}).error().status, 400u);
  EXPECT_EQ(ask({{"room", "r"}, {"from", "-5"}}).error().status, 400u);
  EXPECT_EQ(
      ask({{"room", "r"}, {"step", "1s"}, {"from", "0"}, {"to", "1800000000"}}).error().status,
      400u);
  // Unaligned bounds are widened to whole steps.
  auto q = ask({{"room", "r"}, {"from", "1799999990"}, {"to", "1800000001"}});
  ASSERT_TRUE(q);
  EXPECT_EQ(q->from, 1'799'999'940);
  EXPECT_EQ(q->to, 1'800'000'060);
  EXPECT_EQ(q->metrics.front()->name, "requests");
}

// What /metrics shows of these is valid for Prometheus' own checker.
TEST(Statistics, PrometheusTextPassesPromtool) {
  Node node;
  RoomSample sample = Sample("shop \"main\"");
  node.EndSecond({sample});
  sample.last_issued = 5;
  node.EndSecond({sample});
  sample.counters.session_lengths.Add(95'000);  // a session of 95 s ended
  sample.frontier = 5;
  node.EndSecond({sample});
  std::string text;
  node.stats.RenderPrometheus(text);
  EXPECT_NE(text.find("vwr_wait_time_seconds_count{room=\"shop \\\"main\\\"\"} 5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("vwr_session_length_seconds_bucket{room=\"shop \\\"main\\\"\",le=\"120\"} 1\n"),
      std::string::npos)
      << text;
  TempDir dir;
  const std::string file = dir.File("metrics.txt");
  std::ofstream(file) << text;
  const std::string command = "promtool check metrics < " + file + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << "promtool (scripts/install-deps installs it) said:\n" << output;
}

}  // namespace
}  // namespace vwr::analytics
