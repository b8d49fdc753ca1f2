#include "token/identity.hpp"

#include <gtest/gtest.h>

#include "util/random.hpp"

namespace vwr::token {
namespace {

SecretKey RandomKey() {
  SecretKey key;
  util::SecureRandom(key.bytes);
  return key;
}

TEST(HashIdentity, IsAStableOpaquePseudonym) {
  const SecretKey key = RandomKey();
  const std::string hash = HashIdentity(key, "alice@example.com");
  EXPECT_EQ(hash.size(), 22u);
  EXPECT_EQ(
      hash.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_EQ(HashIdentity(key, "alice@example.com"), hash);
  EXPECT_EQ(hash.find("alice"), std::string::npos);
}

TEST(HashIdentity, DependsOnUserAndKey) {
  const SecretKey key = RandomKey();
  EXPECT_NE(HashIdentity(key, "alice"), HashIdentity(key, "bob"));
  EXPECT_NE(HashIdentity(key, "alice"), HashIdentity(RandomKey(), "alice"));
  EXPECT_NE(HashIdentity(key, ""), HashIdentity(key, std::string_view("\0", 1)));
}

}  // namespace
}  // namespace vwr::token
