// Micro benchmarks for store::EmbeddedRoom, the layer every request goes through between the API
// and core::Room. A waiting status poll reads published atomics only (no lock), which is what lets
// polls scale with worker threads; joins and claims take the room's mutex. The clock is the real
// one, as in the server: a join reads it twice. Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "core/policy.hpp"
#include "store/embedded_store.hpp"
#include "util/clock.hpp"

namespace vwr::store {
namespace {

using std::chrono::seconds;

constexpr std::uint64_t kQueued = 1'000'000;

// Keeps everyone waiting: one active slot, taken by the first join, and a rate too slow to matter
// during a run.
RoomSpec WaitingRoom() {
  RoomSpec spec;
  spec.id = "summer-sale";
  spec.policy.max_active = 1;
  spec.policy.admit_rate = 0.001;
  spec.policy.burst = 1;
  spec.policy.session_timeout = seconds(3600);
  spec.policy.claim_grace = seconds(3600);
  return spec;
}

// One room with a long line, shared by every benchmark thread (a function-local static is
// initialised once, safely, whichever thread gets there first).
EmbeddedRoom& SharedWaitingRoom() {
  static EmbeddedRoom* room = [] {
    auto* r = new EmbeddedRoom(WaitingRoom(), 0x5eed, util::SystemClock::Instance());
    for (std::uint64_t i = 0; i < kQueued; ++i) benchmark::DoNotOptimize(r->Join(""));
    return r;
  }();
  return *room;
}

// The hot path: a status poll of a waiting ticket. Lock-free; with Threads(2) both threads poll
// the same room, as two server workers do.
void BM_EmbeddedRoom_StatusWaiting(benchmark::State& state) {
  EmbeddedRoom& room = SharedWaitingRoom();
  const std::uint64_t ticket = kQueued / 2 + static_cast<std::uint64_t>(state.thread_index());
  const std::uint64_t frontier_at_join = 1;
  for (auto _ : state) {
    TicketAnswer answer = room.Status(ticket, frontier_at_join);
    benchmark::DoNotOptimize(answer);
  }
  if (room.Status(ticket, frontier_at_join).status != core::TicketStatus::kWaiting) {
    state.SkipWithError("the ticket is not waiting");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EmbeddedRoom_StatusWaiting)->Threads(1)->Threads(2)->UseRealTime();

// A status poll of an admitted ticket: takes the room's mutex and refreshes the session.
void BM_EmbeddedRoom_StatusAdmitted(benchmark::State& state) {
  RoomSpec spec = WaitingRoom();
  spec.policy.max_active = 10'000;
  spec.policy.admit_rate = 1'000'000;
  spec.policy.burst = 10'000;
  EmbeddedRoom room(spec, 0x5eed, util::SystemClock::Instance());
  for (int i = 0; i < 1'000; ++i) benchmark::DoNotOptimize(room.Join(""));
  const std::uint64_t ticket = 500;
  if (room.Status(ticket, ticket).status != core::TicketStatus::kAdmitted) {
    state.SkipWithError("the ticket was not admitted");
    return;
  }
  for (auto _ : state) {
    TicketAnswer answer = room.Status(ticket, ticket);
    benchmark::DoNotOptimize(answer);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EmbeddedRoom_StatusAdmitted);

// An anonymous join into a long line (the flash-crowd case): the mutex, core::Room::Join, two
// clock reads and publishing the new figures. With Threads(2) the threads contend for the mutex.
void BM_EmbeddedRoom_Join(benchmark::State& state) {
  EmbeddedRoom& room = SharedWaitingRoom();
  for (auto _ : state) {
    TicketAnswer answer = room.Join("");
    benchmark::DoNotOptimize(answer);
  }
  if (room.Figures().queue_size < kQueued) state.SkipWithError("joins were not left waiting");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EmbeddedRoom_Join)->Threads(1)->Threads(2)->UseRealTime();

// The revocation check of /api/v1/verify, run on every protected request: a lookup in the
// room's live sessions (a lock-free TicketSet), 10,000 of them here, bypass ones among them.
// With Threads(2) both threads ask about the same room, as two server workers do.
void BM_EmbeddedRoom_SessionEnded(benchmark::State& state) {
  static EmbeddedRoom* room = [] {
    RoomSpec spec = WaitingRoom();
    spec.policy.max_active = 1'000'000;
    spec.policy.admit_rate = 1'000'000;
    spec.policy.burst = 1'000'000;
    auto* r = new EmbeddedRoom(spec, 0x5eed, util::SystemClock::Instance());
    for (int i = 0; i < 5'000; ++i) {
      benchmark::DoNotOptimize(r->Join(""));
      benchmark::DoNotOptimize(r->Admit(""));
    }
    return r;
  }();
  std::uint64_t ticket = 1 + static_cast<std::uint64_t>(state.thread_index()) * 1'000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(room->SessionEnded(ticket));
    ticket = ticket % 5'000 + 1;
  }
  if (room->SessionEnded(1) || room->SessionEnded(core::kBypassTicketBase + 1)) {
    state.SkipWithError("a live session reads as ended");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EmbeddedRoom_SessionEnded)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace vwr::store
