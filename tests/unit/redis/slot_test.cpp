#include "redis/slot.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "redis/script.hpp"

namespace vwr::redis {
namespace {

// Expected values from CLUSTER KEYSLOT on Redis 7.
TEST(HashSlot, MatchesRedis) {
  EXPECT_EQ(HashSlot("foo"), 12182);
  EXPECT_EQ(HashSlot("bar"), 5061);
  EXPECT_EQ(HashSlot("123456789"), 0x31C3 % kClusterSlots);  // the CRC16/XMODEM check value
  EXPECT_EQ(HashSlot(""), 0);
}

TEST(HashSlot, HashesOnlyTheFirstNonEmptyTag) {
  EXPECT_EQ(HashSlot("{room:a}:tickets"), HashSlot("room:a"));
  EXPECT_EQ(HashSlot("{room:a}:frontier"), HashSlot("{room:a}:tickets"));
  EXPECT_EQ(HashSlot("foo{bar}{zap}"), HashSlot("bar"));
  EXPECT_EQ(HashSlot("foo{{bar}}zap"), HashSlot("{bar"));
  // An empty tag does not count: the whole key is hashed.
  EXPECT_NE(HashSlot("foo{}{bar}"), HashSlot("bar"));
  EXPECT_NE(HashSlot("{unclosed"), HashSlot("unclosed"));
}

TEST(CommonSlot, IsTheSlotOfKeysThatShareOne) {
  const std::vector<std::string> same = {"{r1}:a", "{r1}:b", "{r1}:c"};
  EXPECT_EQ(CommonSlot(same), HashSlot("r1"));
  const std::vector<std::string> split = {"{r1}:a", "{r2}:b"};
  EXPECT_FALSE(CommonSlot(split).has_value());
  EXPECT_FALSE(CommonSlot({}).has_value());
}

TEST(Script, NamesItselfBySha1LikeRedis) {
  // SCRIPT LOAD "return 1" answers this.
  const Script script("return 1");
  EXPECT_EQ(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(script.source(), "return 1");
  const Script copy = script;
  EXPECT_EQ(&copy.source(), &script.source());  // copies share the text
}

}  // namespace
}  // namespace vwr::redis
