#include "redis/client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/slot.hpp"
#include "support/redis_server.hpp"
#include "util/clock.hpp"

namespace vwr::redis {
namespace {

using namespace std::chrono_literals;
using testing::ClientHarness;
using testing::Eventually;
using testing::OptionsFor;
using testing::RedisServer;

std::string Describe(const boost::system::result<Reply>& result) {
  return result ? ToString(*result) : "error: " + result.error().message();
}

void ExpectReply(const boost::system::result<Reply>& result, Reply::Type type,
                 const std::string& text) {
  ASSERT_TRUE(result.has_value()) << Describe(result);
  EXPECT_EQ(result->type, type) << Describe(result);
  if (type == Reply::Type::kInteger) {
    EXPECT_EQ(std::to_string(result->integer), text);
  } else {
    EXPECT_EQ(result->str, text);
  }
}

void ExpectError(const boost::system::result<Reply>& result, ClientError error) {
  ASSERT_FALSE(result.has_value()) << Describe(result);
  EXPECT_EQ(result.error(), make_error_code(error)) << result.error().message();
}

TEST(Client, AnswersBasicCommandsWithEveryReplyType) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());

  ExpectReply(harness.Run({"SET", "k", "v"}), Reply::Type::kStatus, "OK");
  ExpectReply(harness.Run({"GET", "k"}), Reply::Type::kString, "v");
  ExpectReply(harness.Run({"INCRBY", "n", "41"}), Reply::Type::kInteger, "41");
  auto missing = harness.Run({"GET", "missing"});
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->type, Reply::Type::kNil);
  // Binary-safe both ways.
  const std::string binary("a\0b\r\nc", 6);
  ExpectReply(harness.Run({"SET", "bin", binary}), Reply::Type::kStatus, "OK");
  ExpectReply(harness.Run({"GET", "bin"}), Reply::Type::kString, binary);

  harness.Run({"RPUSH", "list", "a", "b", "c"});
  auto list = harness.Run({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(ToString(*list), R"(["a", "b", "c"])");

  EXPECT_EQ(harness.client().stats().commands, 8u);
  EXPECT_EQ(harness.client().stats().errors, 0u);
}

TEST(Client, ErrorReplyIsAReplyNotAFailure) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());

  harness.Run({"SET", "k", "text"});
  auto result = harness.Run({"INCR", "k"});
  ASSERT_TRUE(result.has_value()) << Describe(result);
  EXPECT_TRUE(result->is_error());
  EXPECT_EQ(result->str, "ERR value is not an integer or out of range");
  ExpectReply(harness.Run({"NOSUCHCOMMAND"}), Reply::Type::kError,
              "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ");
  // The connection carries on.
  ExpectReply(harness.Run({"PING"}), Reply::Type::kStatus, "PONG");
  EXPECT_EQ(harness.client().stats().error_replies, 2u);
  EXPECT_EQ(harness.client().stats().errors, 0u);
}

TEST(Client, PipelinesManyCommandsAndAnswersInOrder) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());

  constexpr int kCount = 10'000;
  std::mutex mutex;
  std::vector<long long> values;
  std::atomic<int> failures{0};
  std::promise<void> all_done;
  // Issued from one handler on the redis thread, so that all of them are handed to hiredis
  // before a single reply can be read.
  boost::asio::post(harness.ioc(), [&] {
    for (int i = 0; i < kCount; ++i) {
      harness.client().Command({"INCR", "counter"}, "counter",
                               [&](boost::system::result<Reply> result) {
                                 std::lock_guard lock(mutex);
                                 if (!result || result->type != Reply::Type::kInteger) {
                                   ++failures;
                                 } else {
                                   values.push_back(result->integer);
                                 }
                                 if (values.size() + failures == kCount) all_done.set_value();
                               });
    }
  });
  ASSERT_EQ(all_done.get_future().wait_for(20s), std::future_status::ready);
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(values.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(values[i], i + 1) << "at " << i;
  // They were all on the wire together, not one at a time.
  EXPECT_EQ(harness.client().stats().max_in_flight, static_cast<std::uint64_t>(kCount));
}

TEST(Client, CommandsFromManyThreadsAllArrive) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());

  constexpr int kThreads = 4, kPerThread = 2'000;
  std::atomic<int> ok{0}, answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        harness.client().Command({"INCR", "shared"}, "shared", [&](auto result) {
          if (result && result->type == Reply::Type::kInteger) ok.fetch_add(1);
          answered.fetch_add(1);
        });
        if (i % 500 == 0) (void)harness.client().stats();  // read while others write
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(Eventually([&] { return answered.load() == kThreads * kPerThread; }));
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  ExpectReply(harness.Run({"GET", "shared"}), Reply::Type::kString,
              std::to_string(kThreads * kPerThread));
}

TEST(Client, TimesOutAStalledCommandAndRecoversByItself) {
  RedisServer server;
  const std::size_t fds_before = testing::OpenFds();
  auto options = OptionsFor(server);
  options.command_timeout = 200ms;
  auto harness_owner = std::make_unique<ClientHarness>(options);
  ClientHarness& harness = *harness_owner;
  ASSERT_TRUE(harness.WaitConnected());

  // Redis stops answering every client for 1 s, as a stalled server or lost link would.
  ASSERT_EQ(server.Run({"CLIENT", "PAUSE", "1000", "ALL"}), "OK");
  const auto started = std::chrono::steady_clock::now();
  ExpectError(harness.Run({"INCR", "paused"}), ClientError::kTimeout);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 190ms);
  EXPECT_LT(waited, 900ms);  // well before Redis answers
  EXPECT_GE(harness.client().stats().timeouts, 1u);

  // The late reply (if Redis ever sends it) is never taken for another command's, and the client
  // reconnects and works again once Redis answers.
  ASSERT_TRUE(Eventually([&] {
    auto result = harness.Run({"PING"});
    return result && result->str == "PONG";
  }));
  ExpectReply(harness.Run({"SET", "after", "1"}), Reply::Type::kStatus, "OK");
  ExpectReply(harness.Run({"GET", "after"}), Reply::Type::kString, "1");

  // Every dropped connection's fd was closed, once (hiredis closes it; Asio only let go).
  harness_owner.reset();
  EXPECT_EQ(testing::OpenFds(), fds_before);
}

// A peer that accepts connections and never answers: the AUTH handshake is cut off by the
// connect timeout and retried, and the client never counts as connected.
TEST(Client, GivesUpOnAHandshakeThatNeverAnswers) {
  const std::uint16_t port = testing::FreePort();
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  std::vector<int> accepted;
  auto accept_all = [&] {
    for (int fd; (fd = ::accept(listener, nullptr, nullptr)) >= 0;) accepted.push_back(fd);
    return accepted.size() >= 3;
  };

  ClientOptions options;
  options.seeds = {{"127.0.0.1", port}};
  options.password = "anything";
  options.connect_timeout = 100ms;
  options.reconnect_min = 10ms;
  options.reconnect_max = 20ms;
  ClientHarness harness(options);
  EXPECT_TRUE(Eventually(accept_all, 5s));  // it tried, timed out and tried again
  EXPECT_FALSE(harness.client().connected());
  ExpectError(harness.Run({"PING"}), ClientError::kDisconnected);
  for (int fd : accepted) ::close(fd);
  ::close(listener);
}

TEST(Client, FailsFastWhileRedisIsDownAndReconnectsByItself) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());
  ExpectReply(harness.Run({"SET", "k", "1"}), Reply::Type::kStatus, "OK");

  server.Kill();
  ASSERT_TRUE(Eventually([&] { return !harness.client().connected(); }));
  const auto started = std::chrono::steady_clock::now();
  ExpectError(harness.Run({"GET", "k"}), ClientError::kDisconnected);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);  // not after a 2 s timeout

  ASSERT_TRUE(server.Restart());
  ASSERT_TRUE(harness.WaitConnected());
  ExpectReply(harness.Run({"SET", "k", "2"}), Reply::Type::kStatus, "OK");
  ExpectReply(harness.Run({"GET", "k"}), Reply::Type::kString, "2");
  EXPECT_GE(harness.client().stats().reconnects, 1u);
}

TEST(Client, CommandsInFlightWhenRedisDiesFailWithDisconnected) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());

  // Blocks on the server until the server dies.
  std::promise<boost::system::result<Reply>> blocked;
  harness.client().Command({"BLPOP", "nothing", "0"}, "nothing",
                           [&](auto result) { blocked.set_value(std::move(result)); });
  ASSERT_TRUE(Eventually([&] {
    return server.Run({"INFO", "clients"}).find("blocked_clients:1") != std::string::npos;
  }));
  server.Kill();
  auto future = blocked.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  ExpectError(future.get(), ClientError::kDisconnected);
}

TEST(Client, AuthenticatesWithPasswordOrUserAndPassword) {
  RedisServer server({"--requirepass", "s3cret"}, "s3cret");
  {
    auto options = OptionsFor(server);
    options.password = "s3cret";
    ClientHarness harness(options);
    ASSERT_TRUE(harness.WaitConnected());
    ExpectReply(harness.Run({"SET", "k", "v"}), Reply::Type::kStatus, "OK");
  }
  {
    auto options = OptionsFor(server);
    options.username = "default";
    options.password = "s3cret";
    ClientHarness harness(options);
    ASSERT_TRUE(harness.WaitConnected());
    ExpectReply(harness.Run({"GET", "k"}), Reply::Type::kString, "v");
  }
}

TEST(Client, WrongPasswordNeverCountsAsConnected) {
  RedisServer server({"--requirepass", "s3cret"}, "s3cret");
  auto options = OptionsFor(server);
  options.password = "wrong";
  ClientHarness harness(options);
  // Several attempts come and go; none becomes a usable connection.
  ASSERT_TRUE(Eventually([&] {
    // Failed AUTHs are one ACL LOG entry with a count: "count\n<n>\nreason\nauth...".
    const std::string log = server.Run({"ACL", "LOG"});
    const std::size_t at = log.find("count\n");
    return at != std::string::npos && std::stoi(log.substr(at + 6)) >= 3;
  }));
  EXPECT_FALSE(harness.client().connected());
  ExpectError(harness.Run({"PING"}), ClientError::kDisconnected);
}

TEST(Client, SelectsTheConfiguredDatabase) {
  RedisServer server;
  auto options = OptionsFor(server);
  options.db = 3;
  ClientHarness harness(options);
  ASSERT_TRUE(harness.WaitConnected());
  ExpectReply(harness.Run({"SET", "in3", "yes"}), Reply::Type::kStatus, "OK");
  EXPECT_EQ(server.Run({"EXISTS", "in3"}), "0");  // not in db 0
  EXPECT_EQ(testing::RunCommand(server.port(), {"DBSIZE"}), "0");
  EXPECT_NE(harness.Run({"CLIENT", "INFO"})->str.find(" db=3 "), std::string::npos);
}

TEST(Client, EvalFallsBackToSourceAfterScriptFlush) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());
  const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");

  // Unknown to Redis at first: EVALSHA answers NOSCRIPT and the client sends the source.
  ExpectReply(harness.Eval(script, {"{r}:n"}, {"5"}), Reply::Type::kInteger, "5");
  EXPECT_EQ(server.Run({"SCRIPT", "EXISTS", script.sha1()}), "1");
  ExpectReply(harness.Eval(script, {"{r}:n"}, {"5"}), Reply::Type::kInteger, "10");
  ExpectReply(harness.Run({"SCRIPT", "FLUSH"}), Reply::Type::kStatus, "OK");
  ExpectReply(harness.Eval(script, {"{r}:n"}, {"1"}), Reply::Type::kInteger, "11");

  // Only the first and the one after the flush needed the source.
  const std::string stats = server.Run({"INFO", "commandstats"});
  EXPECT_NE(stats.find("cmdstat_eval:calls=2,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("cmdstat_evalsha:calls=3,"), std::string::npos) << stats;
  EXPECT_EQ(harness.client().stats().error_replies, 0u);  // NOSCRIPT never reached the caller
}

TEST(Client, EvalScriptErrorsAreReplies) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());
  const Script script("return redis.error_reply('ROOM_CLOSED')");
  auto result = harness.Eval(script, {"{r}:x"});
  ASSERT_TRUE(result.has_value()) << Describe(result);
  EXPECT_TRUE(result->is_error());
  EXPECT_NE(result->str.find("ROOM_CLOSED"), std::string::npos);
}

TEST(Client, EvalRefusesKeysInSeveralSlots) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());
  const Script script("return #KEYS");
  ExpectError(harness.Eval(script, {"{a}:x", "{b}:y"}), ClientError::kProtocol);
  ExpectReply(harness.Eval(script, {"{a}:x", "{a}:y"}), Reply::Type::kInteger, "2");
  ExpectReply(harness.Eval(script, {}), Reply::Type::kInteger, "0");
  ExpectError(harness.Run({}), ClientError::kProtocol);
}

TEST(Client, RefusesCommandsThatWouldChangeASharedConnection) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());
  for (std::vector<std::string> command : std::vector<std::vector<std::string>>{
           {"SUBSCRIBE", "news"}, {"multi"}, {"Select", "2"}, {"HELLO", "3"}, {"MONITOR"}}) {
    ExpectError(harness.Run(command), ClientError::kProtocol);
  }
  ExpectReply(harness.Run({"PUBLISH", "news", "x"}), Reply::Type::kInteger, "0");
}

TEST(Client, FailsWithDisconnectedBeforeStart) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server), /*start=*/false);
  ExpectError(harness.Run({"PING"}), ClientError::kDisconnected);
  EXPECT_FALSE(harness.client().connected());
}

TEST(Client, StopFailsPendingCommandsAndLeavesNoWork) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server));
  ASSERT_TRUE(harness.WaitConnected());

  std::promise<boost::system::result<Reply>> blocked;
  harness.client().Command({"BLPOP", "nothing", "0"}, "nothing",
                           [&](auto result) { blocked.set_value(std::move(result)); });
  ASSERT_TRUE(Eventually([&] {
    return server.Run({"INFO", "clients"}).find("blocked_clients:1") != std::string::npos;
  }));
  harness.client().Stop();
  harness.client().Stop();  // idempotent
  auto future = blocked.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  ExpectError(future.get(), ClientError::kStopped);
  ExpectError(harness.Run({"PING"}), ClientError::kStopped);
  EXPECT_FALSE(harness.client().connected());
  // ~ClientHarness checks that the io_context runs out of work.
}

TEST(Client, DestroyedWithCommandsPendingRunsTheirCallbacks) {
  RedisServer server;
  boost::asio::io_context ioc;
  int stopped = 0;
  {
    Client client(ioc, OptionsFor(server), util::SystemClock::Instance());
    client.Start();
    ASSERT_TRUE(Eventually([&] {
      ioc.run_for(5ms);
      return client.connected();
    }));
    client.Command({"BLPOP", "nothing", "0"}, "", [&](auto result) {
      if (!result && result.error() == make_error_code(ClientError::kStopped)) ++stopped;
    });
    ioc.run_for(50ms);
  }
  EXPECT_EQ(stopped, 1);
  ioc.run_for(50ms);  // whatever it left behind does nothing now
  EXPECT_EQ(stopped, 1);
}

// Deadlines are the injected clock's: while it stands still no command is late, however long it
// really takes; once it has moved past a deadline, the command fails with kTimeout.
TEST(Client, ReadsCommandDeadlinesFromTheInjectedClock) {
  RedisServer server;
  util::FakeClock clock;
  boost::asio::io_context ioc;
  auto options = OptionsFor(server);
  options.command_timeout = 200ms;
  Client client(ioc, options, clock);
  client.Start();
  ASSERT_TRUE(Eventually([&] {
    ioc.run_for(5ms);
    return client.connected();
  }));

  ASSERT_EQ(server.Run({"CLIENT", "PAUSE", "5000", "ALL"}), "OK");
  std::optional<boost::system::result<Reply>> answer;
  client.Command({"INCR", "paused"}, "", [&](auto result) { answer = std::move(result); });
  const auto real_start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - real_start < 700ms) ioc.run_for(10ms);
  EXPECT_FALSE(answer) << "timed out by the real clock: " << Describe(*answer);

  clock.Advance(1s);
  ASSERT_TRUE(Eventually(
      [&] {
        ioc.run_for(10ms);
        return answer.has_value();
      },
      2s));
  ExpectError(*answer, ClientError::kTimeout);
  EXPECT_GE(client.stats().timeouts, 1u);
  client.Stop();
  ioc.run_for(50ms);
}

// WhenConnected: what a node that must not serve before Redis answers waits for.
bool AnsweredWithin(std::future<bool>& future, std::chrono::milliseconds within) {
  return future.wait_for(within) == std::future_status::ready;
}

TEST(Client, WhenConnectedAnswersTrueOnceConnected) {
  RedisServer server;
  ClientHarness harness(OptionsFor(server), /*start=*/false);
  auto promise = std::make_shared<std::promise<bool>>();
  auto future = promise->get_future();
  std::atomic<bool> connected_then{false};
  harness.client().WhenConnected(10s, [&, promise](bool ok) {
    connected_then = harness.client().connected();
    promise->set_value(ok);
  });
  EXPECT_FALSE(AnsweredWithin(future, 100ms)) << "answered before the client was started";
  harness.client().Start();
  ASSERT_TRUE(AnsweredWithin(future, 10s));
  EXPECT_TRUE(future.get());
  EXPECT_TRUE(connected_then);

  // Connected already: answered at once, from a handler of its own.
  auto again = std::make_shared<std::promise<bool>>();
  auto again_future = again->get_future();
  harness.client().WhenConnected(10s, [again](bool ok) { again->set_value(ok); });
  ASSERT_TRUE(AnsweredWithin(again_future, 1s));
  EXPECT_TRUE(again_future.get());
}

TEST(Client, WhenConnectedAnswersFalseAfterItsWaitOrOnStop) {
  ClientOptions options;
  options.seeds = {{"127.0.0.1", testing::FreePort()}};  // nobody listens there
  options.reconnect_min = 10ms;
  options.reconnect_max = 20ms;
  ClientHarness harness(options);
  auto waited = std::make_shared<std::promise<bool>>();
  auto waited_future = waited->get_future();
  harness.client().WhenConnected(150ms, [waited](bool ok) { waited->set_value(ok); });
  ASSERT_TRUE(AnsweredWithin(waited_future, 5s));
  EXPECT_FALSE(waited_future.get());

  auto stopped = std::make_shared<std::promise<bool>>();
  auto stopped_future = stopped->get_future();
  harness.client().WhenConnected(60s, [stopped](bool ok) { stopped->set_value(ok); });
  harness.client().Stop();
  ASSERT_TRUE(AnsweredWithin(stopped_future, 5s)) << "Stop() left a waiter behind";
  EXPECT_FALSE(stopped_future.get());
  // ~ClientHarness checks that no timer is left behind.
}

}  // namespace
}  // namespace vwr::redis
