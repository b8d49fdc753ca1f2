// What recording costs a request on the hot path: a status poll without and with the visitor
// (sampled into the breakdowns one in eight), a join with its visitor (always recorded), and
// the same from several threads at once.
#include <benchmark/benchmark.h>

#include <string>

#include "analytics/recorder.hpp"

namespace vwr::analytics {
namespace {

Recorder& Shared() {
  static Recorder recorder;
  return recorder;
}

const Visitor kVisitor{.ip = "198.51.100.23",
                       .user_agent =
                           "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                           "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                       .host = "shop.example.com",
                       .page_url = "https://shop.example.com/event/2024/spring-sale?ref=home",
                       .user = "user-12345"};

void BM_Recorder_Poll(benchmark::State& state) {
  RoomRecorder& room = Shared().Room("shop");
  for (auto _ : state) {
    room.Request({.endpoint = Endpoint::kStatus, .latency = std::chrono::microseconds(40)});
  }
}
BENCHMARK(BM_Recorder_Poll)->ThreadRange(1, 2);

void BM_Recorder_PollWithVisitor(benchmark::State& state) {
  RoomRecorder& room = Shared().Room("shop");
  for (auto _ : state) {
    room.Request({.endpoint = Endpoint::kStatus,
                  .latency = std::chrono::microseconds(40),
                  .visitor = &kVisitor});
  }
}
BENCHMARK(BM_Recorder_PollWithVisitor)->ThreadRange(1, 2);

void BM_Recorder_JoinWithVisitor(benchmark::State& state) {
  RoomRecorder& room = Shared().Room("shop");
  std::uint64_t i = 0;
  std::string ip = "10.0.0.0";
  for (auto _ : state) {
    // A new address each time: the sketch's slowest case (a miss evicts the lightest key).
    ip.resize(5);
    ip += std::to_string(++i % 250000);
    Visitor who = kVisitor;
    who.ip = ip;
    room.Request({.endpoint = Endpoint::kJoin, .visitor = &who});
  }
}
BENCHMARK(BM_Recorder_JoinWithVisitor)->ThreadRange(1, 2);

void BM_Recorder_Lookup(benchmark::State& state) {
  Shared().Room("shop");
  for (auto _ : state) benchmark::DoNotOptimize(Shared().Find("shop"));
}
BENCHMARK(BM_Recorder_Lookup);

// The once-a-second step for one busy room (the collector's side).
void BM_Recorder_Collect(benchmark::State& state) {
  Recorder recorder;
  std::vector<Recorder::Collected> out;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < 1000; ++i) {
      recorder.Room("shop").Request({.endpoint = Endpoint::kJoin, .visitor = &kVisitor});
    }
    state.ResumeTiming();
    recorder.Collect(out);
  }
}
BENCHMARK(BM_Recorder_Collect);

}  // namespace
}  // namespace vwr::analytics
