// An attacker who can compute where keys land in the guard's count-min sketch can make an
// innocent address (or identity) look blocked or over its limit: two other keys, one sharing
// the victim's slot in each row, are enough. These tests perform that attack.

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "guard/abuse_guard.hpp"

namespace vwr::guard {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

boost::asio::ip::address Ip(const std::string& text) { return boost::asio::ip::make_address(text); }

// The sketch's hash before it was keyed: public constants only, so anyone could compute it.
constexpr std::uint64_t UnkeyedMix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
std::uint64_t UnkeyedHashIp(const Ip128& ip) {
  return UnkeyedMix(ip.hi ^ UnkeyedMix(ip.lo + 0x9e3779b97f4a7c15ULL));
}
std::size_t UnkeyedSlot(std::uint64_t hash, std::size_t row) {
  return static_cast<std::size_t>((row == 0 ? hash : (hash >> 32) ^ UnkeyedMix(hash))) &
         (AbuseGuard::kSlots - 1);
}
std::size_t UnkeyedSlotOf(const std::string& ip, std::size_t row) {
  return UnkeyedSlot(UnkeyedHashIp(Ip128::Of(Ip(ip))), row);
}

using SlotOf = std::function<std::size_t(const std::string& ip, std::size_t row)>;

// The first address of 10.0.0.0/8 (after `skip` of them) that shares the victim's slot in `row`
// and not in the other row, where `slot_of` says where addresses land.
std::string Collider(const std::string& victim, std::size_t row, int skip = 0,
                     const SlotOf& slot_of = UnkeyedSlotOf) {
  const std::size_t want = slot_of(victim, row);
  const std::size_t other = slot_of(victim, 1 - row);
  for (std::uint32_t n = 1; n < (1u << 24); ++n) {
    const std::string ip = "10." + std::to_string(n >> 16) + "." + std::to_string((n >> 8) & 0xff) +
                           "." + std::to_string(n & 0xff);
    if (slot_of(ip, row) == want && slot_of(ip, 1 - row) != other && skip-- == 0) return ip;
  }
  ADD_FAILURE() << "no collider found";
  return "10.255.255.255";
}

GuardSettings Enforce(std::uint32_t per_ip) {
  GuardSettings s;
  s.mode = GuardMode::kEnforce;
  s.window = milliseconds(10'000);
  s.limit_per_ip = per_ip;
  s.limit_per_identity = 0;
  s.block_time = milliseconds(60'000);
  return s;
}

class GuardCollisionTest : public ::testing::Test {
 protected:
  void SetUp() override { guard.Configure({{"r", Enforce(5)}}); }
  GuardVerdict Hit(const std::string& ip) { return guard.Check(GuardRequest{"r", Ip(ip), {}}); }
  bool Listed(const std::string& ip) const {
    for (const GuardEntry& e : guard.List("r", GuardList::kBlock)) {
      if (e.is_ip && e.value == ip) return true;
    }
    return false;
  }
  util::FakeClock clock;
  AbuseGuard guard{clock};
};

TEST_F(GuardCollisionTest, BlockedCollidersDoNotBlockAnUnlistedVictim) {
  const std::string victim = "203.0.113.50";
  const std::string a = Collider(victim, 0);
  const std::string b = Collider(victim, 1);
  // The attacker pushes both colliders over the limit: both are blocked, and listed.
  for (const std::string& ip : {a, b}) {
    for (int i = 0; i < 5; ++i) ASSERT_EQ(Hit(ip).action, GuardAction::kPass) << ip;
    ASSERT_EQ(Hit(ip).action, GuardAction::kBlock) << ip;
    ASSERT_TRUE(Listed(ip)) << ip;
  }
  // The victim has sent nothing yet: it is served, and nothing lists it.
  const GuardVerdict v = Hit(victim);
  EXPECT_EQ(v.action, GuardAction::kPass) << v.reason;
  EXPECT_FALSE(Listed(victim));
  EXPECT_FALSE(guard.IsBlocked("r", Ip(victim)));
}

TEST_F(GuardCollisionTest, CollidersUnderTheLimitDoNotPushAVictimOver) {
  const std::string victim = "203.0.113.51";
  // Each collider stays under the limit (never blocked); together they fill the victim's slot
  // in both rows.
  for (std::size_t row = 0; row < AbuseGuard::kRows; ++row) {
    for (int k = 0; k < 3; ++k) {
      const std::string ip = Collider(victim, row, k);
      for (int i = 0; i < 5; ++i) ASSERT_EQ(Hit(ip).action, GuardAction::kPass) << ip;
    }
  }
  for (int i = 0; i < 5; ++i) {
    const GuardVerdict v = Hit(victim);
    EXPECT_EQ(v.action, GuardAction::kPass) << i << " " << v.reason;
  }
  EXPECT_TRUE(guard.List("r", GuardList::kBlock).empty());
}

// An attacker who somehow knows the key (here: the test chose it) can again aim collisions, but
// can no longer get anyone refused who is not listed: a refusal is confirmed on the exact key,
// and an over-count blocks the exact key that crossed the limit, which the list then shows.
class KnownKeyTest : public ::testing::Test {
 protected:
  static constexpr util::SipHashKey kKey{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  static std::size_t KeyedSlotOf(const std::string& ip, std::size_t row) {
    return AbuseGuard::SlotsOf(SketchHash(kKey, Ip128::Of(Ip(ip))))[row];
  }
  void SetUp() override { guard.Configure({{"r", Enforce(5)}}); }
  util::FakeClock clock;
  AbuseGuard guard{clock, kKey};
  GuardVerdict Hit(const std::string& ip) { return guard.Check(GuardRequest{"r", Ip(ip), {}}); }
  bool Listed(const std::string& ip) const {
    for (const GuardEntry& e : guard.List("r", GuardList::kBlock)) {
      if (e.is_ip && e.value == ip) return true;
    }
    return false;
  }
};

TEST_F(KnownKeyTest, BlockedCollidersStillDoNotBlockAnUnlistedVictim) {
  const std::string victim = "203.0.113.60";
  for (std::size_t row = 0; row < AbuseGuard::kRows; ++row) {
    const std::string ip = Collider(victim, row, 0, KeyedSlotOf);
    for (int i = 0; i < 6; ++i) Hit(ip);
    ASSERT_TRUE(Listed(ip)) << ip;
  }
  for (int i = 0; i < 5; ++i) {
    const GuardVerdict v = Hit(victim);
    EXPECT_EQ(v.action, GuardAction::kPass) << i << " " << v.reason;
  }
  EXPECT_FALSE(guard.IsBlocked("r", Ip(victim)));
  EXPECT_FALSE(Listed(victim));
}

TEST_F(KnownKeyTest, AnOverCountBlocksTheExactVictimAndListsIt) {
  const std::string victim = "203.0.113.61";
  for (std::size_t row = 0; row < AbuseGuard::kRows; ++row) {
    for (int k = 0; k < 3; ++k) {
      const std::string ip = Collider(victim, row, k, KeyedSlotOf);
      for (int i = 0; i < 5; ++i) ASSERT_EQ(Hit(ip).action, GuardAction::kPass) << ip;
    }
  }
  // The victim's estimate is over the limit at once: it is blocked, under its own address.
  const GuardVerdict v = Hit(victim);
  EXPECT_EQ(v.action, GuardAction::kBlock);
  const auto listed = guard.List("r", GuardList::kBlock);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].value, victim);
  EXPECT_EQ(listed[0].source, "auto");
  // Whoever the operator lets go is let go: removing the entry ends the refusals.
  ASSERT_TRUE(guard.Remove("r", GuardList::kBlock, true, victim));
  EXPECT_FALSE(guard.IsBlocked("r", Ip(victim)));
  EXPECT_EQ(Hit(victim).action, GuardAction::kPass);
}

// Random traffic, with colliders aimed at a handful of victims, over addresses and identities:
// every refusal names an entry that List shows for the exact address or identity refused.
TEST_F(KnownKeyTest, EveryRefusalNamesAnExactListedEntry) {
  GuardSettings s = Enforce(8);
  s.limit_per_identity = 6;
  s.block_time = std::chrono::milliseconds(3'000);
  s.lists[static_cast<std::size_t>(GuardList::kDeny)] = {
      GuardEntry{true, "10.9.0.0/16", 0, "config"}, GuardEntry{false, "mallory", 0, "config"}};
  guard.Configure({{"r", s}});
  std::vector<std::string> ips;
  for (int i = 0; i < 40; ++i) ips.push_back("198.51.100." + std::to_string(i));
  for (int v = 0; v < 4; ++v) {
    for (std::size_t row = 0; row < AbuseGuard::kRows; ++row) {
      for (int k = 0; k < 2; ++k)
        ips.push_back(Collider(ips[static_cast<std::size_t>(v)], row, k, KeyedSlotOf));
    }
  }
  ips.push_back("10.9.3.4");
  const std::vector<std::string> identities = {"", "", "alice", "bob", "mallory", "ticket-1"};
  std::mt19937 rng(7);
  int refused = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string& ip = ips[rng() % ips.size()];
    const std::string& identity = identities[rng() % identities.size()];
    // A ticket is verified; the other identities are hints.
    const bool verified = identity.rfind("ticket-", 0) == 0;
    const GuardVerdict v = guard.Check(GuardRequest{"r", Ip(ip), identity, verified});
    if (v.action == GuardAction::kBlock) {
      ++refused;
      bool named = false;
      for (GuardList list : {GuardList::kBlock, GuardList::kDeny}) {
        for (const GuardEntry& e : guard.List("r", list)) {
          const bool covers_ip =
              e.is_ip && (e.value == ip || (e.value == "10.9.0.0/16" && ip.rfind("10.9.", 0) == 0));
          named = named || covers_ip || (!e.is_ip && e.value == identity);
        }
      }
      ASSERT_TRUE(named) << "request " << i << " from " << ip << " as \"" << identity
                         << "\" refused (" << v.reason << ") without a listed entry";
    }
    if (i % 500 == 0) {
      clock.Advance(std::chrono::milliseconds(700));
      guard.Expire();
    }
  }
  EXPECT_GT(refused, 100);  // the limits did bite
}

}  // namespace
}  // namespace vwr::guard
