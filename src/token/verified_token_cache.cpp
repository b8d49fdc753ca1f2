#include "token/verified_token_cache.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace vwr::token {

std::size_t VerifiedTokenCache::DigestHash::operator()(const Digest& d) const {
  // The digest is already uniformly distributed: any 8 of its bytes make a good hash. Bytes 0-7
  // pick the shard, so take others for the map.
  std::size_t h;
  std::memcpy(&h, d.data() + 8, sizeof(h));
  return h;
}

VerifiedTokenCache::VerifiedTokenCache(Options options)
    : per_shard_(0), shard_count_(std::max<std::size_t>(1, options.shards)) {
  if (options.capacity > 0) per_shard_ = std::max<std::size_t>(1, options.capacity / shard_count_);
  shards_ = std::make_unique<Shard[]>(shard_count_);
}

VerifiedTokenCache::Digest VerifiedTokenCache::DigestOf(std::string_view token) {
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

VerifiedTokenCache::Shard& VerifiedTokenCache::ShardOf(const Digest& digest) const {
  std::uint64_t h;
  std::memcpy(&h, digest.data(), sizeof(h));
  return shards_[h % shard_count_];
}

std::optional<AdmissionClaims> VerifiedTokenCache::Find(const Digest& digest, std::int64_t now_unix,
                                                        std::uint64_t epoch) const {
  if (per_shard_ == 0) return std::nullopt;
  Shard& shard = ShardOf(digest);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(digest);
  if (it == shard.entries.end()) {
    ++shard.misses;
    return std::nullopt;
  }
  if (it->second.epoch != epoch || now_unix >= it->second.claims.exp) {
    // Void; its place in `order` goes when it comes to the front.
    shard.entries.erase(it);
    ++shard.misses;
    return std::nullopt;
  }
  ++shard.hits;
  return it->second.claims;
}

void VerifiedTokenCache::Insert(const Digest& digest, const AdmissionClaims& claims,
                                std::int64_t now_unix, std::uint64_t epoch) {
  if (per_shard_ == 0 || claims.exp <= now_unix) return;
  Shard& shard = ShardOf(digest);
  std::lock_guard lock(shard.mu);
  auto [it, inserted] = shard.entries.try_emplace(digest);
  it->second = Entry{claims, epoch};
  if (!inserted) return;
  shard.order.push_back(digest);
  // `order` may also hold digests already erased (void entries); drop from the front until the
  // shard is within its share again. Every live entry is in `order`, so this ends.
  while (shard.entries.size() > per_shard_ || shard.order.size() > 2 * per_shard_) {
    shard.entries.erase(shard.order.front());
    shard.order.pop_front();
  }
}

void VerifiedTokenCache::Clear() {
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    shards_[i].entries.clear();
    shards_[i].order.clear();
  }
}

std::size_t VerifiedTokenCache::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].entries.size();
  }
  return n;
}

std::uint64_t VerifiedTokenCache::hits() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].hits;
  }
  return n;
}

std::uint64_t VerifiedTokenCache::misses() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].misses;
  }
  return n;
}

}  // namespace vwr::token
