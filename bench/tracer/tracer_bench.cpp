// Micro benchmarks for the TRACER-compatible API: a legacy client's poll of a waiting identity
// and its first call (checkBotIp.do), through the whole handler (form parse, origin check,
// identity, room, the poll cache, the answer) without the network, over an embedded store on a
// fake clock; and the two pieces a poll adds to the native status poll, the identity digest and
// the XML answer. Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "store/embedded_store.hpp"
#include "tracer/tracer_api.hpp"

namespace vwr::tracer {
namespace {

// What the legacy client script posts on every call.
constexpr std::string_view kForm =
    "host=shop.example.com&ip=10.1.2.3&loginId=bench-waiter&port=443"
    "&pageUrl=https%3A%2F%2Fshop.example.com%2Fsale%2F1&userAgent=Mozilla%2F5.0+(Windows+NT+10.0)";

struct Bench {
  util::FakeClock clock;
  http::ApiMetrics metrics;
  token::IdentityPseudonyms pseudonyms{token::SecretKey{{1, 2, 3}}};
  std::unique_ptr<store::EmbeddedStore> store;
  std::unique_ptr<http::RoomDirectory> rooms;
  std::unique_ptr<TracerApi> api;
  http::ConnectionInfo peer{boost::asio::ip::make_address("198.51.100.7")};

  Bench() {
    spdlog::set_level(spdlog::level::warn);
    core::Policy policy;
    policy.max_active = 1;  // taken by the first call: the benchmark's identity waits
    store = std::make_unique<store::EmbeddedStore>(
        std::vector<store::RoomSpec>{{"sale", policy}, {"home", core::Policy{}}}, clock);
    rooms = std::make_unique<http::RoomDirectory>(*store);
    TracerOptions options;
    options.domain = "queue.example.com";
    api = std::make_unique<TracerApi>(*rooms, clock, metrics, pseudonyms, std::move(options));
    api->SetRoutes({{"sale", {{"shop.example.com", "/sale"}}}, {"home", {{"*", "/"}}}});
    Serve(Post("inputQueue.do", "host=shop.example.com&loginId=holder&pageUrl=%2Fsale"));
    const std::string first = Serve(Post("inputQueue.do", kForm));
    if (first.find(R"("isWait" type="String">T<)") == std::string::npos) {
      spdlog::error("the benchmark's identity is not waiting: {}", first);
    }
  }

  static http::Request Post(std::string_view endpoint, std::string_view form,
                            std::string_view origin = {}) {
    http::Request req{http::verb::post, "/TRACERAPI/" + std::string(endpoint), 11};
    req.set(http::field::content_type, "application/x-www-form-urlencoded; charset=UTF-8");
    if (!origin.empty()) req.set(http::field::origin, origin);
    req.body() = std::string(form);
    req.prepare_payload();
    return req;
  }

  // Serves `req` (a poll of a cached identity answers at once, on this thread).
  std::string Serve(const http::Request& req) {
    std::string body;
    api->Serve(req, peer, [&body](http::Response res) { body = std::move(res.body()); });
    return body;
  }
};

// The hot path of a legacy client: a waiting identity polls inputQueue.do from the site's page.
void BM_Tracer_Poll(benchmark::State& state) {
  Bench b;
  const http::Request req = Bench::Post("inputQueue.do", kForm, "https://shop.example.com");
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Tracer_Poll);

// The same poll with the fields in the query string (Nexacro clients).
void BM_Tracer_PollQueryString(benchmark::State& state) {
  Bench b;
  http::Request req{http::verb::get, "/TRACERAPI/inputQueue.do?" + std::string(kForm), 11};
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Tracer_PollQueryString);

// The legacy client's first call, which it gives 1 s.
void BM_Tracer_CheckBotIp(benchmark::State& state) {
  Bench b;
  const http::Request req = Bench::Post("checkBotIp.do", kForm, "https://shop.example.com");
  for (auto _ : state) benchmark::DoNotOptimize(b.Serve(req));
}
BENCHMARK(BM_Tracer_CheckBotIp);

// The identity of a loginId bound to a cookie, and to an address.
void BM_TracerIdentity(benchmark::State& state) {
  const auto address = boost::asio::ip::make_address("198.51.100.7");
  const std::string_view cookie = state.range(0) == 0 ? "" : "9f86d081884c7d659a2feaa0c55ad015a";
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        TracerIdentity(IdentityBinding::kCookie, "bench-waiter", cookie, address));
  }
}
BENCHMARK(BM_TracerIdentity)->Arg(0)->Arg(1);

// The 13-field answer of a waiting identity.
void BM_RenderTracerXml(benchmark::State& state) {
  const TracerValues values = {"shop.example.com",
                               "10.1.2.3",
                               "bench-waiter",
                               "443",
                               "https://shop.example.com/sale/1",
                               "T",
                               "118",
                               "100",
                               "600",
                               "2391",
                               "240",
                               "Mozilla/5.0 (Windows NT 10.0)",
                               "queue.example.com"};
  for (auto _ : state) benchmark::DoNotOptimize(RenderTracerXml(values));
}
BENCHMARK(BM_RenderTracerXml);

}  // namespace
}  // namespace vwr::tracer
