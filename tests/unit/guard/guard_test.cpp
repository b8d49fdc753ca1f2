#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <sstream>
#include <thread>
#include <vector>

#include "guard/abuse_guard.hpp"

namespace vwr::guard {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

boost::asio::ip::address Ip(const char* text) { return boost::asio::ip::make_address(text); }

GuardSettings Enforce(std::uint32_t per_ip, std::uint32_t per_identity) {
  GuardSettings s;
  s.mode = GuardMode::kEnforce;
  s.window = milliseconds(10'000);
  s.limit_per_ip = per_ip;
  s.limit_per_identity = per_identity;
  s.block_time = milliseconds(30'000);
  return s;
}

GuardEntry IpEntry(const char* value) { return GuardEntry{true, value, 0, "config"}; }
GuardEntry IdEntry(const char* value) { return GuardEntry{false, value, 0, "config"}; }

class GuardTest : public ::testing::Test {
 protected:
  void Configure(GuardSettings settings) { guard.Configure({{"r", std::move(settings)}}); }
  // A request whose identity (if any) is verified: a ticket, or a signed user identity.
  GuardVerdict Hit(const char* ip, std::string_view identity = {}) {
    return guard.Check(GuardRequest{"r", Ip(ip), identity, true});
  }
  util::FakeClock clock;
  AbuseGuard guard{clock};
};

TEST_F(GuardTest, BlocksAnAddressOverItsLimitUntilTheBlockTimeEnds) {
  Configure(Enforce(5, 0));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass) << i;
  GuardVerdict v = Hit("192.0.2.1");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(v.reason, "rate_limit");
  EXPECT_EQ(v.retry_after, seconds(30));
  EXPECT_TRUE(guard.IsBlocked("r", Ip("192.0.2.1")));
  // Another address is not affected.
  EXPECT_EQ(Hit("192.0.2.2").action, GuardAction::kPass);
  // Still blocked in later windows, with a shrinking Retry-After.
  clock.Advance(seconds(20));
  v = Hit("192.0.2.1");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(v.reason, "temporary_block");
  EXPECT_EQ(v.retry_after, seconds(10));
  clock.Advance(seconds(10));
  EXPECT_FALSE(guard.IsBlocked("r", Ip("192.0.2.1")));
  EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass);
  EXPECT_EQ(guard.Blocked("r", GuardReason::kRateLimitIp), 1u);
  EXPECT_EQ(guard.Blocked("r", GuardReason::kTemporaryBlock), 1u);
  // The automatic block was listed while it held, and no longer is.
  EXPECT_TRUE(guard.List("r", GuardList::kBlock).empty());
}

// The lists (and other nodes, which apply what they list) must not see a block end before it
// does: its end in whole unix seconds is rounded up, not down.
TEST_F(GuardTest, AListedBlockEndIsNeverBeforeTheBlocksEnd) {
  Configure(Enforce(1, 0));
  clock.Advance(milliseconds(700));  // 0.7 s into a wall second
  Hit("192.0.2.1");
  const GuardVerdict v = Hit("192.0.2.1");
  ASSERT_EQ(v.action, GuardAction::kBlock);
  const auto listed = guard.List("r", GuardList::kBlock);
  ASSERT_EQ(listed.size(), 1u);
  const std::int64_t blocked_at_ms =
      std::chrono::duration_cast<milliseconds>(clock.WallNow().time_since_epoch()).count();
  EXPECT_GE(listed[0].expires_unix * 1000, blocked_at_ms + 30'000);
  // The same for a join block, which ends with its window.
  GuardSettings s = Enforce(0, 0);
  s.joins_per_ip = 1;
  Configure(s);
  GuardRequest join{"r", Ip("192.0.2.9"), {}};
  join.kind = GuardRequestKind::kJoin;
  guard.Check(join);
  const GuardVerdict j = guard.Check(join);
  ASSERT_EQ(j.action, GuardAction::kBlock);
  const auto joins = guard.List("r", GuardList::kJoinBlock);
  ASSERT_EQ(joins.size(), 1u);
  const std::int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count();
  const std::int64_t left_ms = 60'000 - now_ms % 60'000;  // of the join window
  EXPECT_GE(joins[0].expires_unix * 1000, blocked_at_ms + left_ms);
}

TEST_F(GuardTest, ABlockEndsWithAFreshCountInTheSameWindow) {
  GuardSettings s = Enforce(3, 0);
  s.window = milliseconds(600'000);
  s.block_time = milliseconds(5'000);
  Configure(s);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass);
  EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kBlock);
  clock.Advance(seconds(5));
  // Still the same window: the limit counts again from zero, not from the requests that
  // caused the block.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass) << i;
  EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kBlock);
}

TEST_F(GuardTest, CountsInWindowsThatStartAfresh) {
  Configure(Enforce(3, 0));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass);
    clock.Advance(seconds(10));
  }
}

TEST_F(GuardTest, BlocksAnIdentityFromAnyAddress) {
  Configure(Enforce(0, 4));
  const char* ips[] = {"192.0.2.1", "192.0.2.2", "2001:db8::1", "198.51.100.7"};
  for (const char* ip : ips) EXPECT_EQ(Hit(ip, "bot-7").action, GuardAction::kPass);
  GuardVerdict v = Hit("203.0.113.9", "bot-7");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(guard.Blocked("r", GuardReason::kRateLimitIdentity), 1u);
  // The address is not blocked, the identity is, from anywhere.
  EXPECT_EQ(Hit("203.0.113.9", "someone-else").action, GuardAction::kPass);
  EXPECT_EQ(Hit("192.0.2.50", "bot-7").action, GuardAction::kBlock);
  const auto listed = guard.List("r", GuardList::kBlock);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].is_ip);
  EXPECT_EQ(listed[0].value, "bot-7");
  EXPECT_EQ(listed[0].source, "auto");
}

// A client-sent identity hint (a join's userId, a TRACER loginId) proves nothing: anyone may
// send someone else's. Counting it would let 21 requests from elsewhere lock its owner out.
TEST_F(GuardTest, UnverifiedIdentitiesAreNeitherCountedNorBlocked) {
  Configure(Enforce(0, 4));
  for (int i = 0; i < 50; ++i) {
    const std::string ip = "198.51.100." + std::to_string(i);
    const GuardVerdict v = guard.Check(GuardRequest{"r", Ip(ip.c_str()), "victim"});
    EXPECT_EQ(v.action, GuardAction::kPass) << i << " " << v.reason;
  }
  // The owner, with the same hint, and with the identity verified: served.
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("203.0.113.5"), "victim"}).action, GuardAction::kPass);
  EXPECT_EQ(Hit("203.0.113.5", "victim").action, GuardAction::kPass);
  EXPECT_TRUE(guard.List("r", GuardList::kBlock).empty());
  EXPECT_EQ(guard.Blocked("r", GuardReason::kRateLimitIdentity), 0u);

  // A verified identity over its limit is blocked; the same text as a mere hint is not.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Hit("192.0.2.1", "ticket-7").action, GuardAction::kPass);
  EXPECT_EQ(Hit("192.0.2.2", "ticket-7").action, GuardAction::kBlock);
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("192.0.2.3"), "ticket-7"}).action, GuardAction::kPass);
}

TEST_F(GuardTest, AnOperatorsListEntryHoldsForAnUnverifiedIdentityToo) {
  GuardSettings s = Enforce(0, 4);
  s.lists[static_cast<std::size_t>(GuardList::kDeny)] = {IdEntry("mallory")};
  Configure(s);
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("192.0.2.1"), "mallory"}).action, GuardAction::kBlock);
  ASSERT_TRUE(guard.Add("r", GuardList::kBlock, IdEntry("eve"), seconds(60)));
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("192.0.2.1"), "eve"}).action, GuardAction::kBlock);
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("192.0.2.1"), "bob"}).action, GuardAction::kPass);
}

TEST_F(GuardTest, APrivilegeHoldsOnlyForAVerifiedIdentity) {
  // Anyone can send "vip-1" as a userId: the allow and unblock lists name identities that
  // must be proven (a signed user), while their addresses hold for anyone there.
  GuardSettings s = Enforce(1, 0);
  s.lists[static_cast<std::size_t>(GuardList::kAllow)] = {IdEntry("vip-1")};
  s.lists[static_cast<std::size_t>(GuardList::kUnblock)] = {IdEntry("spared"),
                                                            IpEntry("198.51.100.0/24")};
  Configure(s);
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("192.0.2.1"), "vip-1"}).action, GuardAction::kPass)
      << "a claim";
  EXPECT_EQ(Hit("192.0.2.2", "vip-1").action, GuardAction::kBypass) << "a verified user";
  // The claimed unblock does not lift the address limit (1 a window); the verified one does.
  guard.Check(GuardRequest{"r", Ip("192.0.2.3"), "spared"});
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("192.0.2.3"), "spared"}).action, GuardAction::kBlock);
  Hit("192.0.2.4", "spared");
  EXPECT_EQ(Hit("192.0.2.4", "spared").action, GuardAction::kPass);
  EXPECT_EQ(guard.Check(GuardRequest{"r", Ip("198.51.100.9"), "anyone"}).reason, "unblock");
}

// ---- joins per address ----

GuardVerdict Join(AbuseGuard& guard, const char* ip, std::string_view user_id = {}) {
  GuardRequest request{"r", Ip(ip), user_id};
  request.kind = GuardRequestKind::kJoin;
  return guard.Check(request);
}

GuardSettings JoinLimit(std::uint32_t joins) {
  GuardSettings s;  // the request limits as they come: shadow
  s.joins_per_ip = joins;
  s.joins_window = milliseconds(60'000);
  return s;
}

TEST_F(GuardTest, TheJoinLimitHoldsByDefaultWhileTheRequestLimitsAreInShadow) {
  const GuardSettings defaults;
  EXPECT_EQ(defaults.mode, GuardMode::kShadow);
  EXPECT_EQ(defaults.joins_mode, GuardMode::kEnforce);
  EXPECT_EQ(defaults.joins_per_ip, 300u);
  EXPECT_EQ(defaults.joins_window, milliseconds(60'000));
  Configure(defaults);
  int places = 0;
  for (int i = 0; i < 2'000; ++i) {
    if (Join(guard, "192.0.2.1", "u" + std::to_string(i)).action == GuardAction::kPass) ++places;
  }
  EXPECT_EQ(places, 300);
  const GuardVerdict v = Join(guard, "192.0.2.1");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(v.reason, "join_block");
  EXPECT_GE(v.retry_after, seconds(1));
  EXPECT_LE(v.retry_after, seconds(60));
  // Listed, with its end, on join_block: exactly that address.
  const auto listed = guard.List("r", GuardList::kJoinBlock);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].value, "192.0.2.1");
  EXPECT_EQ(listed[0].source, "auto");
  EXPECT_GT(listed[0].expires_unix, 0);
  EXPECT_TRUE(guard.List("r", GuardList::kBlock).empty());
  EXPECT_EQ(guard.Blocked("r", GuardReason::kJoinLimit), 1u);
  EXPECT_EQ(guard.Blocked("r", GuardReason::kJoinBlock), 1'700u);
  // The people behind that address who hold places go on polling; others join.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Hit("192.0.2.1", "ticket").action, GuardAction::kPass);
  EXPECT_FALSE(guard.IsBlocked("r", Ip("192.0.2.1")));
  EXPECT_EQ(Join(guard, "192.0.2.2").action, GuardAction::kPass);
}

TEST_F(GuardTest, AJoinBlockEndsWithItsWindow) {
  Configure(JoinLimit(3));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Join(guard, "192.0.2.1").action, GuardAction::kPass);
  const GuardVerdict v = Join(guard, "192.0.2.1");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(v.reason, "join_limit");
  clock.Advance(v.retry_after);
  guard.Expire();
  EXPECT_TRUE(guard.List("r", GuardList::kJoinBlock).empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Join(guard, "192.0.2.1").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "192.0.2.1").action, GuardAction::kBlock);
}

TEST_F(GuardTest, AnIpv6ClientJoinsAsItsSlash64) {
  Configure(JoinLimit(3));
  EXPECT_EQ(Join(guard, "2001:db8:1:2::1").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "2001:db8:1:2::2").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "2001:db8:1:2:ffff::3").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "2001:db8:1:2:abcd::4").action, GuardAction::kBlock);
  EXPECT_EQ(Join(guard, "2001:db8:1:3::1").action, GuardAction::kPass);
  const auto listed = guard.List("r", GuardList::kJoinBlock);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].value, "2001:db8:1:2::/64");
  // An operator lifts it: the /64 may join again, with a fresh count.
  EXPECT_TRUE(guard.Remove("r", GuardList::kJoinBlock, true, "2001:db8:1:2::/64"));
  EXPECT_TRUE(guard.List("r", GuardList::kJoinBlock).empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Join(guard, "2001:db8:1:2::9").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "2001:db8:1:2::9").action, GuardAction::kBlock);
}

TEST_F(GuardTest, TheJoinLimitHasItsOwnModeAndSparesTheUnblockList) {
  GuardSettings s = JoinLimit(2);
  s.joins_mode = GuardMode::kShadow;
  s.mode = GuardMode::kOff;
  Configure(s);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Join(guard, "192.0.2.1").action, GuardAction::kPass);
  EXPECT_EQ(guard.ShadowBlocked("r", GuardReason::kJoinLimit), 8u);
  s.joins_mode = GuardMode::kOff;
  Configure(s);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Join(guard, "192.0.2.3").action, GuardAction::kPass);
  EXPECT_EQ(guard.ShadowBlocked("r", GuardReason::kJoinLimit), 8u);
  s.joins_mode = GuardMode::kEnforce;
  s.lists[static_cast<std::size_t>(GuardList::kUnblock)] = {IpEntry("192.0.2.5")};
  Configure(s);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Join(guard, "192.0.2.5").action, GuardAction::kPass);
  // Only joins count: polls, however many, do not use up an address's joins.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Hit("192.0.2.6").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "192.0.2.6").action, GuardAction::kPass);
}

TEST_F(GuardTest, AnOperatorsJoinBlockStopsJoinsOnly) {
  Configure(JoinLimit(0));
  ASSERT_TRUE(guard.Add("r", GuardList::kJoinBlock, IpEntry("198.51.100.0/24"), seconds(30)));
  const GuardVerdict v = Join(guard, "198.51.100.7");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(v.reason, "join_block");
  EXPECT_EQ(v.retry_after, seconds(30));
  EXPECT_EQ(Hit("198.51.100.7", "ticket").action, GuardAction::kPass);
  EXPECT_EQ(Join(guard, "198.51.101.7").action, GuardAction::kPass);
}

TEST_F(GuardTest, JoinBlocksReachOtherNodesAndSurviveARestart) {
  Configure(JoinLimit(1));
  std::vector<GuardChange> changes;
  guard.SetListener([&](const GuardChange& c) { changes.push_back(c); });
  Join(guard, "192.0.2.1");
  Join(guard, "192.0.2.1");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].list, GuardList::kJoinBlock);
  EXPECT_EQ(changes[0].entry.source, "auto");
  const auto saved = guard.RuntimeEntries();
  ASSERT_EQ(saved.size(), 1u);
  AbuseGuard other(clock);
  other.Configure({{"r", JoinLimit(1)}});
  other.Apply(saved[0]);
  EXPECT_EQ(Join(other, "192.0.2.1").action, GuardAction::kBlock);
  EXPECT_EQ(other.List("r", GuardList::kJoinBlock).size(), 1u);
  GuardChange removed = saved[0];
  removed.removed = true;
  other.Apply(removed);
  EXPECT_TRUE(other.List("r", GuardList::kJoinBlock).empty());
}

// What a client sent reaches the log escaped: it can neither start a line of its own nor send
// the terminal of whoever reads the log a control sequence.
TEST_F(GuardTest, AnAutomaticBlockIsLoggedWithTheIdentityEscaped) {
  std::ostringstream out;
  const auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%v");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  Configure(Enforce(0, 1));
  const std::string identity = "evil\n[info] room r: all clear\x1b[2J\"";
  Hit("192.0.2.1", identity);
  Hit("192.0.2.1", identity);
  spdlog::set_default_logger(previous);
  const std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;  // one line
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find(R"(identity "evil\n[info] room r: all clear\x1B[2J\"" blocked until)"),
            std::string::npos)
      << text;
  // The list holds the identity exactly as it was sent.
  ASSERT_EQ(guard.List("r", GuardList::kBlock).size(), 1u);
  EXPECT_EQ(guard.List("r", GuardList::kBlock)[0].value, identity);
}

TEST_F(GuardTest, ShadowModeCountsWhatItWouldBlockButServes) {
  GuardSettings s = Enforce(2, 0);
  s.mode = GuardMode::kShadow;
  Configure(s);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass);
  EXPECT_EQ(guard.ShadowBlocked("r", GuardReason::kRateLimitIp), 8u);
  EXPECT_EQ(guard.Blocked("r", GuardReason::kRateLimitIp), 0u);
  EXPECT_FALSE(guard.IsBlocked("r", Ip("192.0.2.1")));
  EXPECT_TRUE(guard.List("r", GuardList::kBlock).empty());
}

TEST_F(GuardTest, OffModeCountsNothingButTheListsHold) {
  GuardSettings s = Enforce(1, 1);
  s.mode = GuardMode::kOff;
  s.lists[static_cast<std::size_t>(GuardList::kDeny)].push_back(IpEntry("192.0.2.66"));
  Configure(s);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Hit("192.0.2.1", "u").action, GuardAction::kPass);
  EXPECT_EQ(guard.ShadowBlocked("r", GuardReason::kRateLimitIp), 0u);
  EXPECT_EQ(Hit("192.0.2.66").action, GuardAction::kBlock);
}

TEST_F(GuardTest, CidrListsOfBothFamilies) {
  GuardSettings s = Enforce(0, 0);
  s.lists[static_cast<std::size_t>(GuardList::kDeny)] = {IpEntry("10.0.0.0/8"),
                                                         IpEntry("2001:db8:bad::/48")};
  Configure(s);
  EXPECT_EQ(Hit("10.200.3.4").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("::ffff:10.0.0.1").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("11.0.0.1").action, GuardAction::kPass);
  EXPECT_EQ(Hit("9.255.255.255").action, GuardAction::kPass);
  EXPECT_EQ(Hit("2001:db8:bad:ffff::1").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("2001:db8:bae::1").action, GuardAction::kPass);
  GuardVerdict v = Hit("10.0.0.1");
  EXPECT_EQ(v.reason, "permanent_block");
  EXPECT_EQ(v.retry_after, seconds(0));
}

TEST_F(GuardTest, OverlappingRangesAreAllFound) {
  GuardSettings s = Enforce(0, 0);
  // A wide block first, then narrow ones inside and after it: a lookup past the narrow ones
  // must still find the wide one.
  s.lists[static_cast<std::size_t>(GuardList::kDeny)] = {
      IpEntry("10.0.0.0/8"), IpEntry("10.1.0.0/16"), IpEntry("10.2.3.4"), IpEntry("172.16.0.0/12")};
  Configure(s);
  EXPECT_EQ(Hit("10.9.9.9").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("10.255.0.1").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("172.31.255.255").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("172.32.0.0").action, GuardAction::kPass);
}

TEST_F(GuardTest, ListPrecedenceDenyThenAllowThenUnblockThenBlockThenLimits) {
  GuardSettings s = Enforce(1, 0);
  auto& lists = s.lists;
  lists[static_cast<std::size_t>(GuardList::kDeny)] = {IpEntry("192.0.2.1"), IdEntry("evil")};
  lists[static_cast<std::size_t>(GuardList::kAllow)] = {IpEntry("192.0.2.0/24"), IdEntry("vip")};
  lists[static_cast<std::size_t>(GuardList::kUnblock)] = {IpEntry("198.51.100.0/24")};
  Configure(s);
  // deny beats allow.
  EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kBlock);
  EXPECT_EQ(Hit("192.0.2.2", "evil").action, GuardAction::kBlock);
  // allow: bypass, never limited.
  for (int i = 0; i < 5; ++i) {
    GuardVerdict v = Hit("192.0.2.2");
    EXPECT_EQ(v.action, GuardAction::kBypass);
    EXPECT_EQ(v.reason, "allow");
  }
  EXPECT_EQ(Hit("203.0.113.1", "vip").action, GuardAction::kBypass);
  EXPECT_EQ(guard.Bypassed("r"), 6u);
  // unblock: exempt from the limits, and from a temporary block.
  ASSERT_TRUE(guard.Add("r", GuardList::kBlock, IpEntry("198.51.100.9"), seconds(60)));
  for (int i = 0; i < 5; ++i) {
    GuardVerdict v = Hit("198.51.100.9");
    EXPECT_EQ(v.action, GuardAction::kPass);
    EXPECT_EQ(v.reason, "unblock");
  }
  // Without a list: the limit of 1.
  EXPECT_EQ(Hit("203.0.113.1").action, GuardAction::kPass);
  EXPECT_EQ(Hit("203.0.113.1").action, GuardAction::kBlock);
}

TEST_F(GuardTest, RuntimeListsAddRemoveAndExpire) {
  Configure(Enforce(0, 0));
  std::vector<GuardChange> changes;
  guard.SetListener([&](const GuardChange& c) { changes.push_back(c); });
  EXPECT_FALSE(guard.Add("r", GuardList::kDeny, IpEntry("not-an-ip")));
  EXPECT_FALSE(guard.Add("nope", GuardList::kDeny, IpEntry("192.0.2.1")));
  ASSERT_TRUE(guard.Add("r", GuardList::kBlock, IdEntry("bot"), seconds(5)));
  GuardVerdict v = Hit("192.0.2.1", "bot");
  EXPECT_EQ(v.action, GuardAction::kBlock);
  EXPECT_EQ(v.reason, "temporary_block");
  EXPECT_EQ(v.retry_after, seconds(5));
  clock.Advance(seconds(5));
  EXPECT_EQ(Hit("192.0.2.1", "bot").action, GuardAction::kPass);
  guard.Expire();
  EXPECT_TRUE(guard.List("r", GuardList::kBlock).empty());

  ASSERT_TRUE(guard.Add("r", GuardList::kDeny, IpEntry("2001:db8::/64")));
  EXPECT_EQ(Hit("2001:db8::42").action, GuardAction::kBlock);
  ASSERT_EQ(guard.List("r", GuardList::kDeny).size(), 1u);
  EXPECT_EQ(guard.List("r", GuardList::kDeny)[0].source, "admin");
  EXPECT_TRUE(guard.Remove("r", GuardList::kDeny, true, "2001:db8::/64"));
  EXPECT_FALSE(guard.Remove("r", GuardList::kDeny, true, "2001:db8::/64"));
  EXPECT_EQ(Hit("2001:db8::42").action, GuardAction::kPass);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_TRUE(changes[2].removed);
  EXPECT_EQ(changes[1].list, GuardList::kDeny);
}

TEST_F(GuardTest, RemovingAnAutomaticBlockLiftsIt) {
  Configure(Enforce(1, 0));
  Hit("192.0.2.1");
  EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kBlock);
  EXPECT_TRUE(guard.Remove("r", GuardList::kBlock, true, "192.0.2.1"));
  clock.Advance(seconds(10));  // a new window: the count starts again
  EXPECT_EQ(Hit("192.0.2.1").action, GuardAction::kPass);
}

TEST_F(GuardTest, RuntimeEntriesSurviveAReconfigureAndCanBeApplied) {
  Configure(Enforce(1, 0));
  ASSERT_TRUE(guard.Add("r", GuardList::kAllow, IdEntry("friend")));
  Hit("192.0.2.1");
  Hit("192.0.2.1");  // an automatic block
  const std::vector<GuardChange> saved = guard.RuntimeEntries();
  ASSERT_EQ(saved.size(), 2u);
  Configure(Enforce(1, 0));  // a reload keeps the runtime entries
  EXPECT_EQ(Hit("203.0.113.1", "friend").action, GuardAction::kBypass);

  // A new guard (a restart, or another node) given the saved entries behaves the same.
  AbuseGuard other(clock);
  GuardSettings s = Enforce(1, 0);
  other.Configure({{"r", s}});
  for (const GuardChange& c : saved) other.Apply(c);
  EXPECT_EQ(other.Check(GuardRequest{"r", Ip("203.0.113.1"), "friend", true}).action,
            GuardAction::kBypass);
  EXPECT_EQ(other.Check(GuardRequest{"r", Ip("192.0.2.1"), ""}).action, GuardAction::kBlock);
  EXPECT_TRUE(other.IsBlocked("r", Ip("192.0.2.1")));
}

TEST_F(GuardTest, UnknownRoomsPass) {
  Configure(Enforce(1, 1));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(guard.Check(GuardRequest{"other", Ip("192.0.2.1"), "x"}).action, GuardAction::kPass);
  }
}

// Many threads counting the same and different keys at once: no request is refused before the
// limit, and past it at most one more per thread gets through (requests that reach the limit at
// the same instant; the sketch's rows are counted one after the other). Once the block has
// started, every request is refused. Run under ThreadSanitizer too.
TEST_F(GuardTest, ConcurrentCountingHoldsTheLimit) {
  GuardSettings s = Enforce(1000, 0);
  s.block_time = milliseconds(1'000);
  Configure(s);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::atomic<int> blocked{0};
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string own = "198.51.100." + std::to_string(t + 1);
      for (int i = 0; i < kPerThread; ++i) {
        const auto v = guard.Check(GuardRequest{"r", Ip("192.0.2.1"), ""});
        (v.action == GuardAction::kBlock ? blocked : passed).fetch_add(1);
        EXPECT_EQ(guard.Check(GuardRequest{"r", Ip(own.c_str()), ""}).action, GuardAction::kPass);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(passed.load(), 1000);
  EXPECT_LE(passed.load(), 1000 + kThreads - 1);
  EXPECT_EQ(passed.load() + blocked.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace vwr::guard
