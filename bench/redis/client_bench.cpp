// Pipelined INCR throughput of redis::Client against a local redis-server (started here on a free
// loopback port, so the figure includes a real round trip through the kernel and Redis). The
// batch size is how many commands are outstanding at once: 1 is request-response, larger batches
// show what pipelining over one connection buys. Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/client.hpp"
#include "util/clock.hpp"

namespace vwr::redis {
namespace {

// One redis-server for the whole run.
class LocalRedis {
 public:
  LocalRedis() {
    spdlog::set_level(spdlog::level::warn);  // a connect per benchmark run is not news
    port_ = static_cast<std::uint16_t>(30000 + ::getpid() % 20000);
    std::vector<std::string> args = {
        "redis-server", "--port", std::to_string(port_), "--bind",   "127.0.0.1", "--save", "",
        "--appendonly", "no",     "--logfile",           "/dev/null"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 500; ++i) {  // up to 5 s
      timeval timeout{0, 200'000};
      redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
      const bool up = context != nullptr && context->err == 0;
      if (context != nullptr) redisFree(context);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~LocalRedis() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

void BM_Client_PipelinedIncr(benchmark::State& state) {
  static LocalRedis redis;
  const auto batch = static_cast<int>(state.range(0));
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  ClientOptions options;
  options.seeds = {{"127.0.0.1", redis.port()}};
  Client client(ioc, options, util::SystemClock::Instance());
  std::thread redis_thread([&] { ioc.run(); });
  client.Start();
  while (!client.connected()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::mutex mutex;
  std::condition_variable all_answered;
  int answered = 0;
  std::atomic<int> failed{0};
  for (auto _ : state) {
    {
      std::lock_guard lock(mutex);
      answered = 0;
    }
    for (int i = 0; i < batch; ++i) {
      client.Command({"INCR", "bench:counter"}, "bench:counter",
                     [&](boost::system::result<Reply> result) {
                       if (!result) failed.fetch_add(1);
                       std::lock_guard lock(mutex);
                       if (++answered == batch) all_answered.notify_one();
                     });
    }
    std::unique_lock lock(mutex);
    all_answered.wait(lock, [&] { return answered == batch; });
  }
  state.SetItemsProcessed(state.iterations() * batch);
  if (failed.load() > 0) state.SkipWithError("some commands failed");

  client.Stop();
  work.reset();
  redis_thread.join();
}
BENCHMARK(BM_Client_PipelinedIncr)->Arg(1)->Arg(16)->Arg(256)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace vwr::redis
