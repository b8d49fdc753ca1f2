// Micro benchmarks for the ticket codec: decode runs on every status poll (admission tokens:
// admission_token_bench.cpp). Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "token/key.hpp"
#include "token/ticket_codec.hpp"
#include "util/random.hpp"

namespace vwr::token {
namespace {

SecretKey BenchKey() {
  SecretKey key;
  util::SecureRandom(key.bytes);
  return key;
}

void BM_TicketCodec_Encode(benchmark::State& state) {
  const TicketCodec codec(BenchKey());
  TicketClaims claims{.incarnation = util::SecureRandom64(), .number = 1, .frontier_at_join = 0};
  for (auto _ : state) {
    ++claims.number;
    std::string ticket = codec.Encode("summer-sale", claims);
    benchmark::DoNotOptimize(ticket);
  }
}
BENCHMARK(BM_TicketCodec_Encode);

void BM_TicketCodec_Decode(benchmark::State& state) {
  const TicketCodec codec(BenchKey());
  const std::string ticket =
      codec.Encode("summer-sale", TicketClaims{.incarnation = util::SecureRandom64(),
                                               .number = 123'456,
                                               .frontier_at_join = 98'765});
  for (auto _ : state) {
    auto claims = codec.Decode("summer-sale", ticket);
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_TicketCodec_Decode);

}  // namespace
}  // namespace vwr::token
