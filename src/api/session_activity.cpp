#include "api/session_activity.hpp"

#include <algorithm>
#include <functional>
#include <iterator>

namespace vwr::api {

util::Duration SessionActivity::RefreshInterval(util::Duration session_timeout) {
  const util::Duration tenth =
      std::max<util::Duration>(session_timeout / 10, std::chrono::seconds(1));
  return std::min(tenth, session_timeout / 2);
}

std::size_t SessionActivity::KeyHash::operator()(const Key& k) const noexcept {
  // Session numbers are consecutive: mix them so that neighbours spread over the shards.
  std::uint64_t x = k.session ^ (reinterpret_cast<std::uintptr_t>(k.room) * 0x9E3779B97F4A7C15ull);
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  return static_cast<std::size_t>(x);
}

bool SessionActivity::Due(const void* room, std::uint64_t session, util::Duration interval) {
  const Key key{room, session};
  const std::size_t hash = KeyHash{}(key);
  Shard& shard = shards_[(hash >> 7) % kShards];
  const util::TimePoint now = clock_.Now();
  std::lock_guard lock(shard.mu);
  auto it = shard.last_refresh.find(key);
  if (it != shard.last_refresh.end()) {
    if (now - it->second < interval) return false;
    it->second = now;
    return true;
  }
  if (shard.last_refresh.size() >= kMaxSessions / kShards) {
    std::erase_if(shard.last_refresh,
                  [&](const auto& entry) { return now - entry.second >= interval; });
    if (shard.last_refresh.size() >= kMaxSessions / kShards) shard.last_refresh.clear();
  }
  shard.last_refresh.emplace(key, now);
  return true;
}

std::size_t SessionActivity::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.last_refresh.size();
  }
  return n;
}

}  // namespace vwr::api
