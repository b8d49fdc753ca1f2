#include "analytics/redis_history.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <sstream>

#include "analytics/statistics.hpp"
#include "support/redis_server.hpp"
#include "util/clock.hpp"

namespace vwr::analytics {
namespace {

using namespace std::chrono_literals;
using redis::testing::Eventually;
using redis::testing::OptionsFor;
using redis::testing::RedisServer;

std::int64_t UnixNow(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

Answer Await(const std::function<void(std::function<void(Answer)>)>& ask) {
  std::promise<Answer> promise;
  auto future = promise.get_future();
  ask([&promise](Answer a) { promise.set_value(std::move(a)); });
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  return future.get();
}

// Loads until a read succeeds: a connection that was cut may not know it yet when asked.
Frames Load(RedisHistory& history, const std::string& room, Step step, std::int64_t from,
            std::int64_t to) {
  Frames frames;
  EXPECT_TRUE(Eventually([&] {
    std::promise<bool> promise;
    history.LoadFrames(room, step, from, to, [&](bool ok, Frames loaded) {
      frames = std::move(loaded);
      promise.set_value(ok);
    });
    return promise.get_future().get();
  }));
  return frames;
}

// A node: its own statistics writing to the shared Redis.
struct Node {
  explicit Node(const RedisServer& server, util::FakeClock& fake_clock) : clock(fake_clock) {
    auto h = std::make_unique<RedisHistory>(OptionsFor(server), util::SystemClock::Instance(), Retention{});
    history = h.get();
    stats = std::make_unique<Statistics>(StatisticsOptions{}, std::move(h));
    // Ready once a read has gone through (connected() may turn true a moment before).
    Load(*history, "shop", Step::kSecond, 0, 1);
  }
  util::FakeClock& clock;
  RedisHistory* history;
  std::unique_ptr<Statistics> stats;
};

TEST(RedisHistory, TwoNodesAddUpAndCountTheStoresTotalsOnce) {
  RedisServer server;
  util::FakeClock clock;
  Node a(server, clock), b(server, clock);
  ASSERT_TRUE(
      Eventually([&] { return redis::testing::RunCommand(server.port(), {"PING"}) == "PONG"; }));
  const std::int64_t start = UnixNow(clock);
  RoomSample sample;
  sample.room = "shop";
  const Visitor heavy{.ip = "198.51.100.9"};
  const Visitor light{.ip = "192.0.2.1"};
  for (int i = 0; i < 120; ++i) {
    for (int n = 0; n < 3; ++n) {
      a.stats->recorder().Room("shop").Request({.endpoint = Endpoint::kJoin, .visitor = &heavy});
    }
    for (int n = 0; n < 4; ++n) {
      b.stats->recorder().Room("shop").Request({.endpoint = Endpoint::kStatus});
    }
    b.stats->recorder().Room("shop").Request({.endpoint = Endpoint::kJoin, .visitor = &light});
    // Both nodes read the same cluster-wide figures: 2 joins a second.
    sample.counters.joins += 2;
    sample.waiting = static_cast<std::uint64_t>(i);
    clock.Advance(1s);
    a.stats->Tick(UnixNow(clock), {sample});
    sample.reports_derived = false;  // b does not tick the room
    b.stats->Tick(UnixNow(clock), {sample});
    sample.reports_derived = true;
    // A second's writes are in before the next second's, as a second apart they are: the store's
    // totals go to the second of whichever node reports them first, and the two nodes' writes
    // travel on two connections (a loop this fast could let one node's next second overtake).
    ASSERT_TRUE(Eventually(
        [&] { return a.history->in_flight() == 0 && b.history->in_flight() == 0; }));
  }
  ASSERT_TRUE(
      Eventually([&] { return a.history->in_flight() == 0 && b.history->in_flight() == 0; }));
  EXPECT_EQ(a.history->failed() + b.history->failed(), 0u);

  // Either node answers for the cluster, seconds and minutes alike.
  for (Node* node : {&a, &b}) {
    SeriesQuery q{.room = "shop", .step = Step::kSecond, .from = start + 1, .to = start + 120};
    q.metrics = {FindMetric("requests"), FindMetric("joins"), FindMetric("waiting")};
    q.csv = true;
    Answer answer = Await([&](auto done) { node->stats->Series(q, done); });
    ASSERT_EQ(answer.status, 200u) << answer.error_message;
    std::string expected = "time,requests,joins,waiting\n";
    for (std::int64_t t = start + 1; t < start + 120; ++t) {
      expected += std::to_string(t) + ",8,2," + std::to_string(t - start) + "\n";
    }
    EXPECT_EQ(answer.body, expected);
    q = {.room = "shop", .step = Step::kMinute, .from = start, .to = start + 120};
    q.metrics = {FindMetric("requests"), FindMetric("joins")};
    q.csv = true;
    answer = Await([&](auto done) { node->stats->Series(q, done); });
    // Joins: the first second is each node's baseline, so the first minute has 59 × 2.
    EXPECT_EQ(answer.body, "time,requests,joins\n" + std::to_string(start) + ",480,118\n" +
                               std::to_string(start + 60) + ",480,120\n");
    TopQuery top{.room = "shop", .dim = Dimension::kIp, .from = start, .to = start + 120, .k = 2};
    answer = Await([&](auto done) { node->stats->Top(top, done); });
    EXPECT_NE(
        answer.body.find("\"total\":480,\"top\":[{\"key\":\"198.51.100.9\",\"count\":360,"
                         "\"share\":0.75},{\"key\":\"192.0.2.1\",\"count\":120,\"share\":0.25}]"),
        std::string::npos)
        << answer.body;
  }
  a.stats->Stop();
  b.stats->Stop();
}

TEST(RedisHistory, AKilledNodeLosesAtMostItsLastSecond) {
  RedisServer server;
  util::FakeClock clock;
  const std::int64_t start = UnixNow(clock);
  auto survivor = std::make_unique<RedisHistory>(OptionsFor(server), util::SystemClock::Instance(), Retention{});
  {
    auto doomed = std::make_unique<RedisHistory>(OptionsFor(server), util::SystemClock::Instance(), Retention{});
    // Both nodes are up: their clients have connected.
    ASSERT_TRUE(Eventually([&] { return doomed->connected() && survivor->connected(); }));
    for (int i = 0; i < 20; ++i) {
      HistoryBatch batch;
      batch.second = start + i;
      RoomSecond& s = batch.seconds.emplace_back();
      s.room = "shop";
      s.frame[field::kRequests] = 5;
      doomed->Append(batch);
      if (i < 19) {
        // Each second is on its way as soon as it is appended.
        ASSERT_TRUE(Eventually([&] { return doomed->in_flight() == 0; }));
      }
    }
    EXPECT_EQ(doomed->failed(), 0u);
    // The node dies: its client is cut off without waiting for the last write.
    redis::testing::RunCommand(server.port(), {"CLIENT", "KILL", "TYPE", "normal"});
    doomed.reset();
  }
  // The other node's connection was cut too; it reconnects by itself.
  const Frames frames = Load(*survivor, "shop", Step::kSecond, start, start + 20);
  ASSERT_GE(frames.size(), 19u);
  for (std::size_t i = 0; i < 19; ++i) {
    EXPECT_EQ(frames[i].first, start + static_cast<std::int64_t>(i));
    EXPECT_EQ(frames[i].second[field::kRequests], 5u);
  }
  const Frames minutes = Load(*survivor, "shop", Step::kMinute, start, start + 60);
  ASSERT_EQ(minutes.size(), 1u);
  EXPECT_GE(minutes[0].second[field::kRequests], 95u);
  // The second keys expire after an hour; minutes and hours live on.
  const std::string ttl = redis::testing::RunCommand(
      server.port(), {"TTL", survivor->FrameKey("shop", Step::kSecond, start)});
  EXPECT_GT(std::stoi(ttl), 3500);
  EXPECT_LE(std::stoi(ttl), 3600);
}

}  // namespace
}  // namespace vwr::analytics

namespace vwr::analytics {
namespace {

// Not a check: prints what one busy room takes in Redis (docs/analysis.md quotes it). Run with
// --gtest_also_run_disabled_tests --gtest_filter='*Memory*'.
TEST(RedisHistory, DISABLED_MemoryOfOneBusyRoom) {
  RedisServer server;
  RedisHistory history(OptionsFor(server), util::SystemClock::Instance(), Retention{});
  ASSERT_TRUE(Eventually([&] { return history.connected(); }));
  const auto used = [&] {
    const std::string info = redis::testing::RunCommand(server.port(), {"MEMORY", "STATS"});
    std::istringstream in(info);
    std::string line, last;
    while (std::getline(in, line)) {
      if (last == "dataset.bytes") return std::stoll(line);
      last = line;
    }
    return 0LL;
  };
  const long long before = used();
  constexpr std::int64_t kStart = 1'800'000'000;
  for (std::int64_t t = kStart; t < kStart + 3600; ++t) {
    HistoryBatch batch;
    batch.second = t;
    RoomSecond& s = batch.seconds.emplace_back();
    s.room = "shop";
    for (FieldId id = 0; id < field::kCount; ++id) s.frame[id] = 100 + id;  // every field set
    s.has_totals = true;
    for (FieldId id = field::kJoins; id <= field::kWithdrawn; ++id) {
      s.totals[id] = static_cast<std::uint64_t>(t - kStart) * 10;
    }
    for (std::size_t d = 0; d < kDimensionCount; ++d) {
      for (int k = 0; k < 20; ++k) {
        s.top[d].push_back({"key-" + std::to_string(d) + "-" + std::to_string((t * 7 + k) % 200) +
                                "-padded-to-a-url-like-length/xxxxxxxx",
                            static_cast<std::uint64_t>(k + 1)});
      }
    }
    history.Append(std::move(batch));
    if (t % 100 == 0) {
      ASSERT_TRUE(Eventually([&] { return history.in_flight() == 0; }));
    }
  }
  ASSERT_TRUE(Eventually([&] { return history.in_flight() == 0; }));
  const long long hour = used() - before;
  const auto keys = [&](const std::string& pattern) {
    const std::string list = redis::testing::RunCommand(server.port(), {"KEYS", pattern});
    long long bytes = 0;
    std::istringstream in(list);
    std::string key;
    while (std::getline(in, key)) {
      if (key.empty()) continue;
      bytes += std::stoll(redis::testing::RunCommand(server.port(), {"MEMORY", "USAGE", key}));
    }
    return bytes;
  };
  std::printf("one hour of one room: dataset %lld bytes\n", hour);
  std::printf("  seconds (kept 1 h): %lld\n", keys("vwr:stats:{shop}:s:*"));
  std::printf("  minutes (60 keys): %lld\n", keys("vwr:stats:{shop}:m:*"));
  std::printf("  hour (1 key): %lld\n", keys("vwr:stats:{shop}:h:*"));
  std::printf("  top minutes (6 x 60 sets): %lld\n", keys("vwr:stats:{shop}:tm:*"));
  std::printf("  top hour (6 sets): %lld\n", keys("vwr:stats:{shop}:th:*"));
}

}  // namespace
}  // namespace vwr::analytics
