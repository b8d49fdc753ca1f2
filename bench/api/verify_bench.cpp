// Micro benchmarks for GET /api/v1/verify, the call nginx auth_request makes before every
// protected request: the whole handler (routing, cookie, cached token verification, session
// check, the answer) without the network, over an embedded store on a fake clock.
// Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>

#include "api/public_api.hpp"
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
  std::unique_ptr<store::EmbeddedStore> store;
  std::unique_ptr<http::RoomDirectory> rooms;
  std::unique_ptr<PublicApi> api;
  std::string token;

  Bench() {
    spdlog::set_level(spdlog::level::warn);  // the refusals' log lines are not what is measured
    ring.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
    std::vector<store::RoomSpec> specs;
    std::vector<http::RoomRoute> routes;
    // A handful of rooms, as a site with several sales would have.
    for (const char* id : {"home", "summer-sale", "tickets", "vip", "outlet"}) {
      specs.push_back({id, core::Policy{}});
    }
    routes = {{"home", {{"shop.example.com", "/"}}},
              {"summer-sale", {{"shop.example.com", "/sale"}}},
              {"tickets", {{"*.tickets.example.com", "/"}}},
              {"vip", {{"shop.example.com", "/sale/vip"}}},
              {"outlet", {{"*", "/outlet"}}}};
    store = std::make_unique<store::EmbeddedStore>(specs, clock);
    rooms = std::make_unique<http::RoomDirectory>(*store);
    api = std::make_unique<PublicApi>(*rooms, tickets, tokens, key, clock, metrics);
    api->SetRoutes(routes);
    http::Request join{http::verb::post, "/api/v1/rooms/summer-sale/join", 11};
    const http::Response joined = api->Handle(join, http::ConnectionInfo{});
    const std::string& body = joined.body();
    const std::size_t at = body.find(R"("token":")") + 9;
    token = body.substr(at, body.find('"', at) - at);
  }

  // Serves `req` and returns the status (verify answers at once, on this thread).
  unsigned Serve(const http::Request& req) {
    unsigned status = 0;
    api->Serve(req, http::ConnectionInfo{},
               [&status](http::Response res) { status = res.result_int(); });
    return status;
  }
};

// The usual case: a browser's cookie, the room found by the original host and URI.
void BM_Verify_CookieRouted(benchmark::State& state) {
  Bench b;
  http::Request req{http::verb::get, "/api/v1/verify", 11};
  req.set("X-Original-Host", "shop.example.com");
  req.set("X-Original-URI", "/sale/shoes/42?size=9");
  req.set(http::field::cookie, "_ga=GA1.2.3; session=abc; vwr_summer-sale=" + b.token);
  if (b.Serve(req) != 204) state.SkipWithError("not admitted");
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Verify_CookieRouted)->ThreadRange(1, 2);

// An API client: a bearer token, the room named.
void BM_Verify_BearerNamed(benchmark::State& state) {
  Bench b;
  http::Request req{http::verb::get, "/api/v1/verify?room=summer-sale", 11};
  req.set(http::field::authorization, "Bearer " + b.token);
  if (b.Serve(req) != 204) state.SkipWithError("not admitted");
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Verify_BearerNamed);

// A visitor without a cookie: 401 with the waiting page's URL.
void BM_Verify_NotAdmitted(benchmark::State& state) {
  Bench b;
  http::Request req{http::verb::get, "/api/v1/verify", 11};
  req.set("X-Original-Host", "shop.example.com");
  req.set("X-Original-URI", "/sale/shoes/42?size=9");
  req.set("X-Original-Proto", "https");
  if (b.Serve(req) != 401) state.SkipWithError("admitted?");
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Verify_NotAdmitted);

}  // namespace
}  // namespace vwr::api
