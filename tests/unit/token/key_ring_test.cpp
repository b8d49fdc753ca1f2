#include "token/key_ring.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstring>

#include "util/base64.hpp"

namespace vwr::token {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kStart = 1'800'000'000;  // the fake clock's wall time at start

class KeyRingTest : public ::testing::Test {
 protected:
  // The active key `active` and `key_` retired at `retired_unix`.
  KeySet RotatedSet(const EcPrivateKey& active, std::int64_t retired_unix) {
    KeySet set = SingleKeySet(active, retired_unix);
    set.keys.push_back(
        KeyRecord{JwkThumbprint(key_.public_key()), key_.public_key(), 0, retired_unix});
    return set;
  }

  util::FakeClock clock_;
  KeyRing ring_{clock_, seconds(600)};
  EcPrivateKey key_ = EcPrivateKey::Generate();
  std::string kid_ = JwkThumbprint(key_.public_key());
};

TEST_F(KeyRingTest, StartsWithoutKeys) {
  const KeyRing::Snapshot& s = ring_.Current();
  EXPECT_FALSE(s.signer.has_value());
  EXPECT_TRUE(s.keys.empty());
  EXPECT_EQ(s.jwks, R"({"keys":[]})");
  EXPECT_TRUE(ring_.ExportOwnKeys().empty());
}

TEST_F(KeyRingTest, PublishesTheSignerAndAJwksWhoseCoordinatesAreTheKeys) {
  ring_.SetOwnKeys(SingleKeySet(key_, kStart));
  const KeyRing::Snapshot& s = ring_.Current();
  ASSERT_TRUE(s.signer.has_value());
  EXPECT_EQ(s.signer->kid, kid_);
  EXPECT_EQ(util::Base64UrlDecode(s.signer->encoded_header).value(),
            R"({"alg":"ES256","typ":"JWT","kid":")" + kid_ + R"("})");
  ASSERT_NE(s.Find(kid_), nullptr);
  EXPECT_EQ(s.Find("nope"), nullptr);

  const boost::json::value jwks = boost::json::parse(s.jwks);
  const boost::json::array& keys = jwks.at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  const boost::json::object& jwk = keys[0].as_object();
  EXPECT_EQ(jwk.at("kty"), "EC");
  EXPECT_EQ(jwk.at("crv"), "P-256");
  EXPECT_EQ(jwk.at("use"), "sig");
  EXPECT_EQ(jwk.at("alg"), "ES256");
  EXPECT_EQ(jwk.at("kid"), boost::json::value(kid_));
  const auto x = util::Base64UrlDecode(std::string_view(jwk.at("x").as_string())).value();
  const auto y = util::Base64UrlDecode(std::string_view(jwk.at("y").as_string())).value();
  ASSERT_EQ(x.size(), 32u);
  ASSERT_EQ(y.size(), 32u);
  EXPECT_EQ(std::memcmp(x.data(), key_.public_key().x().data(), 32), 0);
  EXPECT_EQ(std::memcmp(y.data(), key_.public_key().y().data(), 32), 0);
  // Re-imported, the published JWK verifies what the private key signs.
  auto parsed = ParseJwk(boost::json::serialize(jwk));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_TRUE(parsed->key.Verify("m", key_.Sign("m").value()));
  EXPECT_EQ(s.jwks_etag.size(), 34u);
}

TEST_F(KeyRingTest, PublishesANewVersionOnlyWhenTheKeysChange) {
  ring_.SetOwnKeys(SingleKeySet(key_, kStart));
  const KeyRing::Snapshot* first = &ring_.Current();
  ring_.SetOwnKeys(SingleKeySet(key_, kStart));
  ring_.SetMaxTokenLifetime(seconds(60));
  EXPECT_EQ(ring_.AddForeignKeys({}), 0u);
  EXPECT_TRUE(ring_.Prune().empty());
  EXPECT_EQ(&ring_.Current(), first);
  EXPECT_EQ(first->epoch, 0u);

  // A rotation adds a key: a new version, same epoch (nothing verified before became void).
  ring_.SetOwnKeys(RotatedSet(EcPrivateKey::Generate(), kStart));
  EXPECT_NE(&ring_.Current(), first);
  EXPECT_EQ(ring_.Current().epoch, 0u);
  EXPECT_EQ(ring_.Current().keys.size(), 2u);
  EXPECT_NE(ring_.Current().jwks_etag, first->jwks_etag);
  EXPECT_NE(first->Find(kid_), nullptr) << "old versions stay readable";
}

TEST_F(KeyRingTest, RetiredKeysStayUntilTheirTokensHaveExpired) {
  ring_.SetOwnKeys(RotatedSet(EcPrivateKey::Generate(), kStart));
  EXPECT_NE(ring_.Current().Find(kid_), nullptr);
  const std::vector<KeyDescription> described = ring_.Describe();
  ASSERT_EQ(described.size(), 2u);
  EXPECT_EQ(described[0].state, KeyDescription::State::kActive);
  EXPECT_EQ(described[1].state, KeyDescription::State::kRetired);
  EXPECT_EQ(described[1].retired_unix, kStart);
  EXPECT_EQ(described[1].not_after_unix, kStart + 600 + kRetiredKeyMargin.count());

  clock_.Advance(seconds(600) + kRetiredKeyMargin - seconds(1));
  EXPECT_TRUE(ring_.Prune().empty());
  EXPECT_NE(ring_.Current().Find(kid_), nullptr);
  clock_.Advance(seconds(1));
  EXPECT_EQ(ring_.Prune(), std::vector<std::string>{kid_});
  EXPECT_EQ(ring_.Current().Find(kid_), nullptr);
  EXPECT_EQ(ring_.Current().jwks.find(kid_), std::string::npos);
  EXPECT_EQ(ring_.Current().epoch, 1u) << "a key left: caches must forget";
}

TEST_F(KeyRingTest, TheDirectorysLongerLifetimeKeepsRetiredKeysLonger) {
  KeySet set = RotatedSet(EcPrivateKey::Generate(), kStart);
  set.token_lifetime_max_s = 3600;
  ring_.SetOwnKeys(set);
  clock_.Advance(seconds(600) + kRetiredKeyMargin);
  EXPECT_TRUE(ring_.Prune().empty());
  clock_.Advance(seconds(3000));
  EXPECT_EQ(ring_.Prune().size(), 1u);
}

TEST_F(KeyRingTest, LeavesOutRetiredKeysAlreadyPastTheirNotAfter) {
  ring_.SetOwnKeys(RotatedSet(EcPrivateKey::Generate(), kStart - 600 - kRetiredKeyMargin.count()));
  EXPECT_EQ(ring_.Current().keys.size(), 1u);
  EXPECT_EQ(ring_.Current().Find(kid_), nullptr);
}

TEST_F(KeyRingTest, ExportsOwnKeysWithTheirNotAfter) {
  const EcPrivateKey active = EcPrivateKey::Generate();
  ring_.SetOwnKeys(RotatedSet(active, kStart - 100));
  const std::vector<ExportedKey> exported = ring_.ExportOwnKeys();
  ASSERT_EQ(exported.size(), 2u);
  EXPECT_EQ(exported[0].kid, JwkThumbprint(active.public_key()));
  EXPECT_EQ(exported[0].not_after_unix, kStart + 600 + kRetiredKeyMargin.count());
  EXPECT_EQ(exported[1].kid, kid_);
  EXPECT_EQ(exported[1].not_after_unix, kStart - 100 + 600 + kRetiredKeyMargin.count());
  EXPECT_EQ(exported[1].jwk, ToJwk(key_.public_key(), kid_));
}

TEST_F(KeyRingTest, ForeignKeysAreImportedListedAndDroppedAtTheirNotAfter) {
  ring_.SetOwnKeys(SingleKeySet(key_, kStart));
  KeyRing node_b(clock_, seconds(600));
  const EcPrivateKey b_key = EcPrivateKey::Generate();
  node_b.SetOwnKeys(SingleKeySet(b_key, kStart));

  std::vector<PublicKeyInfo> from_b;
  for (const ExportedKey& e : node_b.ExportOwnKeys()) {
    auto imported = KeyRing::ImportKey(e.jwk, e.not_after_unix);
    ASSERT_TRUE(imported.has_value()) << imported.error();
    from_b.push_back(*imported);
  }
  EXPECT_EQ(ring_.AddForeignKeys(from_b), 1u);
  EXPECT_EQ(ring_.AddForeignKeys(from_b), 0u) << "already known";
  const std::string b_kid = JwkThumbprint(b_key.public_key());
  ASSERT_NE(ring_.Current().Find(b_kid), nullptr);
  EXPECT_TRUE(ring_.Current().Find(b_kid)->Verify("m", b_key.Sign("m").value()));
  EXPECT_NE(ring_.Current().jwks.find(b_kid), std::string::npos);
  EXPECT_EQ(ring_.Current().signer->kid, kid_) << "a foreign key never signs here";
  ASSERT_EQ(ring_.ForeignKeys().size(), 1u);
  EXPECT_EQ(ring_.ForeignKeys()[0].kid, b_kid);
  EXPECT_EQ(ring_.Describe().back().state, KeyDescription::State::kForeign);
  EXPECT_EQ(ring_.ExportOwnKeys().size(), 1u) << "only own keys are exported";

  // B publishes again later: the not_after moves on.
  clock_.Advance(seconds(100));
  from_b[0].not_after_unix += 100;
  ring_.AddForeignKeys(from_b);
  EXPECT_EQ(ring_.ForeignKeys()[0].not_after_unix, from_b[0].not_after_unix);

  // B stops publishing: its key goes once its tokens have expired.
  clock_.Advance(seconds(600) + kRetiredKeyMargin - seconds(1));
  EXPECT_TRUE(ring_.Prune().empty());
  clock_.Advance(seconds(1));
  EXPECT_EQ(ring_.Prune(), std::vector<std::string>{b_kid});
  EXPECT_EQ(ring_.Current().Find(b_kid), nullptr);
  EXPECT_TRUE(ring_.ForeignKeys().empty());
}

TEST_F(KeyRingTest, ForeignKeysCannotShadowOwnKeysOrArriveExpired) {
  ring_.SetOwnKeys(SingleKeySet(key_, kStart));
  // Our own key, published back to us through the shared store.
  auto own = KeyRing::ImportKey(ToJwk(key_.public_key(), kid_), kStart + 10'000);
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(ring_.AddForeignKeys({*own}), 0u);
  EXPECT_TRUE(ring_.ForeignKeys().empty());
  // Already expired.
  const EcPrivateKey other = EcPrivateKey::Generate();
  auto expired =
      KeyRing::ImportKey(ToJwk(other.public_key(), JwkThumbprint(other.public_key())), kStart);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(ring_.AddForeignKeys({*expired}), 0u);
  // A key under another key's kid (not from ParseJwk) does not replace it.
  auto real = KeyRing::ImportKey(ToJwk(other.public_key(), JwkThumbprint(other.public_key())),
                                 kStart + 10'000);
  ASSERT_TRUE(real.has_value());
  EXPECT_EQ(ring_.AddForeignKeys({*real}), 1u);
  PublicKeyInfo impostor{real->kid, EcPrivateKey::Generate().public_key(), kStart + 20'000};
  EXPECT_EQ(ring_.AddForeignKeys({impostor}), 0u);
  EXPECT_EQ(*ring_.Current().Find(real->kid), other.public_key());
  // Bad exports are refused with the reason.
  auto bad = KeyRing::ImportKey(R"({"kty":"EC"})", kStart + 10'000);
  ASSERT_FALSE(bad.has_value());
  EXPECT_FALSE(bad.error().empty());
}

}  // namespace
}  // namespace vwr::token
