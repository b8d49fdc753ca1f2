#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "token/admission_claims.hpp"

namespace vwr::token {

// Remembers the claims of tokens whose signature has been checked, so that the same token
// presented again (an admission cookie checked by nginx auth_request on every request) costs a
// SHA-256 and a map lookup instead of an ECDSA verification.
//
// Keyed by SHA-256 of the whole token text: a different token can only hit an entry by finding a
// SHA-256 collision. An entry is used only
//   - before its token's exp (by the wall clock the caller passes): it never outlives the token;
//   - under the key ring epoch it was verified in: once a key leaves the ring (pruned), every
//     entry from before is void.
// Bounded: `capacity` entries at most, spread over `shards` shards (each with its own mutex, so
// workers rarely meet); a full shard forgets its oldest entry first.
//
// Thread-safe.
class VerifiedTokenCache {
 public:
  struct Options {
    std::size_t capacity = 65'536;  // 0 disables the cache
    std::size_t shards = 16;
  };

  using Digest = std::array<std::uint8_t, 32>;

  explicit VerifiedTokenCache(Options options);
  VerifiedTokenCache() : VerifiedTokenCache(Options{}) {}

  static Digest DigestOf(std::string_view token);

  // The claims verified for the token with this digest, if they may still be used at now_unix
  // under `epoch`. Counts hits and misses.
  std::optional<AdmissionClaims> Find(const Digest& digest, std::int64_t now_unix,
                                      std::uint64_t epoch) const;

  // Remembers verified claims (nothing when claims.exp <= now_unix or the cache is disabled).
  void Insert(const Digest& digest, const AdmissionClaims& claims, std::int64_t now_unix,
              std::uint64_t epoch);

  void Clear();
  std::size_t size() const;
  bool enabled() const { return per_shard_ > 0; }
  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  struct DigestHash {
    std::size_t operator()(const Digest& d) const;
  };
  struct Entry {
    AdmissionClaims claims;
    std::uint64_t epoch = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Digest, Entry, DigestHash> entries;  // guarded by mu
    std::deque<Digest> order;                               // insertion order, guarded by mu
    mutable std::uint64_t hits = 0;                         // guarded by mu
    mutable std::uint64_t misses = 0;                       // guarded by mu
  };

  Shard& ShardOf(const Digest& digest) const;

  std::size_t per_shard_;
  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_count_;
};

}  // namespace vwr::token
