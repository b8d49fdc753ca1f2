#include "app/store_factory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/redis_store.hpp"
#include "support/redis_server.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::app {
namespace {

using redis::testing::RedisServer;

std::vector<store::RoomSpec> OneRoom() {
  store::RoomSpec room;
  room.id = "sale";
  room.policy.max_active = 10;
  room.policy.admit_rate = 5;
  return {room};
}

std::int64_t UnixMillis(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.WallNow().time_since_epoch())
      .count();
}

class StoreFactoryTest : public ::testing::Test {
 protected:
  StoreFactoryTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("vwr-store-factory-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  }
  ~StoreFactoryTest() override { std::filesystem::remove_all(dir_); }

  config::StoreConfig Embedded() const {
    config::StoreConfig config;
    config.kind = "embedded";
    config.data_dir = dir_.string();
    return config;
  }

  util::FakeClock clock_;
  std::filesystem::path dir_;
  boost::asio::io_context control_;
};

// One node, nothing shared: no Redis for the keys or the lists, and spent challenges are
// forgotten on a restart, so the node takes none issued before it started.
TEST_F(StoreFactoryTest, TheEmbeddedStoreSharesNothingAndForgetsSpentChallenges) {
  std::optional<OpenedStore> opened = OpenStore(Embedded(), OneRoom(), clock_);
  ASSERT_TRUE(opened);
  ASSERT_NE(opened->store, nullptr);
  EXPECT_NE(opened->store->Find("sale"), nullptr);
  EXPECT_EQ(opened->shared.redis, nullptr);
  EXPECT_FALSE(opened->shared.remembers_spent_challenges);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "state"));

  token::KeyRing ring(clock_, std::chrono::seconds(600));
  EXPECT_EQ(ShareKeys(opened->shared, ring, clock_), nullptr);
  guard::AbuseGuard guard(clock_);
  auto lists =
      KeepGuardLists(opened->shared, guard, clock_, dir_.string(), control_.get_executor());
  ASSERT_NE(lists, nullptr);
  EXPECT_EQ(lists->where(), (dir_ / "guard-lists.json").string());
  EXPECT_EQ(PowNotBefore(opened->shared, clock_), UnixMillis(clock_));
  opened->store->Close();
}

TEST_F(StoreFactoryTest, StateThatCannotBeReadIsAnErrorNotAStore) {
  std::ofstream(dir_ / "state") << "not a directory";
  EXPECT_FALSE(OpenStore(Embedded(), OneRoom(), clock_));
}

// Several nodes: the keys and the lists go through the store's own client, under its prefix,
// and spent challenges stay spent in Redis across a restart.
TEST_F(StoreFactoryTest, TheRedisStoreSharesItsClientAndRemembersSpentChallenges) {
  RedisServer server;
  config::StoreConfig config = Embedded();
  config.kind = "redis";
  config.redis.url = "redis://127.0.0.1:" + std::to_string(server.port());
  config.redis.key_prefix = "site-a";
  std::optional<OpenedStore> opened = OpenStore(config, OneRoom(), util::SystemClock::Instance());
  ASSERT_TRUE(opened);
  ASSERT_NE(opened->store, nullptr);
  auto* redis_store = dynamic_cast<store::RedisStore*>(opened->store.get());
  ASSERT_NE(redis_store, nullptr) << "store.kind redis opened another store";
  EXPECT_EQ(opened->shared.redis, &redis_store->client());
  EXPECT_EQ(opened->shared.key_prefix, "site-a");
  EXPECT_TRUE(opened->shared.remembers_spent_challenges);

  token::KeyRing ring(clock_, std::chrono::seconds(600));
  std::unique_ptr<KeySharing> sharing = ShareKeys(opened->shared, ring, clock_);
  ASSERT_NE(sharing, nullptr);
  EXPECT_EQ(sharing->hash_key(), "site-a:jwks");
  guard::AbuseGuard guard(clock_);
  auto lists =
      KeepGuardLists(opened->shared, guard, clock_, dir_.string(), control_.get_executor());
  ASSERT_NE(lists, nullptr);
  EXPECT_EQ(lists->where(), "site-a:guard");
  EXPECT_EQ(PowNotBefore(opened->shared, clock_), std::nullopt);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state")) << "the embedded state was opened too";
  opened->store->Close();
}

TEST_F(StoreFactoryTest, ARedisUrlThatDoesNotParseIsAnErrorNotAStore) {
  config::StoreConfig config = Embedded();
  config.kind = "redis";
  config.redis.url = "http://127.0.0.1:6379";
  EXPECT_FALSE(OpenStore(config, OneRoom(), clock_));
}

}  // namespace
}  // namespace vwr::app
