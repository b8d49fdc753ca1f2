// Micro benchmarks for the abuse guard's Check(), which every public request passes through
// (polls included): a waiting user's poll (an address and a ticket, both hashed with the keyed
// hash and counted in the sketch), and a request from a blocked address (the sketch's filter
// cannot rule the block out, so the exact blocks are looked up under a shard's mutex).
// Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <string>

#include "guard/abuse_guard.hpp"

namespace vwr::guard {
namespace {

guard::GuardSettings Settings() {
  guard::GuardSettings s;
  s.mode = guard::GuardMode::kEnforce;
  s.limit_per_ip = 1'000'000'000;
  s.limit_per_identity = 1'000'000'000;
  return s;
}

void BM_Guard_CheckPoll(benchmark::State& state) {
  util::FakeClock clock;
  guard::AbuseGuard guard(clock);
  guard.Configure({{"sale", Settings()}});
  const auto ip = boost::asio::ip::make_address("203.0.113.7");
  const std::string ticket(96, 'T');  // about the size of a real ticket
  for (auto _ : state) {
    benchmark::DoNotOptimize(guard.Check(guard::GuardRequest{"sale", ip, ticket}));
  }
}
BENCHMARK(BM_Guard_CheckPoll);

void BM_Guard_CheckBlockedAddress(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  util::FakeClock clock;
  guard::AbuseGuard guard(clock);
  guard::GuardSettings s = Settings();
  s.limit_per_ip = 1;
  guard.Configure({{"sale", s}});
  const auto ip = boost::asio::ip::make_address("203.0.113.7");
  guard.Check(guard::GuardRequest{"sale", ip, {}});
  guard.Check(guard::GuardRequest{"sale", ip, {}});  // blocked from here on
  for (auto _ : state) {
    benchmark::DoNotOptimize(guard.Check(guard::GuardRequest{"sale", ip, {}}));
  }
}
BENCHMARK(BM_Guard_CheckBlockedAddress);

}  // namespace
}  // namespace vwr::guard
