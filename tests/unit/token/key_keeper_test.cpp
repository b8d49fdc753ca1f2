#include "token/key_keeper.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "token/admission_token.hpp"

namespace vwr::token {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

constexpr seconds kLifetime{600};
constexpr seconds kRotateAfter{7 * 24 * 3600};

class KeyKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vwr_key_keeper_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<KeyKeeper> Open(KeyRing& ring, KeyEvents* events = nullptr) {
    auto keeper = KeyKeeper::Open(
        ring, clock_,
        KeyKeeperOptions{
            .dir = dir_.string(), .rotate_after = kRotateAfter, .retry_after_failure = seconds(60)},
        events);
    EXPECT_TRUE(keeper.has_value()) << keeper.error();
    return keeper ? std::move(*keeper) : nullptr;
  }

  std::int64_t Now() const {
    return std::chrono::duration_cast<seconds>(clock_.WallNow().time_since_epoch()).count();
  }

  std::string ActiveKid(const KeyRing& ring) const { return ring.Current().signer->kid; }

  util::FakeClock clock_;
  fs::path dir_;
  KeyRing ring_{clock_, kLifetime};
};

TEST_F(KeyKeeperTest, OpenMakesTheFirstKeyAndFillsTheRing) {
  KeyEvents events;
  auto keeper = Open(ring_, &events);
  ASSERT_TRUE(keeper);
  ASSERT_TRUE(events.created.has_value());
  EXPECT_EQ(ActiveKid(ring_), *events.created);
  EXPECT_EQ(ring_.Current().keys.size(), 1u);
  EXPECT_TRUE(keeper->Maintain().empty()) << "nothing to do";

  // A second node on the same directory signs with the same key.
  KeyRing other(clock_, kLifetime);
  KeyEvents other_events;
  auto second = Open(other, &other_events);
  ASSERT_TRUE(second);
  EXPECT_FALSE(other_events.created.has_value());
  EXPECT_EQ(ActiveKid(other), ActiveKid(ring_));
}

TEST_F(KeyKeeperTest, RotatesWhenTheKeyIsOldAndPrunesWhenItsTokensHaveExpired) {
  auto keeper = Open(ring_);
  ASSERT_TRUE(keeper);
  const AdmissionTokenSigner signer(ring_, clock_);
  const std::string first = ActiveKid(ring_);
  const AdmissionClaims claims{.aud = "a",
                               .sub = "anon",
                               .iat = Now(),
                               .nbf = Now(),
                               .exp = Now() + kLifetime.count(),
                               .jti = "s"};
  const std::string old_token = signer.Issue(claims).value();

  clock_.Advance(kRotateAfter - seconds(1));
  EXPECT_TRUE(keeper->Maintain().empty());
  EXPECT_EQ(ActiveKid(ring_), first);

  clock_.Advance(seconds(1));
  const KeyEvents rotated = keeper->Maintain();
  ASSERT_TRUE(rotated.created.has_value());
  EXPECT_EQ(rotated.retired, first);
  EXPECT_TRUE(rotated.errors.empty());
  EXPECT_EQ(ActiveKid(ring_), *rotated.created);
  EXPECT_TRUE(signer.Verify(old_token).has_value()) << "the retired key still verifies";
  EXPECT_NE(ring_.Current().jwks.find(first), std::string::npos);
  // Reading back its own write changes nothing.
  EXPECT_TRUE(keeper->Maintain().empty());

  clock_.Advance(kLifetime + kRetiredKeyMargin - seconds(1));
  EXPECT_TRUE(keeper->Maintain().pruned.empty());
  clock_.Advance(seconds(1));
  const KeyEvents pruned = keeper->Maintain();
  EXPECT_EQ(pruned.pruned, std::vector<std::string>{first});
  EXPECT_EQ(signer.Verify(old_token).error(), TokenError::kUnknownKey);
  EXPECT_EQ(ring_.Current().jwks.find(first), std::string::npos);
  EXPECT_EQ(keeper->directory().Load()->keys.size(), 1u);
}

TEST_F(KeyKeeperTest, PicksUpARotationMadeByAnotherProcess) {
  auto keeper = Open(ring_);
  ASSERT_TRUE(keeper);
  const std::string first = ActiveKid(ring_);
  auto cli = KeyDirectory::Open(dir_.string());
  ASSERT_TRUE(cli.has_value());
  auto rotated = cli->Rotate(Now(), kLifetime.count());
  ASSERT_TRUE(rotated.has_value()) << rotated.error();

  const KeyEvents events = keeper->Maintain();
  EXPECT_TRUE(events.reloaded);
  EXPECT_EQ(events.active, rotated->created);
  EXPECT_FALSE(events.created.has_value()) << "not made by this process";
  EXPECT_EQ(ActiveKid(ring_), *rotated->created);
  EXPECT_NE(ring_.Current().Find(first), nullptr);
  EXPECT_TRUE(keeper->Maintain().empty());
}

TEST_F(KeyKeeperTest, NodesDueAtOnceRotateOnce) {
  KeyRing other(clock_, kLifetime);
  auto a = Open(ring_);
  auto b = Open(other);
  ASSERT_TRUE(a && b);
  clock_.Advance(kRotateAfter);
  const KeyEvents by_a = a->Maintain();
  const KeyEvents by_b = b->Maintain();
  EXPECT_TRUE(by_a.created.has_value());
  EXPECT_FALSE(by_b.created.has_value());
  EXPECT_EQ(by_b.active, by_a.created);
  EXPECT_EQ(ActiveKid(ring_), ActiveKid(other));
  EXPECT_EQ(a->directory().Load()->keys.size(), 2u);
}

TEST_F(KeyKeeperTest, ABrokenManifestIsReportedOnceAndTheKeysInUseAreKept) {
  auto keeper = Open(ring_);
  ASSERT_TRUE(keeper);
  const std::string kid = ActiveKid(ring_);
  const fs::path manifest = dir_ / "manifest.json";
  std::string good;
  {
    std::ifstream in(manifest);
    std::stringstream buffer;
    buffer << in.rdbuf();
    good = buffer.str();
  }
  {
    std::ofstream out(manifest.string() + ".new");
    out << "{broken";
  }
  fs::rename(manifest.string() + ".new", manifest);

  const KeyEvents broken = keeper->Maintain();
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_NE(broken.errors[0].find("manifest.json"), std::string::npos) << broken.errors[0];
  EXPECT_TRUE(keeper->Maintain().errors.empty()) << "reported once";
  EXPECT_EQ(ActiveKid(ring_), kid);
  EXPECT_EQ(keeper->Maintain(/*reload=*/true).errors.size(), 1u) << "SIGHUP reports it again";

  {
    std::ofstream out(manifest.string() + ".new");
    out << good;
  }
  fs::rename(manifest.string() + ".new", manifest);
  EXPECT_TRUE(keeper->Maintain().errors.empty());
  EXPECT_EQ(ActiveKid(ring_), kid);
}

// The emergency path for a leaked retired key: the operator deletes its entry from the manifest;
// a running node drops it and refuses its tokens, even those it had verified (and cached).
TEST_F(KeyKeeperTest, AKeyDeletedFromTheManifestStopsVerifyingAtOnce) {
  auto keeper = Open(ring_);
  ASSERT_TRUE(keeper);
  const AdmissionTokenSigner signer(ring_, clock_);
  const std::string leaked = ActiveKid(ring_);
  const AdmissionClaims claims{.aud = "a", .sub = "anon", .iat = Now(), .nbf = Now(),
                               .exp = Now() + kLifetime.count(), .jti = "s"};
  const std::string token = signer.Issue(claims).value();
  ASSERT_TRUE(signer.Verify(token).has_value());
  ASSERT_TRUE(keeper->Rotate().has_value());
  ASSERT_TRUE(signer.Verify(token).has_value());

  const fs::path manifest = dir_ / "manifest.json";
  std::string text;
  {
    std::ifstream in(manifest);
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  // The manifest lists one key per line: drop the leaked key's line (and the comma before it).
  const std::size_t line = text.find("{\"kid\":\"" + leaked);
  ASSERT_NE(line, std::string::npos);
  const std::size_t end = text.find('\n', line);
  text.erase(line - 4, end - (line - 4));  // ",\n  " before it
  {
    std::ofstream out(manifest.string() + ".new");
    out << text;
  }
  fs::rename(manifest.string() + ".new", manifest);

  const KeyEvents events = keeper->Maintain();
  EXPECT_TRUE(events.reloaded);
  EXPECT_TRUE(events.errors.empty()) << events.errors[0];
  EXPECT_EQ(ring_.Current().Find(leaked), nullptr);
  EXPECT_EQ(signer.Verify(token).error(), TokenError::kUnknownKey);
}

TEST_F(KeyKeeperTest, ALongerLifetimeIsWrittenToTheDirectory) {
  auto keeper = Open(ring_);
  ASSERT_TRUE(keeper);
  EXPECT_EQ(keeper->directory().Load()->token_lifetime_max_s, kLifetime.count());
  ring_.SetMaxTokenLifetime(hours(2));
  EXPECT_TRUE(keeper->Maintain().errors.empty());
  EXPECT_EQ(keeper->directory().Load()->token_lifetime_max_s, 7200);
  // A shorter one leaves the directory as it is.
  ring_.SetMaxTokenLifetime(seconds(60));
  keeper->Maintain();
  EXPECT_EQ(keeper->directory().Load()->token_lifetime_max_s, 7200);
}

TEST_F(KeyKeeperTest, RotatesOnDemand) {
  auto keeper = Open(ring_);
  ASSERT_TRUE(keeper);
  const std::string first = ActiveKid(ring_);
  auto events = keeper->Rotate();
  ASSERT_TRUE(events.has_value()) << events.error();
  ASSERT_TRUE(events->created.has_value());
  EXPECT_EQ(events->retired, first);
  EXPECT_EQ(ActiveKid(ring_), *events->created);
  EXPECT_EQ(ring_.Current().keys.size(), 2u);
  EXPECT_TRUE(keeper->Maintain().empty());
}

TEST_F(KeyKeeperTest, OpenFailsClearlyOnABrokenDirectory) {
  {
    auto keeper = Open(ring_);
    ASSERT_TRUE(keeper);
  }
  std::ofstream(dir_ / "manifest.json", std::ios::trunc) << "[]";
  KeyRing ring(clock_, kLifetime);
  auto keeper = KeyKeeper::Open(ring, clock_, KeyKeeperOptions{.dir = dir_.string()});
  ASSERT_FALSE(keeper.has_value());
  EXPECT_NE(keeper.error().find("manifest.json"), std::string::npos) << keeper.error();
  EXPECT_FALSE(ring.Current().signer.has_value());
}

}  // namespace
}  // namespace vwr::token
