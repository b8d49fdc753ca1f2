// Micro benchmarks for admission tokens (ES256): Issue runs once per admission; Verify runs on
// every protected request (nginx auth_request), where the same cookie comes back again and
// again, so the verified-token cache is measured apart from a full ECDSA verification.
// Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "token/admission_token.hpp"
#include "token/es256.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::token {
namespace {

using std::chrono::seconds;

AdmissionClaims BenchClaims() {
  return AdmissionClaims{.aud = "summer-sale",
                         .sub = "q5Zl3B5nW1m0bEmoXzQ7cA",
                         .iat = 1'800'000'000,
                         .nbf = 1'800'000'000,
                         .exp = 1'800'000'900,
                         .jti = "3f2a9c0d4e5b6a7f.1234567"};
}

// A ring with one key on a fake clock at the claims' iat (so cached entries stay valid).
struct Bench {
  util::FakeClock clock{util::WallTime(seconds(1'800'000'000))};
  KeyRing ring{clock, seconds(900)};
  Bench() { ring.SetOwnKeys(SingleKeySet(EcPrivateKey::Generate(), 1'800'000'000)); }
};

void BM_AdmissionToken_Issue(benchmark::State& state) {
  Bench b;
  const AdmissionTokenSigner signer(b.ring, b.clock);
  AdmissionClaims claims = BenchClaims();
  for (auto _ : state) {
    ++claims.iat;
    std::string token = signer.Issue(claims).value();
    benchmark::DoNotOptimize(token);
  }
}
BENCHMARK(BM_AdmissionToken_Issue);

// A full verification every time: parsing, ECDSA P-256, claims (the cache is off).
void BM_AdmissionToken_VerifyCold(benchmark::State& state) {
  Bench b;
  const AdmissionTokenSigner signer(b.ring, b.clock, VerifiedTokenCache::Options{.capacity = 0});
  const std::string token = signer.Issue(BenchClaims()).value();
  for (auto _ : state) {
    auto claims = signer.Verify(token, 1'800'000'100, "summer-sale");
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_AdmissionToken_VerifyCold);

// The same token again: SHA-256 of the token, a shard lookup, a copy of the claims. Threads
// share one signer (set up by thread 0 before the threads start together, torn down after they
// have all finished).
void BM_AdmissionToken_VerifyCached(benchmark::State& state) {
  static Bench* b = nullptr;
  static AdmissionTokenSigner* signer = nullptr;
  static std::string token;
  if (state.thread_index() == 0) {
    b = new Bench;
    signer = new AdmissionTokenSigner(b->ring, b->clock);
    token = signer->Issue(BenchClaims()).value();
    (void)signer->Verify(token);
  }
  for (auto _ : state) {
    auto claims = signer->Verify(token, 1'800'000'100, "summer-sale");
    benchmark::DoNotOptimize(claims);
  }
  if (state.thread_index() == 0) {
    state.counters["hit_ratio"] =
        static_cast<double>(signer->cache().hits()) /
        static_cast<double>(signer->cache().hits() + signer->cache().misses());
    delete signer;
    delete b;
  }
}
BENCHMARK(BM_AdmissionToken_VerifyCached)->Threads(1)->Threads(2);

}  // namespace
}  // namespace vwr::token
