// Memory per waiting user: the resident set of this process before and after a million joins
// into the embedded store (journaled to a real directory, as a node runs it), divided by the
// joins. docs/benchmarks.md ("Memory per waiting user") gives the measured figures; the bounds
// here are those figures with headroom, so that a change that starts keeping something per
// waiting user fails here.
//
// Its own executable: no other test's heap can hide the growth (by lending freed memory) or add
// to it. Skipped under sanitizers, whose allocators keep freed memory on purpose.
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "store/embedded_store.hpp"
#include "util/base64.hpp"
#include "util/clock.hpp"

// g++ names the sanitizers with macros, clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VWR_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VWR_SANITIZED 1
#endif
#endif
#ifndef VWR_SANITIZED
#define VWR_SANITIZED 0
#endif

namespace vwr::store {
namespace {

namespace fs = std::filesystem;

// A million joins take about half a second anonymous, two seconds with identities; a million
// spreads the fixed buffers (about 1.4 MiB) thin enough to see what each user costs.
constexpr std::uint64_t kAnonymousJoins = 1'000'000;
constexpr std::uint64_t kIdentifiedJoins = 1'000'000;
// Anonymous waiting users are a number inside their signed ticket: the room keeps for each only
// the 4-byte time by which its next poll is due, so that one who stopped polling can be passed
// over (core::Attendance). Measured: 5.4 bytes each (those 4, and a fixed 1.4 MiB of buffers and
// pages spread over a million). A room that kept even one more 4-byte number per waiting user
// would fail.
constexpr double kMaxBytesPerAnonymousUser = 6;
// A waiting user with an identity (a userId, a bound TRACER caller) is remembered, so that a
// second join returns the same ticket: its pseudonym's 16 bytes, its ticket and the frontier it
// joined at in a packed 32-byte record, and a 5-byte slot in each of two open-addressing indexes
// 7/16 to 7/8 full (core::IdentityTickets), and the 4 bytes every waiting user costs. Measured
// at a million (the indexes just past a growth, near their emptiest): 58 bytes each; the two hash
// maps this replaced cost 237. The goal is ten million in under a GiB.
constexpr double kMaxBytesPerIdentifiedUser = 64;

// Resident memory of this process, after giving freed heap back to the system, so that what
// is measured is what the store keeps.
std::int64_t ResidentBytes() {
  ::malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  std::int64_t size_pages = 0;
  std::int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * ::sysconf(_SC_PAGESIZE);
}

core::Policy KeepsEveryoneWaiting() {
  core::Policy p;
  p.max_active = 1;
  p.admit_rate = 0.001;
  p.burst = 1;
  return p;
}

// A well-mixed 64-bit value of `n` (splitmix64's finaliser).
std::uint64_t SplitMix(std::uint64_t n) {
  n += 0x9e3779b97f4a7c15ULL;
  n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ULL;
  n = (n ^ (n >> 27)) * 0x94d049bb133111ebULL;
  return n ^ (n >> 31);
}

// Bytes of resident memory per join of `joins` waiting users, each with an identity when
// `identified`; every join durable before the second measure.
double BytesPerWaitingUser(bool identified, std::uint64_t joins) {
  const fs::path dir =
      fs::temp_directory_path() / ("vwr-waiting-memory-" + std::to_string(::getpid()) +
                                   (identified ? "-identified" : "-anonymous"));
  fs::remove_all(dir);
  util::FakeClock clock;
  EmbeddedOptions options;
  options.dir = dir.string();
  options.fsync = FsyncMode::kInterval;
  options.snapshot_interval = std::chrono::hours(1);
  auto opened = EmbeddedStore::Open({{"sale", KeepsEveryoneWaiting()}}, clock, options);
  EXPECT_TRUE(opened) << opened.error().message();
  if (!opened) return 0;
  EmbeddedStore& store = **opened;
  EmbeddedRoom* room = store.Find("sale");
  // The first join takes the only slot; the store's structures exist before the first measure.
  room->Join("");
  // Identities as a node stores them: 22-character pseudonyms, the base64url text of 16
  // bytes of an HMAC (token::IdentityPseudonyms); here 16 bytes as random as those.
  std::string identity;
  const std::int64_t before = ResidentBytes();
  std::uint64_t last_lsn = 0;
  for (std::uint64_t i = 0; i < joins; ++i) {
    if (identified) {
      std::array<std::uint8_t, 16> bytes{};
      const std::uint64_t halves[2] = {SplitMix(2 * i), SplitMix(2 * i + 1)};
      std::memcpy(bytes.data(), halves, bytes.size());
      identity = util::Base64UrlEncode(bytes);
    }
    const TicketAnswer answer = room->Join(identified ? std::string_view(identity) : "");
    EXPECT_EQ(answer.status, core::TicketStatus::kWaiting);
    last_lsn = answer.durable_lsn;
  }
  std::promise<bool> durable;
  store.AwaitDurable(last_lsn, [&](bool ok) { durable.set_value(ok); });
  EXPECT_TRUE(durable.get_future().get());
  const std::int64_t after = ResidentBytes();
  EXPECT_EQ(room->Figures().queue_size, joins);
  const double per_user = static_cast<double>(after - before) / static_cast<double>(joins);
  std::cout << "resident memory: " << before / 1024 << " KiB before, " << after / 1024
            << " KiB after " << joins << (identified ? " identified" : " anonymous")
            << " waiting users: " << per_user << " bytes each\n";
  store.Close();
  fs::remove_all(dir);
  return per_user;
}

TEST(WaitingMemory, AnAnonymousWaitingUserCostsNoMemory) {
  if (VWR_SANITIZED) GTEST_SKIP() << "a sanitizer's allocator keeps freed memory";
  EXPECT_LE(BytesPerWaitingUser(/*identified=*/false, kAnonymousJoins), kMaxBytesPerAnonymousUser);
}

TEST(WaitingMemory, AWaitingUserWithAnIdentityCostsItsPseudonym) {
  if (VWR_SANITIZED) GTEST_SKIP() << "a sanitizer's allocator keeps freed memory";
  // VWR_IDENTIFIED_JOINS=10000000 measures ten million (about a minute; docs/benchmarks.md).
  std::uint64_t joins = kIdentifiedJoins;
  if (const char* asked = std::getenv("VWR_IDENTIFIED_JOINS"); asked != nullptr) {
    joins = std::max<std::uint64_t>(1, std::strtoull(asked, nullptr, 10));
  }
  EXPECT_LE(BytesPerWaitingUser(/*identified=*/true, joins), kMaxBytesPerIdentifiedUser);
}

}  // namespace
}  // namespace vwr::store
