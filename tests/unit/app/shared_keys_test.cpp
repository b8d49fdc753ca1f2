#include "app/shared_keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <atomic>
#include <fmt/format.h>
#include <future>
#include <thread>
#include <string>
#include <vector>

#include "support/redis_server.hpp"
#include "token/es256.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::app {
namespace {

using redis::testing::ClientHarness;
using redis::testing::OptionsFor;
using redis::testing::RedisServer;
using redis::testing::RunCommand;

constexpr std::chrono::seconds kLifetime{600};

std::int64_t UnixNow(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

token::ExportedKey Exported(const token::EcPrivateKey& key, std::int64_t not_after) {
  const std::string kid = token::JwkThumbprint(key.public_key());
  return token::ExportedKey{kid, token::ToJwk(key.public_key(), kid), not_after};
}

// ---- the stored form ----

TEST(SharedKeyCodec, AnEncodedKeyDecodesToTheSameKeyAndNotAfter) {
  const auto key = token::EcPrivateKey::Generate();
  const token::ExportedKey exported = Exported(key, 1'900'000'000);
  const std::string value = app::EncodeSharedKey(exported);
  // One line of JSON with the JWK as an object, as docs/scale-out.md shows it.
  const boost::json::object object = boost::json::parse(value).as_object();
  EXPECT_EQ(object.at("notAfter").as_int64(), 1'900'000'000);
  EXPECT_EQ(object.at("jwk").as_object().at("kid").as_string(), exported.kid);

  auto decoded = DecodeSharedKey(exported.kid, value);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->kid, exported.kid);
  EXPECT_TRUE(decoded->key == key.public_key());
  EXPECT_EQ(decoded->not_after_unix, 1'900'000'000);
}

TEST(SharedKeyCodec, BrokenOrForgedEntriesAreRefusedWithAReason) {
  const auto key = token::EcPrivateKey::Generate();
  const token::ExportedKey exported = Exported(key, 1'900'000'000);
  const std::string jwk = exported.jwk;
  const auto refused = [&](std::string_view field, std::string_view value) {
    auto decoded = DecodeSharedKey(field, value);
    EXPECT_FALSE(decoded) << value;
    return decoded ? std::string() : decoded.error();
  };
  EXPECT_NE(refused(exported.kid, "{not json").find("not JSON"), std::string::npos);
  EXPECT_NE(refused(exported.kid, "[1,2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(refused(exported.kid, R"({"notAfter":1900000000})").find("\"jwk\""), std::string::npos);
  EXPECT_NE(refused(exported.kid, R"({"jwk":"text","notAfter":1900000000})").find("\"jwk\""),
            std::string::npos);
  EXPECT_NE(refused(exported.kid, R"({"jwk":)" + jwk + "}").find("\"notAfter\""),
            std::string::npos);
  EXPECT_NE(refused(exported.kid, R"({"jwk":)" + jwk + R"(,"notAfter":"1900000000"})")
                .find("\"notAfter\""),
            std::string::npos);
  EXPECT_NE(refused(exported.kid, R"({"jwk":)" + jwk + R"(,"notAfter":-5})").find("out of range"),
            std::string::npos);
  EXPECT_NE(refused(exported.kid, R"({"jwk":)" + jwk + R"(,"notAfter":18446744073709551615})")
                .find("out of range"),
            std::string::npos);
  EXPECT_NE(
      refused(exported.kid, R"({"jwk":)" + jwk + R"(,"notAfter":1.5e9})").find("\"notAfter\""),
      std::string::npos);

  // A key stored under another key's kid: an attempt to pass one key off as another.
  const auto other = token::EcPrivateKey::Generate();
  const std::string other_kid = token::JwkThumbprint(other.public_key());
  EXPECT_NE(refused(other_kid, EncodeSharedKey(exported)).find("thumbprint"), std::string::npos);

  // A JWK whose kid is not its thumbprint, or that carries a private part, or is not P-256.
  boost::json::object wrong_kid = boost::json::parse(jwk).as_object();
  wrong_kid["kid"] = other_kid;
  EXPECT_NE(refused(other_kid,
                    R"({"jwk":)" + boost::json::serialize(wrong_kid) + R"(,"notAfter":1900000000})")
                .find("refused"),
            std::string::npos);
  boost::json::object with_d = boost::json::parse(jwk).as_object();
  with_d["d"] = "AAAA";
  EXPECT_NE(refused(exported.kid,
                    R"({"jwk":)" + boost::json::serialize(with_d) + R"(,"notAfter":1900000000})")
                .find("refused"),
            std::string::npos);
  boost::json::object off_curve = boost::json::parse(jwk).as_object();
  off_curve["y"] = off_curve["x"];
  EXPECT_NE(refused(exported.kid,
                    R"({"jwk":)" + boost::json::serialize(off_curve) + R"(,"notAfter":1900000000})")
                .find("refused"),
            std::string::npos);

  EXPECT_NE(refused(exported.kid, std::string(5000, ' ')).find("bytes long"), std::string::npos);
}

TEST(SharedKeyCodec, AWithdrawalIsPlannedAsADropUntilItsNotAfterThenDeleted) {
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"kid-live", EncodeWithdrawnKey(2'000)},
      {"kid-old", EncodeWithdrawnKey(1'000)},
      {"kid-odd", R"({"withdrawn":false,"notAfter":2000})"}};
  const SharedKeysPlan plan = PlanSharedKeys(entries, 1'500);
  EXPECT_EQ(plan.withdrawn, std::vector<std::string>{"kid-live"});
  EXPECT_EQ(plan.expired, std::vector<std::string>{"kid-old"});
  ASSERT_EQ(plan.invalid.size(), 1u) << "withdrawn:false is no withdrawal, and no key";
  EXPECT_EQ(plan.invalid[0].first, "kid-odd");
  EXPECT_TRUE(plan.import.empty());
}

TEST(SharedKeyCodec, APlanImportsValidKeysAndDeletesOnlyExpiredOnes) {
  const auto live = token::EcPrivateKey::Generate();
  const auto old = token::EcPrivateKey::Generate();
  const token::ExportedKey live_key = Exported(live, 2'000);
  const token::ExportedKey old_key = Exported(old, 1'000);
  const SharedKeysPlan plan = PlanSharedKeys({{live_key.kid, EncodeSharedKey(live_key)},
                                              {old_key.kid, EncodeSharedKey(old_key)},
                                              {"garbage", "{}"}},
                                             /*now_unix=*/1'000);
  ASSERT_EQ(plan.import.size(), 1u);
  EXPECT_EQ(plan.import[0].kid, live_key.kid);
  EXPECT_EQ(plan.expired, std::vector<std::string>{old_key.kid}) << "notAfter has come: deleted";
  ASSERT_EQ(plan.invalid.size(), 1u);
  EXPECT_EQ(plan.invalid[0].first, "garbage") << "refused, but not deleted: it may be fixed";
}

// ---- sharing through a real redis-server ----

// One node: its key ring with keys of its own, and a KeySharing over its own client.
struct Node {
  Node(const RedisServer& server, const util::Clock& clock, std::string hash = "vwr:jwks")
      : ring(clock, kLifetime), redis(OptionsFor(server)) {
    ring.SetOwnKeys(token::SingleKeySet(active, UnixNow(clock)));
    sharing = std::make_unique<KeySharing>(redis.client(), ring, clock, std::move(hash));
    EXPECT_TRUE(redis.WaitConnected());
  }

  // One round, waited for.
  SharedKeysRound Round() {
    auto promise = std::make_shared<std::promise<SharedKeysRound>>();
    auto future = promise->get_future();
    sharing->Round([promise](const SharedKeysRound& r) { promise->set_value(r); });
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "a round did not finish within 20 s";
      return {};
    }
    return future.get();
  }

  // One lookup, waited for.
  KeyLookup Lookup(const std::string& kid) {
    auto promise = std::make_shared<std::promise<KeyLookup>>();
    auto future = promise->get_future();
    sharing->Lookup(kid, [promise](KeyLookup r) { promise->set_value(r); });
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "a lookup did not finish within 20 s";
      return KeyLookup::kFailed;
    }
    return future.get();
  }

  std::string kid() const { return ring.Current().signer->kid; }

  token::EcPrivateKey active = token::EcPrivateKey::Generate();
  token::KeyRing ring;
  ClientHarness redis;
  std::unique_ptr<KeySharing> sharing;
};

class KeySharingTest : public ::testing::Test {
 protected:
  util::FakeClock clock_;
  RedisServer server_;
};

TEST_F(KeySharingTest, EachNodeVerifiesWithTheOthersKeysAndListsThemInItsJwks) {
  Node a(server_, clock_), b(server_, clock_), c(server_, clock_);
  for (Node* node : {&a, &b, &c}) {
    const SharedKeysRound round = node->Round();
    EXPECT_TRUE(round.ok) << round.error;
  }
  // c came last and read everyone's; a and b learn c's (and each other's) at their next round.
  for (Node* node : {&a, &b}) {
    const SharedKeysRound round = node->Round();
    EXPECT_TRUE(round.ok) << round.error;
  }
  for (Node* node : {&a, &b, &c}) {
    const token::KeyRing::Snapshot& snapshot = node->ring.Current();
    EXPECT_EQ(snapshot.keys.size(), 3u);
    for (Node* other : {&a, &b, &c}) {
      const token::EcPublicKey* key = snapshot.Find(other->kid());
      ASSERT_NE(key, nullptr);
      EXPECT_TRUE(*key == other->active.public_key());
      EXPECT_NE(snapshot.jwks.find(other->kid()), std::string::npos);
    }
    EXPECT_EQ(snapshot.signer->kid, node->kid()) << "a node signs with its own key only";
  }
  EXPECT_TRUE(a.sharing->healthy());
  // What is stored: one field per node, named by kid, in the documented form.
  const std::string stored = RunCommand(server_.port(), {"HGET", "vwr:jwks", a.kid()});
  auto decoded = DecodeSharedKey(a.kid(), stored);
  ASSERT_TRUE(decoded) << stored;
  EXPECT_EQ(decoded->not_after_unix,
            UnixNow(clock_) + kLifetime.count() + token::kRetiredKeyMargin.count());
}

TEST_F(KeySharingTest, ARotationReachesTheOtherNodesAndTheRetiredKeyStaysUntilItsNotAfter) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  ASSERT_TRUE(b.Round().ok);
  const std::string old_kid = a.kid();
  ASSERT_NE(b.ring.Current().Find(old_kid), nullptr);

  // a rotates: a new active key, the old one retired now.
  const auto fresh = token::EcPrivateKey::Generate();
  token::KeySet rotated = token::SingleKeySet(fresh, UnixNow(clock_));
  rotated.keys.push_back(
      token::KeyRecord{old_kid, a.active.public_key(), UnixNow(clock_) - 10, UnixNow(clock_)});
  a.ring.SetOwnKeys(rotated);
  ASSERT_TRUE(a.Round().ok);
  const SharedKeysRound round = b.Round();
  ASSERT_TRUE(round.ok) << round.error;
  EXPECT_EQ(round.added, std::vector<std::string>{a.kid()});
  EXPECT_NE(b.ring.Current().Find(a.kid()), nullptr);
  EXPECT_NE(b.ring.Current().Find(old_kid), nullptr) << "tokens it signed are still valid";

  // Past the retired key's notAfter (lifetime + margin), nobody keeps it: b drops it, and a no
  // longer publishes it, so whoever reads the hash first deletes its entry.
  clock_.Advance(kLifetime + token::kRetiredKeyMargin + std::chrono::seconds(1));
  b.ring.Prune();
  a.ring.Prune();
  EXPECT_EQ(b.ring.Current().Find(old_kid), nullptr);
  ASSERT_TRUE(a.Round().ok);
  EXPECT_EQ(RunCommand(server_.port(), {"HEXISTS", "vwr:jwks", old_kid}), "0")
      << "a no longer has the key: it takes its entry out";
  ASSERT_TRUE(b.Round().ok);
  EXPECT_EQ(b.ring.Current().Find(old_kid), nullptr);
  EXPECT_NE(b.ring.Current().Find(a.kid()), nullptr) << "the active key is published anew";
}

// An operator deletes a key from one node's key directory (it leaked): the other nodes stop
// honouring it at their next round, long before its notAfter.
TEST_F(KeySharingTest, AKeyItsNodeNoLongerHasIsWithdrawnFromEveryNode) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  ASSERT_TRUE(b.Round().ok);
  const std::string leaked = a.kid();
  ASSERT_NE(b.ring.Current().Find(leaked), nullptr);

  const auto fresh = token::EcPrivateKey::Generate();
  a.ring.SetOwnKeys(token::SingleKeySet(fresh, UnixNow(clock_)));  // the leaked key is gone
  ASSERT_TRUE(a.Round().ok);
  const std::string stored = RunCommand(server_.port(), {"HGET", "vwr:jwks", leaked});
  EXPECT_NE(stored.find("\"withdrawn\":true"), std::string::npos) << stored;

  const SharedKeysRound round = b.Round();
  ASSERT_TRUE(round.ok) << round.error;
  EXPECT_EQ(round.dropped, std::vector<std::string>{leaked});
  EXPECT_EQ(b.ring.Current().Find(leaked), nullptr) << "its tokens are refused now";
  EXPECT_NE(b.ring.Current().Find(a.kid()), nullptr) << "a's new key verifies";
  EXPECT_EQ(b.ring.Current().jwks.find(leaked), std::string::npos);
  // A node that starts later never imports it.
  Node c(server_, clock_);
  ASSERT_TRUE(c.Round().ok);
  EXPECT_EQ(c.ring.Current().Find(leaked), nullptr);

  // The withdrawal stays until the key's notAfter, then whoever reads first deletes it.
  clock_.Advance(kLifetime + token::kRetiredKeyMargin + std::chrono::seconds(1));
  ASSERT_TRUE(c.Round().ok);
  EXPECT_EQ(RunCommand(server_.port(), {"HEXISTS", "vwr:jwks", leaked}), "0");
}

TEST_F(KeySharingTest, ANodeThatStopsPublishingIsForgottenOnceItsTokensHaveExpired) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  ASSERT_TRUE(b.Round().ok);
  const std::string gone = a.kid();
  a.sharing.reset();  // a stops (crashed, or taken out)

  clock_.Advance(kLifetime + token::kRetiredKeyMargin + std::chrono::seconds(1));
  const SharedKeysRound round = b.Round();
  ASSERT_TRUE(round.ok) << round.error;
  EXPECT_EQ(round.deleted, std::vector<std::string>{gone});
  EXPECT_EQ(RunCommand(server_.port(), {"HEXISTS", "vwr:jwks", gone}), "0");
  b.ring.Prune();
  EXPECT_EQ(b.ring.Current().Find(gone), nullptr);
  EXPECT_EQ(RunCommand(server_.port(), {"HEXISTS", "vwr:jwks", b.kid()}), "1");
}

TEST_F(KeySharingTest, ForgedEntriesAreNeitherImportedNorDeleted) {
  Node b(server_, clock_);
  const auto attacker = token::EcPrivateKey::Generate();
  const auto victim = token::EcPrivateKey::Generate();
  const token::ExportedKey forged = Exported(attacker, UnixNow(clock_) + 3600);
  const std::string victim_kid = token::JwkThumbprint(victim.public_key());
  // The attacker's key under the victim's kid, and a value that is not ours at all.
  RunCommand(server_.port(), {"HSET", "vwr:jwks", victim_kid, EncodeSharedKey(forged)});
  RunCommand(server_.port(), {"HSET", "vwr:jwks", "junk", "not json"});
  const SharedKeysRound round = b.Round();
  ASSERT_TRUE(round.ok) << round.error;
  EXPECT_TRUE(round.added.empty());
  EXPECT_EQ(b.ring.Current().keys.size(), 1u);
  EXPECT_EQ(b.ring.Current().Find(victim_kid), nullptr);
  EXPECT_EQ(b.ring.Current().Find(forged.kid), nullptr);
  EXPECT_EQ(RunCommand(server_.port(), {"HEXISTS", "vwr:jwks", "junk"}), "1");
}

TEST_F(KeySharingTest, WithRedisDownTheKnownKeysAreKeptAndSharingResumes) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  ASSERT_TRUE(b.Round().ok);
  ASSERT_TRUE(a.Round().ok);
  server_.Kill();
  const SharedKeysRound failed = b.Round();
  EXPECT_FALSE(failed.ok);
  EXPECT_FALSE(failed.error.empty());
  EXPECT_FALSE(b.sharing->healthy());
  EXPECT_NE(b.ring.Current().Find(a.kid()), nullptr) << "what is known is kept";

  ASSERT_TRUE(server_.Restart());  // empty: no persistence
  ASSERT_TRUE(redis::testing::Eventually([&] { return b.Round().ok; }));
  EXPECT_TRUE(b.sharing->healthy());
  ASSERT_TRUE(redis::testing::Eventually([&] { return a.Round().ok; }));
  EXPECT_EQ(RunCommand(server_.port(), {"HLEN", "vwr:jwks"}), "2") << "both published again";
}

TEST_F(KeySharingTest, NodesWithAnotherKeyPrefixShareNothing) {
  Node a(server_, clock_, "one:jwks"), b(server_, clock_, "two:jwks");
  ASSERT_TRUE(a.Round().ok);
  ASSERT_TRUE(b.Round().ok);
  EXPECT_EQ(b.ring.Current().Find(a.kid()), nullptr);
  EXPECT_EQ(b.ring.Current().keys.size(), 1u);
}


// ---- looking one kid up at once ----

// How many HGETs the server has run (INFO commandstats).
long long HgetCalls(const RedisServer& server) {
  const std::string info = RunCommand(server.port(), {"INFO", "commandstats"});
  const std::size_t at = info.find("cmdstat_hget:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(info.substr(at + std::string_view("cmdstat_hget:calls=").size()));
}

// A kid shaped like a thumbprint that no key has.
std::string MadeUpKid(int n) {
  std::string kid = fmt::format("made-up-{:035d}", n);
  return kid;
}

TEST_F(KeySharingTest, ATokenOfANodeThatJustStartedVerifiesAtOnceThroughALookup) {
  Node b(server_, clock_);
  ASSERT_TRUE(b.Round().ok);
  Node a(server_, clock_);  // starts after b's round, publishes before it signs
  ASSERT_TRUE(a.Round().ok);
  ASSERT_EQ(b.ring.Current().Find(a.kid()), nullptr) << "b has not had a round since";

  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kFound);
  const token::EcPublicKey* key = b.ring.Current().Find(a.kid());
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(*key == a.active.public_key());
  EXPECT_NE(b.ring.Current().jwks.find(a.kid()), std::string::npos);
  const long long hgets = HgetCalls(server_);
  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kFound);
  EXPECT_EQ(HgetCalls(server_), hgets) << "a key the ring holds is not asked for again";
  EXPECT_EQ(b.sharing->lookups(KeyLookup::kFound), 2u);
}

TEST_F(KeySharingTest, AMissingKidIsRememberedBrieflyThenAskedAgain) {
  Node b(server_, clock_);
  Node a(server_, clock_);
  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kNotFound) << "a has not published yet";
  const long long hgets = HgetCalls(server_);
  ASSERT_TRUE(a.Round().ok);
  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kNotFound) << "remembered as missing";
  EXPECT_EQ(HgetCalls(server_), hgets) << "without asking Redis";
  clock_.Advance(kMissingKeyMemory);
  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kFound);
}

TEST_F(KeySharingTest, AWithdrawnOrForgedKeyIsNotFoundByALookup) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  const std::string old_kid = a.kid();
  // a's key directory loses the key: the next round withdraws it.
  token::EcPrivateKey replacement = token::EcPrivateKey::Generate();
  a.ring.SetOwnKeys(token::SingleKeySet(replacement, UnixNow(clock_)));
  ASSERT_TRUE(a.Round().ok);
  EXPECT_EQ(b.Lookup(old_kid), KeyLookup::kNotFound);
  EXPECT_EQ(b.ring.Current().Find(old_kid), nullptr);

  // A key stored under another key's kid is refused.
  token::EcPrivateKey other = token::EcPrivateKey::Generate();
  const std::string victim = MadeUpKid(1);
  RunCommand(server_.port(),
             {"HSET", "vwr:jwks", victim,
              EncodeSharedKey(Exported(other, UnixNow(clock_) + 3600))});
  EXPECT_EQ(b.Lookup(victim), KeyLookup::kNotFound);
  EXPECT_EQ(b.ring.Current().Find(victim), nullptr);
}

TEST_F(KeySharingTest, ManyAskersOfOneKidShareOneLookup) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  const long long hgets = HgetCalls(server_);
  constexpr int kAskers = 200;
  std::atomic<int> found{0}, answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAskers / 4; ++i) {
        b.sharing->Lookup(a.kid(), [&](KeyLookup r) {
          if (r == KeyLookup::kFound) ++found;
          ++answered;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(redis::testing::Eventually([&] { return answered.load() == kAskers; }));
  EXPECT_EQ(found.load(), kAskers);
  EXPECT_LE(HgetCalls(server_) - hgets, 4) << "one lookup in flight per kid";
}

TEST_F(KeySharingTest, AFloodOfMadeUpKidsIsBoundedAndARealKidStillGetsThrough) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  const long long hgets = HgetCalls(server_);
  constexpr int kFlood = 20000;
  std::atomic<int> answered{0};
  for (int i = 0; i < kFlood; ++i) {
    b.sharing->Lookup(MadeUpKid(i), [&](KeyLookup) { ++answered; });
  }
  // Not shaped like a kid: answered without Redis.
  for (const std::string& junk : {std::string("short"), std::string(43, '/'), std::string(5000, 'a')}) {
    b.sharing->Lookup(junk, [&](KeyLookup r) {
      EXPECT_EQ(r, KeyLookup::kNotFound);
      ++answered;
    });
  }
  ASSERT_TRUE(redis::testing::Eventually([&] { return answered.load() == kFlood + 3; }));
  EXPECT_GT(b.sharing->lookups(KeyLookup::kBusy), 0u) << "beyond the bound, refused at once";
  EXPECT_EQ(HgetCalls(server_) - hgets,
            static_cast<long long>(b.sharing->lookups(KeyLookup::kNotFound)) - 3)
      << "each HGET answered one made-up kid";
  EXPECT_EQ(b.ring.Current().keys.size(), 1u) << "nothing made up entered the ring";
  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kFound) << "once the flood has drained";
}

TEST_F(KeySharingTest, WithRedisDownALookupFailsAndIsNotRememberedAsMissing) {
  Node a(server_, clock_), b(server_, clock_);
  ASSERT_TRUE(a.Round().ok);
  server_.Kill();
  EXPECT_EQ(b.Lookup(a.kid()), KeyLookup::kFailed);
  ASSERT_TRUE(server_.Restart());
  ASSERT_TRUE(redis::testing::Eventually([&] { return a.Round().ok; }));
  // b's own connection comes back in its own time; until then its lookups fail (and are not
  // remembered: the clock does not move here, a remembered miss would last for ever).
  KeyLookup after = KeyLookup::kFailed;
  ASSERT_TRUE(redis::testing::Eventually([&] {
    after = b.Lookup(a.kid());
    return after != KeyLookup::kFailed;
  }));
  EXPECT_EQ(after, KeyLookup::kFound) << "a failure is not a negative answer";
}

}  // namespace
}  // namespace vwr::app
