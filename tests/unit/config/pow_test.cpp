#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using testing::ErrorFor;
using testing::ParseOk;

TEST(Pow, OffByDefaultWithATwoMinuteChallenge) {
  const Config c = ParseOk("");
  EXPECT_EQ(c.rooms[0].pow_difficulty, 0);
  EXPECT_EQ(c.rooms[0].pow_challenge_lifetime, milliseconds(120'000));
}

TEST(Pow, IsReadPerRoom) {
  const Config c = ParseOk(R"(
rooms:
  - id: a
    pow_difficulty: 16
    pow_challenge_lifetime: 30s
  - id: b
    pow_difficulty: 32
  - id: c
    pow_difficulty: 0
    pow_challenge_lifetime: 1s
)");
  EXPECT_EQ(c.rooms[0].pow_difficulty, 16);
  EXPECT_EQ(c.rooms[0].pow_challenge_lifetime, milliseconds(30'000));
  EXPECT_EQ(c.rooms[1].pow_difficulty, 32);
  EXPECT_EQ(c.rooms[1].pow_challenge_lifetime, milliseconds(120'000));
  EXPECT_EQ(c.rooms[2].pow_difficulty, 0);
  EXPECT_EQ(c.rooms[2].pow_challenge_lifetime, milliseconds(1'000));
}

TEST(Pow, BadValuesNameKeyAndLine) {
  const ParseResult r = ParseConfig(R"(rooms:
  - id: a
    pow_difficulty: 33
  - id: b
    pow_difficulty: -1
  - id: c
    pow_difficulty: hard
  - id: d
    pow_challenge_lifetime: 999ms
  - id: e
    pow_challenge_lifetime: 2h
)");
  ASSERT_FALSE(r.ok());
  const ConfigError too_hard = ErrorFor(r, "rooms[0].pow_difficulty");
  EXPECT_EQ(too_hard.line, 3);
  EXPECT_NE(too_hard.message.find("between 0 and 32"), std::string::npos) << too_hard.message;
  EXPECT_EQ(ErrorFor(r, "rooms[1].pow_difficulty").line, 5);
  EXPECT_EQ(ErrorFor(r, "rooms[2].pow_difficulty").line, 7);
  EXPECT_EQ(ErrorFor(r, "rooms[3].pow_challenge_lifetime").line, 9);
  EXPECT_EQ(ErrorFor(r, "rooms[4].pow_challenge_lifetime").line, 11);
  EXPECT_EQ(r.errors.size(), 5u);
}

}  // namespace
}  // namespace vwr::config
