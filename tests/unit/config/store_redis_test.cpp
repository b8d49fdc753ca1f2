#include <gtest/gtest.h>

#include "config/config.hpp"
#include "redis/options.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using testing::Describe;
using testing::ErrorFor;
using testing::ParseOk;

TEST(StoreRedis, DefaultsAreOneLocalRedis) {
  const Config c = ParseOk("store:\n  kind: redis\n");
  EXPECT_EQ(c.store.kind, "redis");
  EXPECT_EQ(c.store.redis.url, "redis://127.0.0.1:6379/0");
  EXPECT_FALSE(c.store.redis.cluster);
  EXPECT_EQ(c.store.redis.lease, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.store.redis.key_prefix, "vwr");
}

TEST(StoreRedis, EveryKeyIsRead) {
  const Config c = ParseOk(R"(
store:
  kind: redis
  redis:
    url: redis://app:secret@10.0.0.5:7000/0
    cluster: true
    nodes: [10.0.0.6:7000, "[::1]:7001"]
    connect_timeout: 300ms
    command_timeout: 2s
    lease: 1500ms
    key_prefix: shop.prod
)");
  const RedisConfig& r = c.store.redis;
  EXPECT_EQ(r.url, "redis://app:secret@10.0.0.5:7000/0");
  EXPECT_TRUE(r.cluster);
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_EQ(r.nodes[1].ToString(), "[::1]:7001");
  EXPECT_EQ(r.connect_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(r.command_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(r.lease, std::chrono::milliseconds(1500));
  EXPECT_EQ(r.key_prefix, "shop.prod");
}

TEST(StoreRedis, BadValuesAreErrorsThatNeverQuoteTheUrl) {
  const ParseResult bad_url =
      ParseConfig("store:\n  kind: redis\n  redis:\n    url: http://user:hunter2@x\n");
  const ConfigError e = ErrorFor(bad_url, "store.redis.url");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message.find("hunter2"), std::string::npos);

  EXPECT_EQ(ErrorFor(ParseConfig("store:\n  kind: mongo\n"), "store.kind").line, 2);
  ErrorFor(ParseConfig("store:\n  redis:\n    cluster: maybe\n"), "store.redis.cluster");
  ErrorFor(ParseConfig("store:\n  redis:\n    nodes: [nohost]\n"), "store.redis.nodes[0]");
  ErrorFor(ParseConfig("store:\n  redis:\n    lease: 10ms\n"), "store.redis.lease");
  ErrorFor(ParseConfig("store:\n  redis:\n    key_prefix: \"a b\"\n"), "store.redis.key_prefix");
  ErrorFor(ParseConfig("store:\n  redis:\n    url: redis://:6379\n"), "store.redis.url");
  ErrorFor(ParseConfig("store:\n  redis:\n    url: redis://h:99999\n"), "store.redis.url");
  ErrorFor(ParseConfig("store:\n  redis:\n    url: redis://h/x\n"), "store.redis.url");
}

TEST(RoomFailurePolicy, DefaultsToFailClosed) {
  const Config c = ParseOk("rooms:\n  - id: a\n  - id: b\n    failure_policy: fail_open\n");
  EXPECT_EQ(c.rooms[0].failure_policy, FailurePolicy::kFailClosed);
  EXPECT_EQ(c.rooms[1].failure_policy, FailurePolicy::kFailOpen);
  ErrorFor(ParseConfig("rooms:\n  - id: a\n    failure_policy: open\n"), "rooms[0].failure_policy");
}

// store.redis.url is read by the Redis client's own parser: whatever the configuration accepts,
// the client can connect with, and whatever it would refuse at start is an error with a line.
TEST(StoreRedis, TheUrlIsReadAsTheClientReadsIt) {
  for (const char* url :
       {"redis://cache?timeout=1", "redis://cache#x", "redis://user:@cache", "redis://secret@cache",
        "redis://[::1]:99999", "redis://[::1", "redis://[::1]x", "redis://cache/123456",
        "redis://cache:6379", "redis://:pw@cache/3", "rediss://cache", "redis://:%4@cache",
        "redis://cache:0", "redis://cache/-1", "redis://cache/", "redis://[::1]:7000/2"}) {
    const ParseResult r = ParseConfig(std::string("store:\n  redis:\n    url: \"") + url + "\"\n");
    EXPECT_EQ(r.ok(), redis::ParseRedisUrl(url).has_value()) << url << Describe(r);
    if (!r.ok()) {
      EXPECT_EQ(ErrorFor(r, "store.redis.url").line, 3) << url;
    }
  }
}

}  // namespace
}  // namespace vwr::config
