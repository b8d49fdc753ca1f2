#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "util/clock.hpp"

namespace vwr::api {

// Which requests that /api/v1/verify lets through also tell the store that their session is
// active. A visitor browsing a protected site behind a gateway sends no heartbeats: each page,
// image and script it loads is a verify, and each would be a store write (a Lua script on Redis)
// if every one refreshed the session. Idle expiry only needs activity to within a fraction of
// session_timeout, so one refresh per session per RefreshInterval(timeout) is enough:
//
//   verify ok -> Due(room, session, interval): last refresh of (room, session) on this node
//                at or before now - interval?  yes: record now, refresh; no: nothing
//
// The idle end therefore comes at most one interval early, never late. Coalesced per node:
// with N nodes behind the gateway a session is written at most N times per interval.
//
// Bounded: at most kMaxSessions entries. When a shard is full, entries older than the interval
// asked with are dropped; when it is still full (more live sessions than the bound), the shard
// is emptied, which costs at most one more refresh of each of them.
//
// Thread-safe: sharded by session, one mutex per shard, held for a hash lookup.
class SessionActivity {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxSessions = 256 * 1024;

  explicit SessionActivity(const util::Clock& clock) : clock_(clock) {}

  // How often a session is refreshed at most: a tenth of its timeout, at least a second, and
  // at most half the timeout (so that even the shortest timeout sees two refreshes).
  static util::Duration RefreshInterval(util::Duration session_timeout);

  // True when session `session` of room `room` (any stable identity of the room's state) was
  // not refreshed by this node within `interval`; it then counts as refreshed now.
  bool Due(const void* room, std::uint64_t session, util::Duration interval);

  // Sessions remembered (tests).
  std::size_t size() const;

 private:
  struct Key {
    const void* room;
    std::uint64_t session;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, util::TimePoint, KeyHash> last_refresh;
  };

  const util::Clock& clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace vwr::api
