#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace vwr::core {

// How long sessions lasted, from admission to their end (a leave, idleness, session_max, an
// operator), as cumulative bucket counts and a sum: a store keeps these with its other counters,
// so that every way a session ends is measured once, cluster-wide on a shared store, and the
// traffic analysis reads the distribution as per-second deltas like the leaves. The bounds are
// the upper bounds of the first buckets in seconds (a length equal to a bound falls in its
// bucket, as Prometheus' `le`); the last bucket holds everything longer. The Redis store's
// scripts (src/store/redis/prelude.lua) keep the same bounds.
inline constexpr std::array<std::int64_t, 11> kSessionLengthBoundsSeconds = {
    10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400};
inline constexpr std::size_t kSessionLengthBuckets = kSessionLengthBoundsSeconds.size() + 1;

struct SessionLengths {
  std::array<std::uint64_t, kSessionLengthBuckets> buckets{};  // sessions per bucket
  std::uint64_t sum_ms = 0;                                    // their lengths added up

  // The bucket of a session `length_ms` long (a negative length is 0: clocks stepped back).
  static std::size_t BucketOf(std::int64_t length_ms) {
    const std::int64_t ms = std::max<std::int64_t>(0, length_ms);
    std::size_t b = 0;
    while (b < kSessionLengthBoundsSeconds.size() && ms > kSessionLengthBoundsSeconds[b] * 1000) {
      ++b;
    }
    return b;
  }
  void Add(std::int64_t length_ms) {
    ++buckets[BucketOf(length_ms)];
    sum_ms += static_cast<std::uint64_t>(std::max<std::int64_t>(0, length_ms));
  }
  std::uint64_t count() const {
    std::uint64_t n = 0;
    for (const std::uint64_t b : buckets) n += b;
    return n;
  }
  bool empty() const { return count() == 0 && sum_ms == 0; }
  bool operator==(const SessionLengths&) const = default;
};

// Running totals since the room was created, for metrics.
struct RoomCounters {
  std::uint64_t joins = 0;             // joins that got a new ticket
  std::uint64_t rejoins = 0;           // joins answered with the ticket the userId held (not
                                       // durable: it restarts from 0 with the process)
  std::uint64_t rejected = 0;          // joins refused: mode reject
  std::uint64_t full = 0;              // joins refused: queue_limit
  std::uint64_t admissions = 0;        // sessions created from the line (claims, and joins
                                       // admitted at once); bypass admissions are not in it
  std::uint64_t immediate = 0;         // of which without waiting
  std::uint64_t bypass = 0;            // sessions created without a place in line (Room::Admit:
                                       // an entry pass, an allow list); not in `admissions`, so
                                       // admissions + bypass is every session ever created
  std::uint64_t no_shows = 0;          // called tickets never claimed
  std::uint64_t expired_sessions = 0;  // sessions ended by idleness or at session_max (from the
                                       // line or bypass)
  std::uint64_t leaves = 0;            // sessions ended by leave (from the line or bypass)
  std::uint64_t withdrawn = 0;         // places given back before their session began (Withdraw)
  std::uint64_t abandoned = 0;         // waiting tickets the frontier passed without a call: they
                                       // had stopped polling (Policy::abandon_after_polls)
  SessionLengths session_lengths{};    // every session that ended (expired_sessions + leaves)
};

}  // namespace vwr::core
