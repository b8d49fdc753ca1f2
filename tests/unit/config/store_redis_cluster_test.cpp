#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using testing::ErrorFor;
using testing::ParseOk;

// Seeds in store.redis.nodes name a Redis Cluster; without cluster: true they would be ignored
// and the URL's node taken for a single Redis, on which the rooms of other masters never work.
TEST(StoreRedisCluster, MoreSeedsNeedClusterTrue) {
  const ParseResult r = ParseConfig(
      "store:\n  kind: redis\n  redis:\n    url: redis://10.0.0.5:7000\n"
      "    nodes: [10.0.0.6:7000]\n");
  EXPECT_FALSE(r.ok());
  const ConfigError e = ErrorFor(r, "store.redis.nodes");
  EXPECT_EQ(e.line, 5);
  EXPECT_NE(e.message.find("cluster: true"), std::string::npos) << e.message;

  ErrorFor(ParseConfig("store:\n  redis:\n    cluster: false\n    nodes: [h:1]\n"),
           "store.redis.nodes");
}

TEST(StoreRedisCluster, SeedsWithClusterTrueOrNoSeedsAreFine) {
  const Config c = ParseOk(
      "store:\n  kind: redis\n  redis:\n    url: redis://10.0.0.5:7000\n    cluster: true\n"
      "    nodes: [10.0.0.6:7000, 10.0.0.7:7000]\n");
  EXPECT_TRUE(c.store.redis.cluster);
  EXPECT_EQ(c.store.redis.nodes.size(), 2u);
  ParseOk("store:\n  kind: redis\n  redis:\n    cluster: true\n");
  ParseOk("store:\n  kind: redis\n  redis:\n    nodes: []\n");
}

// A Redis Cluster has database 0 only: another in the URL would be silently ignored.
TEST(StoreRedisCluster, ADatabaseOtherThanZeroIsAnError) {
  const ParseResult r = ParseConfig(
      "store:\n  kind: redis\n  redis:\n    url: redis://:secret@10.0.0.5:7000/3\n"
      "    cluster: true\n");
  EXPECT_FALSE(r.ok());
  const ConfigError e = ErrorFor(r, "store.redis.url");
  EXPECT_EQ(e.line, 4);
  EXPECT_NE(e.message.find("database other than 0"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("secret"), std::string::npos) << "never quotes the URL back";

  ParseOk(
      "store:\n  kind: redis\n  redis:\n    url: redis://10.0.0.5:7000/0\n"
      "    cluster: true\n");
  ParseOk(
      "store:\n  kind: redis\n  redis:\n    url: redis://10.0.0.5:7000/\n"
      "    cluster: true\n");
  ParseOk("store:\n  kind: redis\n  redis:\n    url: redis://10.0.0.5:7000/3\n");
}

}  // namespace
}  // namespace vwr::config
