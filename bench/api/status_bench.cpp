// Micro benchmarks for GET /api/v1/rooms/{room}/status, the hot path: a waiting ticket's poll
// through the whole handler (routing, abuse protection, the ticket's check, the published
// frontier, the JSON answer) without the network, over an embedded store on a fake clock.
// Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "api/public_api.hpp"
#include "guard/abuse_guard.hpp"
#include "store/embedded_store.hpp"
#include "token/es256.hpp"

namespace vwr::api {
namespace {

using std::chrono::seconds;

struct Bench {
  util::FakeClock clock;
  token::SecretKey key{{1, 2, 3}};
  token::TicketCodec tickets{key};
  token::KeyRing ring{clock, seconds(600)};
  token::AdmissionTokenSigner tokens{ring, clock};
  http::ApiMetrics metrics;
  guard::AbuseGuard guard{clock};
  std::unique_ptr<store::EmbeddedStore> store;
  std::unique_ptr<http::RoomDirectory> rooms;
  std::unique_ptr<PublicApi> api;
  http::ConnectionInfo peer{boost::asio::ip::make_address("198.51.100.7")};
  std::string ticket;

  explicit Bench(bool guarded) {
    spdlog::set_level(spdlog::level::warn);
    ring.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
    core::Policy policy;
    policy.max_active = 1;  // taken by the first join: the benchmark's ticket waits
    store = std::make_unique<store::EmbeddedStore>(
        std::vector<store::RoomSpec>{{"sale", policy}, {"home", core::Policy{}}}, clock);
    rooms = std::make_unique<http::RoomDirectory>(*store);
    PublicApiOptions options;
    if (guarded) {
      // The defaults (shadow mode), with limits no benchmark loop reaches: every poll is
      // counted, none refused.
      guard::GuardSettings settings;
      settings.limit_per_ip = 0;
      settings.limit_per_identity = 0;
      guard.Configure({{"sale", settings}});
      options.guard = &guard;
    }
    api = std::make_unique<PublicApi>(*rooms, tickets, tokens, key, clock, metrics,
                                      std::move(options));
    http::Request join{http::verb::post, "/api/v1/rooms/sale/join", 11};
    api->Handle(join, peer);
    const http::Response waiting = api->Handle(join, peer);
    const std::string& body = waiting.body();
    const std::size_t at = body.find(R"("ticket":")") + 10;
    ticket = body.substr(at, body.find('"', at) - at);
  }

  // Serves `req` and returns the status (a waiting poll answers at once, on this thread).
  unsigned Serve(const http::Request& req) {
    unsigned status = 0;
    api->Serve(req, peer, [&status](http::Response res) { status = res.result_int(); });
    return status;
  }
};

// The SDK's poll: the ticket in X-VWR-Ticket.
void BM_Status_Poll(benchmark::State& state) {
  Bench b(/*guarded=*/state.range(0) != 0);
  http::Request req{http::verb::get, "/api/v1/rooms/sale/status", 11};
  req.set(http::field::host, "queue.example.com");
  req.set("X-VWR-Ticket", b.ticket);
  if (b.Serve(req) != 200) state.SkipWithError("not answered");
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Status_Poll)->Arg(0)->Arg(1);

}  // namespace
}  // namespace vwr::api
