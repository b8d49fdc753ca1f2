// Micro benchmarks for core::Room, the pure domain logic behind every request: a join, a status
// poll (waiting, and admitted), and the periodic tick. Everything runs on a util::FakeClock, so
// the figures are the cost of the logic alone (no clock reads, no lock, no I/O).
// Link with benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "core/policy.hpp"
#include "core/room.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A long line in front of the joins and polls below: a flash crowd, not an empty room.
constexpr std::uint64_t kQueued = 1'000'000;

Instant NowOf(const util::FakeClock& clock) { return Instant::From(clock); }

// A room that keeps everyone waiting: one active slot, taken by the first join, and a rate too
// slow to matter during a run.
Policy WaitingPolicy() {
  Policy p;
  p.max_active = 1;
  p.admit_rate = 0.001;
  p.burst = 1;
  p.session_timeout = seconds(3600);
  p.claim_grace = seconds(3600);
  return p;
}

// Joins `count` anonymous users.
void Fill(Room& room, const util::FakeClock& clock, std::uint64_t count) {
  const Instant now = NowOf(clock);
  for (std::uint64_t i = 0; i < count; ++i) benchmark::DoNotOptimize(room.Join("", now));
}

// An anonymous join into a long line: the common case under a flash crowd. Issues the next
// ticket; nothing is stored per waiting user.
void BM_Room_Join(benchmark::State& state) {
  util::FakeClock clock;
  Room room("summer-sale", WaitingPolicy(), 7, clock.Now());
  Fill(room, clock, kQueued);
  const Instant now = NowOf(clock);
  for (auto _ : state) {
    TicketOutcome out = room.Join("", now);
    benchmark::DoNotOptimize(out);
  }
  if (room.waiting() < kQueued) state.SkipWithError("joins were not left waiting");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Room_Join);

// A join that gives a userId: the room remembers it so that a second join returns the same
// ticket (two hash-map inserts per new user).
void BM_Room_JoinWithUserId(benchmark::State& state) {
  util::FakeClock clock;
  Room room("summer-sale", WaitingPolicy(), 7, clock.Now());
  Fill(room, clock, kQueued);
  const Instant now = NowOf(clock);
  std::string user = "user-00000000000";
  std::uint64_t n = 0;
  for (auto _ : state) {
    user.replace(5, 11, std::to_string(100'000'000'000 + ++n).substr(1));
    TicketOutcome out = room.Join(user, now);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Room_JoinWithUserId);

// Room::Poll of a ticket far back in a long line: the answer is "waiting".
void BM_Room_Poll_Waiting(benchmark::State& state) {
  util::FakeClock clock;
  Room room("summer-sale", WaitingPolicy(), 7, clock.Now());
  Fill(room, clock, kQueued);
  const std::uint64_t ticket = room.last_issued() / 2;
  const Instant now = NowOf(clock);
  for (auto _ : state) {
    TicketOutcome out = room.Poll(ticket, now);
    benchmark::DoNotOptimize(out);
  }
  if (room.Poll(ticket, now).status != TicketStatus::kWaiting) {
    state.SkipWithError("the ticket is not waiting");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Room_Poll_Waiting);

// Room::Poll of an admitted ticket (its session exists): refreshes the session's idle clock.
// The room holds 10 000 live sessions.
void BM_Room_Poll_Admitted(benchmark::State& state) {
  util::FakeClock clock;
  Policy p = WaitingPolicy();
  p.max_active = 10'000;
  p.admit_rate = 1'000'000;
  p.burst = 10'000;
  Room room("summer-sale", p, 7, clock.Now());
  Fill(room, clock, 10'000);  // all admitted at once: nobody waits and the budgets allow it
  const std::uint64_t ticket = 5'000;
  const Instant now = NowOf(clock);
  if (room.active() != 10'000 || room.Poll(ticket, now).status != TicketStatus::kAdmitted) {
    state.SkipWithError("the sessions were not created");
    return;
  }
  for (auto _ : state) {
    TicketOutcome out = room.Poll(ticket, now);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Room_Poll_Admitted);

// One tick (every 100 ms in the server) that calls N tickets. The policy admits N per tick
// (admit_rate = 10·N per second) and slots are unlimited, so every tick calls exactly N. Nobody
// claims: with claim_grace 1 s each tick also drops the N no-shows called ten ticks before, which
// is the steady state of a line whose front users have walked away (the most work a tick does).
// Refilling the line (joins, outside the timing) happens once per million calls.
void BM_Room_Tick(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  util::FakeClock clock;
  Policy p;
  p.max_active = kMaxMaxActive;
  p.admit_rate = 10.0 * static_cast<double>(n);
  p.burst = static_cast<std::int64_t>(n);
  p.session_timeout = seconds(600);
  p.claim_grace = seconds(1);
  Room room("summer-sale", p, 7, clock.Now());
  // When nobody waits, a join would be admitted at once; pause the room while queueing.
  Policy paused = p;
  paused.mode = Mode::kPause;
  auto refill = [&] {
    room.SetPolicy(paused);
    Fill(room, clock, kQueued);
    room.SetPolicy(p);
  };
  refill();
  std::uint64_t called = 0;
  std::uint64_t no_shows = 0;
  for (auto _ : state) {
    if (room.waiting() < n) {
      state.PauseTiming();
      refill();
      state.ResumeTiming();
    }
    clock.Advance(milliseconds(100));
    const TickReport report = room.Tick(NowOf(clock));
    called += report.called;
    no_shows += report.no_shows;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(called));
  const double iterations = static_cast<double>(state.iterations());
  state.counters["called/tick"] = static_cast<double>(called) / iterations;
  state.counters["no_shows/tick"] = static_cast<double>(no_shows) / iterations;
}
BENCHMARK(BM_Room_Tick)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace vwr::core
