// Micro benchmarks for the per-request token paths: ticket decode runs on every status poll,
// admission token verify on every protected request. Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "token/admission_token.hpp"
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

AdmissionClaims BenchClaims() {
  return AdmissionClaims{.aud = "summer-sale",
                         .sub = "q5Zl3B5nW1m0bEmoXzQ7cA",
                         .iat = 1'800'000'000,
                         .nbf = 1'800'000'000,
                         .exp = 1'800'000'900,
                         .jti = "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"};
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

void BM_AdmissionToken_Issue(benchmark::State& state) {
  const AdmissionTokenSigner signer(BenchKey(), "k1");
  AdmissionClaims claims = BenchClaims();
  for (auto _ : state) {
    ++claims.iat;
    std::string token = signer.Issue(claims);
    benchmark::DoNotOptimize(token);
  }
}
BENCHMARK(BM_AdmissionToken_Issue);

void BM_AdmissionToken_Verify(benchmark::State& state) {
  const AdmissionTokenSigner signer(BenchKey(), "k1");
  const std::string token = signer.Issue(BenchClaims());
  for (auto _ : state) {
    auto claims = signer.Verify(token, 1'800'000'100, "summer-sale");
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_AdmissionToken_Verify);

}  // namespace
}  // namespace vwr::token
