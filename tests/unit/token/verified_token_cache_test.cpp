#include "token/verified_token_cache.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vwr::token {
namespace {

AdmissionClaims Claims(std::int64_t exp, std::string jti = "s1") {
  return AdmissionClaims{.aud = "a", .sub = "anon", .iat = 0, .nbf = 0, .exp = exp, .jti = jti};
}

TEST(VerifiedTokenCache, RemembersClaimsByTheWholeToken) {
  VerifiedTokenCache cache;
  const auto digest = VerifiedTokenCache::DigestOf("token-1");
  EXPECT_FALSE(cache.Find(digest, 100, 0).has_value());
  cache.Insert(digest, Claims(200), 100, 0);
  EXPECT_EQ(cache.Find(digest, 100, 0), Claims(200));
  EXPECT_FALSE(cache.Find(VerifiedTokenCache::DigestOf("token-2"), 100, 0).has_value());
  EXPECT_FALSE(cache.Find(VerifiedTokenCache::DigestOf("token-1 "), 100, 0).has_value());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 3u);
}

TEST(VerifiedTokenCache, NeverOutlivesExp) {
  VerifiedTokenCache cache;
  const auto digest = VerifiedTokenCache::DigestOf("t");
  cache.Insert(digest, Claims(200), 100, 0);
  EXPECT_TRUE(cache.Find(digest, 199, 0).has_value());
  EXPECT_FALSE(cache.Find(digest, 200, 0).has_value());
  EXPECT_EQ(cache.size(), 0u) << "dropped on sight";
  cache.Insert(digest, Claims(200), 200, 0);
  EXPECT_EQ(cache.size(), 0u) << "an expired token is not cached";
}

TEST(VerifiedTokenCache, ForgetsWhatWasVerifiedUnderAnOlderEpoch) {
  VerifiedTokenCache cache;
  const auto digest = VerifiedTokenCache::DigestOf("t");
  cache.Insert(digest, Claims(200), 100, 3);
  EXPECT_FALSE(cache.Find(digest, 100, 4).has_value());
  EXPECT_FALSE(cache.Find(digest, 100, 3).has_value()) << "gone for good";
}

TEST(VerifiedTokenCache, StaysWithinItsCapacity) {
  VerifiedTokenCache cache(VerifiedTokenCache::Options{.capacity = 64, .shards = 4});
  for (int i = 0; i < 10'000; ++i) {
    cache.Insert(VerifiedTokenCache::DigestOf("t" + std::to_string(i)), Claims(200), 100, 0);
    // Entries voided along the way do not make it grow either.
    if (i % 3 == 0) (void)cache.Find(VerifiedTokenCache::DigestOf("t" + std::to_string(i)), 100, 1);
  }
  EXPECT_LE(cache.size(), 64u);
  EXPECT_GT(cache.size(), 0u);
  // The newest entries are the ones kept (t9999 was voided; t9998 was not).
  EXPECT_TRUE(cache.Find(VerifiedTokenCache::DigestOf("t9998"), 100, 0).has_value());
  EXPECT_FALSE(cache.Find(VerifiedTokenCache::DigestOf("t0001"), 100, 0).has_value());
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(VerifiedTokenCache, CapacityZeroDisablesIt) {
  VerifiedTokenCache cache(VerifiedTokenCache::Options{.capacity = 0});
  EXPECT_FALSE(cache.enabled());
  const auto digest = VerifiedTokenCache::DigestOf("t");
  cache.Insert(digest, Claims(200), 100, 0);
  EXPECT_FALSE(cache.Find(digest, 100, 0).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(VerifiedTokenCache, IsSafeFromManyThreads) {
  VerifiedTokenCache cache(VerifiedTokenCache::Options{.capacity = 256, .shards = 8});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 5'000; ++i) {
        // 100 tokens: well within the capacity, so that hits come whatever the threads'
        // interleaving (500 cycled through 256 places could miss every time).
        const std::string token = "t" + std::to_string((i * 7 + t) % 100);
        const auto digest = VerifiedTokenCache::DigestOf(token);
        if (auto claims = cache.Find(digest, 100, 0)) {
          EXPECT_EQ(claims->jti, token);
        } else {
          cache.Insert(digest, Claims(200, token), 100, 0);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(cache.size(), 256u);
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace vwr::token
