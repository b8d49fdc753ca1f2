// How many heap allocations a keep-alive status poll costs, end to end: the real HttpServer and
// the real PublicApi (with abuse protection) over a socket. None, once the connection and its
// worker are warm: the comment on BasicHttpSession in http_server.cpp says where each piece of a
// poll's memory comes from instead.
//
// Replacing the global operator new affects the whole test binary, which only counts and
// otherwise behaves as usual. Every form goes through malloc / aligned_alloc and free, so that a
// sanitizer's own operator new never meets this file's delete (or the other way round).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "analytics/recorder.hpp"
#include "api/public_api.hpp"
#include "app/request_recording.hpp"
#include "guard/abuse_guard.hpp"
#include "server/http_server.hpp"
#include "store/embedded_store.hpp"
#include "token/es256.hpp"
#include "unit/server/raw_client.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};

void* Allocate(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* AllocateAligned(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  // aligned_alloc wants a size that is a multiple of the alignment.
  return std::aligned_alloc(a, ((size == 0 ? 1 : size) + a - 1) / a * a);
}
}  // namespace

// GCC pairs the inlined malloc/free with the new/delete expressions and warns; the pairing is
// consistent by construction here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (void* p = Allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return Allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return Allocate(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  if (void* p = AllocateAligned(size, align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return AllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return AllocateAligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace vwr::server {
namespace {

using std::chrono::seconds;

// What a poll costs once a connection is warm: its request's and answer's header fields and its
// answer's body come from what the worker recycled (see BasicHttpSession).
constexpr std::size_t kAllocationsPerPoll = 0;

// Polls `kPolls` times over one warm keep-alive connection; the allocations they took.
// `observer`: who hears of every answer (the traffic analysis, as a node wires it).
void ExpectPollAllocations(http::RequestObserver* observer) {
  spdlog::set_level(spdlog::level::warn);
  util::FakeClock clock;
  token::SecretKey key{{1, 2, 3}};
  token::TicketCodec tickets{key};
  token::KeyRing ring{clock, seconds(600)};
  ring.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
  token::AdmissionTokenSigner tokens{ring, clock};
  http::ApiMetrics metrics;
  metrics.SetObserver(observer);
  core::Policy policy;
  policy.max_active = 1;  // taken by the first join: the polling ticket waits
  store::EmbeddedStore store({{"sale", policy}}, clock);
  http::RoomDirectory rooms(store);
  // Abuse protection as a node runs it (shadow mode), with limits no test reaches: every poll
  // is counted.
  guard::AbuseGuard guard(clock);
  guard::GuardSettings settings;
  settings.limit_per_ip = 1'000'000;
  settings.limit_per_identity = 1'000'000;
  guard.Configure({{"sale", settings}});
  api::PublicApiOptions options;
  options.guard = &guard;
  api::PublicApi api(rooms, tickets, tokens, key, clock, metrics, options);

  const http::Request join{http::verb::post, "/api/v1/rooms/sale/join", 11};
  api.Handle(join, {});
  const std::string waiting = api.Handle(join, {}).body();
  ASSERT_NE(waiting.find(R"("status":"waiting")"), std::string::npos) << waiting;
  const std::size_t at = waiting.find(R"("ticket":")") + 10;
  const std::string ticket = waiting.substr(at, waiting.find('"', at) - at);

  HttpServer server(1, clock);
  ListenerOptions listener;
  listener.name = "public";
  listener.endpoint = tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
  listener.handler = &api;
  listener.max_requests_per_connection = 0;
  const auto bound = server.AddListener(listener);
  ASSERT_TRUE(bound) << bound.error().message();
  server.Start();

  // What the SDK sends.
  const std::string poll =
      "GET /api/v1/rooms/sale/status HTTP/1.1\r\nHost: queue.example.com\r\n"
      "X-VWR-Ticket: " +
      ticket + "\r\n\r\n";
  testing::RawClient client(bound->port());
  ASSERT_TRUE(client.connected());
  // The first polls grow what a connection keeps (its buffers, Asio's recycled handler memory)
  // and fill the worker's stocks of recycled blocks and bodies.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(client.RoundTrip(poll), 200u);

  constexpr std::size_t kPolls = 1000;
  const std::size_t before = g_allocations.load();
  for (std::size_t i = 0; i < kPolls; ++i) ASSERT_EQ(client.RoundTrip(poll), 200u);
  const std::size_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, kAllocationsPerPoll * kPolls)
      << static_cast<double>(allocations) / kPolls << " allocations per poll";
  server.Stop(std::chrono::milliseconds(1000));
}

TEST(PollAllocations, AKeepAliveStatusPollAllocatesNothing) { ExpectPollAllocations(nullptr); }

TEST(PollAllocations, RecordingTheTrafficAllocatesNothingMore) {
  // Every poll counted in its room, one in eight with its visitor (address, agent, host).
  analytics::Recorder recorder;
  recorder.Room("sale");
  app::RequestRecording recording(recorder);
  ExpectPollAllocations(&recording);
  std::vector<analytics::Recorder::Collected> collected;
  recorder.Collect(collected);
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_GE(collected[0].frame[analytics::field::kRequestsStatus], 1100u) << "the polls counted";
  EXPECT_FALSE(collected[0].tops[static_cast<std::size_t>(analytics::Dimension::kIp)].empty());
}

}  // namespace
}  // namespace vwr::server
