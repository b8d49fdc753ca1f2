#include "redis/options.hpp"

#include <gtest/gtest.h>

namespace vwr::redis {
namespace {

ClientOptions ParseOk(std::string_view url) {
  auto result = ParseRedisUrl(url);
  EXPECT_TRUE(result.has_value()) << url << ": " << (result ? "" : result.error());
  return result ? *result : ClientOptions{};
}

std::string ErrorOf(std::string_view url) {
  auto result = ParseRedisUrl(url);
  EXPECT_FALSE(result.has_value()) << url << " parsed";
  return result ? "" : result.error();
}

TEST(ParseRedisUrl, HostAloneTakesDefaultPortAndDb) {
  const ClientOptions options = ParseOk("redis://cache.internal");
  ASSERT_EQ(options.seeds.size(), 1u);
  EXPECT_EQ(options.seeds[0].host, "cache.internal");
  EXPECT_EQ(options.seeds[0].port, 6379);
  EXPECT_EQ(options.db, 0);
  EXPECT_TRUE(options.username.empty());
  EXPECT_TRUE(options.password.empty());
  EXPECT_FALSE(options.cluster);
}

TEST(ParseRedisUrl, ReadsUserPasswordPortAndDb) {
  const ClientOptions options = ParseOk("redis://vwr:s3cret@10.0.0.5:6380/4");
  EXPECT_EQ(options.seeds[0], (Endpoint{"10.0.0.5", 6380}));
  EXPECT_EQ(options.username, "vwr");
  EXPECT_EQ(options.password, "s3cret");
  EXPECT_EQ(options.db, 4);
}

TEST(ParseRedisUrl, PasswordWithoutUserMeansPlainAuth) {
  const ClientOptions options = ParseOk("redis://:s3cret@localhost/");
  EXPECT_TRUE(options.username.empty());
  EXPECT_EQ(options.password, "s3cret");
  EXPECT_EQ(options.db, 0);
}

TEST(ParseRedisUrl, DecodesPercentEncodingInPassword) {
  EXPECT_EQ(ParseOk("redis://:p%40ss%3Aw%2Fd@localhost").password, "p@ss:w/d");
  // An unencoded '@' still works: the host starts after the last one.
  EXPECT_EQ(ParseOk("redis://:p@ss@localhost").password, "p@ss");
}

TEST(ParseRedisUrl, ReadsBracketedIpv6Host) {
  const ClientOptions options = ParseOk("redis://[::1]:7000/2");
  EXPECT_EQ(options.seeds[0], (Endpoint{"::1", 7000}));
  EXPECT_EQ(options.seeds[0].ToString(), "[::1]:7000");
  EXPECT_EQ(options.db, 2);
}

TEST(ParseRedisUrl, RejectsWhatItCannotHonour) {
  EXPECT_NE(ErrorOf("rediss://localhost").find("TLS"), std::string::npos);
  EXPECT_NE(ErrorOf("http://localhost").find("redis://"), std::string::npos);
  EXPECT_NE(ErrorOf("localhost:6379").find("redis://"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://").find("no host"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://:6379").find("no host"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost:0").find("port"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost:65536").find("port"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost:http").find("port"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost:").find("port"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost/x").find("database"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost/-1").find("database"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://secret@localhost").find("[user]:password"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://user:@localhost").find("password"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://:%4@localhost").find("percent"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://[::1").find("]"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://localhost?timeout=1").find("query"), std::string::npos);
}

// The URL may hold a password, and its errors end up in logs and in the configuration's
// diagnostics: no part of it is ever repeated.
TEST(ParseRedisUrl, ErrorsNeverRepeatTheUrl) {
  const struct {
    const char* url;
    const char* secret;
  } cases[] = {{"redis:/u:pw12@cache", "pw12"},     {"http://u:pw12@cache", "pw12"},
               {"pw12@redis://cache", "pw12"},      {"redis://cache:99999", "99999"},
               {"redis://cache:6379x", "6379x"},    {"redis://cache/x7x7", "x7x7"},
               {"redis://u:pw12@cache/db9", "db9"}, {"redis://u:pw12@cache:99999", "pw12"}};
  for (const auto& c : cases) {
    const std::string error = ErrorOf(c.url);
    EXPECT_FALSE(error.empty()) << c.url;
    EXPECT_EQ(error.find(c.secret), std::string::npos) << c.url << ": " << error;
  }
}

}  // namespace
}  // namespace vwr::redis
