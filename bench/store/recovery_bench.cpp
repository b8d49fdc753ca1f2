// Recovery time of the embedded store: how long Open() takes to rebuild a room with N waiting
// users, from the journal alone (a crash) or from a snapshot (a clean stop).
//
// The default run rebuilds a million. VWR_RECOVERY_WAITING=<count> rebuilds that many instead
// (ten million takes minutes to prepare and about a GiB of disk under $TMPDIR for the while):
//   VWR_RECOVERY_WAITING=10000000 build/bench/vwr_bench_store --benchmark_filter=Recover
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "store/embedded_store.hpp"
#include "store/event_codec.hpp"
#include "store/journal.hpp"
#include "util/base64.hpp"

namespace vwr::store {
namespace {

namespace fs = std::filesystem;

core::Policy WaitingPolicy() {
  core::Policy p;
  p.max_active = 1;
  p.admit_rate = 0.001;
  p.burst = 1;
  return p;
}

// An identity as a node stores it: a 22-character pseudonym (the base64url text of 16 bytes).
std::string PseudonymOf(std::uint64_t n) {
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
  bytes[15] = 0x5A;
  return util::Base64UrlEncode(bytes);
}

// A state directory holding `waiting` joins, half of them with a userId; with `snapshot` the
// store is closed cleanly (snapshot written), otherwise it is abandoned after a flush, as a crash
// would leave it.
fs::path Prepare(std::int64_t waiting, bool snapshot) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("vwr-recovery-bench-" + std::to_string(::getpid()) + (snapshot ? "-snap" : "-log"));
  fs::remove_all(dir);
  util::FakeClock clock;
  EmbeddedOptions o;
  o.dir = dir.string();
  o.fsync = FsyncMode::kNever;
  o.snapshot_interval = std::chrono::hours(1);
  auto store = EmbeddedStore::Open({{"room", WaitingPolicy()}}, clock, o);
  EmbeddedRoom* room = (*store)->Find("room");
  for (std::int64_t i = 0; i < waiting; ++i) {
    room->Join(i % 2 == 0 ? PseudonymOf(static_cast<std::uint64_t>(i)) : std::string());
  }
  if (snapshot) {
    (*store)->Close();
  } else {
    // Leave the journal as a crash would: everything written, no snapshot, never closed (the
    // store is abandoned, its threads idle until the benchmark exits).
    std::promise<bool> done;
    const std::uint64_t lsn = room->Join("").durable_lsn;
    (*store)->AwaitDurable(lsn, [&](bool ok) { done.set_value(ok); });
    done.get_future().wait();
    (void)store->release();
  }
  return dir;
}

void BM_EmbeddedStore_Recover(benchmark::State& state) {
  const std::int64_t waiting = state.range(0);
  const bool snapshot = state.range(1) != 0;
  const fs::path dir = Prepare(waiting, snapshot);
  util::FakeClock clock;
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path copy = dir.string() + "-run";
    fs::remove_all(copy);
    fs::copy(dir, copy, fs::copy_options::recursive);
    EmbeddedOptions o;
    o.dir = copy.string();
    o.fsync = FsyncMode::kNever;
    o.snapshot_interval = std::chrono::hours(1);
    state.ResumeTiming();
    auto store = EmbeddedStore::Open({{"room", WaitingPolicy()}}, clock, o);
    benchmark::DoNotOptimize(store);
    state.PauseTiming();
    if ((*store)->Find("room")->Figures().last_issued < static_cast<std::uint64_t>(waiting)) {
      state.SkipWithError("recovered fewer tickets than were issued");
    }
    store->reset();
    fs::remove_all(copy);
    state.ResumeTiming();
  }
  fs::remove_all(dir);
  state.counters["waiting"] = static_cast<double>(waiting);
}
const bool kRegistered = [] {
  std::int64_t waiting = 1'000'000;
  if (const char* asked = std::getenv("VWR_RECOVERY_WAITING"); asked != nullptr) {
    waiting = std::max<std::int64_t>(1, std::atoll(asked));
  }
  benchmark::RegisterBenchmark("BM_EmbeddedStore_Recover", BM_EmbeddedStore_Recover)
      ->ArgNames({"waiting", "snapshot"})
      ->Args({waiting, 0})
      ->Args({waiting, 1})
      ->Unit(benchmark::kMillisecond)
      ->Iterations(3);
  return true;
}();

}  // namespace
}  // namespace vwr::store
