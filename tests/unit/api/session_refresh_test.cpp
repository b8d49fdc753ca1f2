// Sessions kept by what /api/v1/verify lets through (activity behind a gateway, coalesced store
// writes, fresh tokens past half their lifetime), the cap on time inside (rooms[].session_max),
// and tokens signed by another node's key not held yet (looked up, then verified again):
// through the public API over an embedded store on a fake clock.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "api/public_api.hpp"
#include "api/session_activity.hpp"
#include "store/embedded_store.hpp"
#include "support/api_fixture.hpp"
#include "token/session_id.hpp"
#include "util/base64.hpp"

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Headers;

boost::json::object Payload(std::string_view jws) {
  const std::size_t first = jws.find('.');
  const std::size_t second = jws.rfind('.');
  return boost::json::parse(*util::Base64UrlDecode(jws.substr(first + 1, second - first - 1)))
      .as_object();
}

std::string Header(const http::Response& res, std::string_view name) {
  return std::string(res[name]);
}

class SessionRefreshTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  SessionRefreshTest() : EmbeddedApiFixture(seconds(300)) {}

  // Room "r": everyone admitted at once; idle sessions end after `timeout`.
  void Start(milliseconds timeout, milliseconds session_max = milliseconds(0),
             std::optional<seconds> token_lifetime = std::nullopt) {
    core::Policy p;
    p.max_active = 100;
    p.admit_rate = 100;
    p.burst = 100;
    p.session_timeout = timeout;
    p.session_max = session_max;
    MakeRooms({"r"}, p);
    api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_);
    api_->SetRoutes({{"r", {{"*", "/"}}}});
    if (token_lifetime) api_->SetTokenLifetimes({{"r", *token_lifetime}});
  }

  http::Response Call(http::verb method, std::string target, const Headers& headers = {}) {
    return Send(*api_, method, std::move(target), "", headers);
  }
  // The token of an admitted join.
  std::string Admitted() {
    http::Response res = Call(http::verb::post, "/api/v1/rooms/r/join");
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    boost::json::object answer = Json(res);
    EXPECT_EQ(answer["status"], "admitted") << res.body();
    return answer.contains("token") ? std::string(answer["token"].as_string()) : "";
  }
  http::Response VerifyCookie(const std::string& token) {
    return Call(http::verb::get, "/api/v1/verify?room=r", {{"Cookie", "vwr_r=" + token}});
  }
  http::Response VerifyBearer(const std::string& token) {
    return Call(http::verb::get, "/api/v1/verify?room=r", {{"Authorization", "Bearer " + token}});
  }
  http::Response Heartbeat(const std::string& token) {
    return Call(http::verb::post, "/api/v1/rooms/r/heartbeat",
                {{"Authorization", "Bearer " + token}});
  }
  http::Response Leave(const std::string& token) {
    return Call(http::verb::post, "/api/v1/rooms/r/leave", {{"Authorization", "Bearer " + token}});
  }
  std::int64_t Now() const {
    return std::chrono::duration_cast<seconds>(clock_.WallNow().time_since_epoch()).count();
  }
  double Metric(const std::string& sample) const {
    std::string text;
    metrics_.Render(text);
    const std::size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }
  std::int64_t Active() { return store_->Find("r")->Figures().active; }

  std::unique_ptr<PublicApi> api_;
};

// ---- activity behind a gateway ----

TEST_F(SessionRefreshTest, BrowsingBehindAGatewayKeepsTheSessionPastTheTimeoutAndTheTokenLifetime) {
  // session_timeout 3 s, and so tokens of 3 s; a page (a verify) every half second, no
  // heartbeat at all, for 12 s: four timeouts and four token lifetimes.
  Start(seconds(3));
  std::string cookie = Admitted();
  const std::string first = cookie;
  int renewed = 0;
  for (int i = 0; i < 24; ++i) {
    Tick(milliseconds(500));
    http::Response res = VerifyCookie(cookie);
    ASSERT_EQ(res.result(), http::status::no_content)
        << "after " << (i + 1) * 500 << " ms: " << res.body();
    if (const std::string fresh = Header(res, PublicApi::kTokenHeader); !fresh.empty()) {
      // What nginx sets: the same token, as the whole Set-Cookie value of vwr_r.
      const std::string set_cookie = Header(res, PublicApi::kSetCookieHeader);
      EXPECT_EQ(set_cookie.rfind("vwr_r=" + fresh + ";", 0), 0u) << set_cookie;
      EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
      EXPECT_NE(set_cookie.find("Max-Age=3"), std::string::npos) << set_cookie;
      EXPECT_EQ(Payload(fresh)["jti"], Payload(first)["jti"]) << "the same session";
      EXPECT_EQ(Payload(fresh)["exp"].as_int64(), Now() + 3);
      cookie = fresh;
      ++renewed;
    }
  }
  EXPECT_EQ(Active(), 1) << "the session lives on";
  EXPECT_GE(renewed, 6) << "a fresh token at least every half lifetime";
  EXPECT_EQ(Heartbeat(cookie).result(), http::status::no_content);
  // The first token was not extended: 12 s on, it has expired (a replay of it is refused).
  http::Response old = VerifyCookie(first);
  EXPECT_EQ(old.result(), http::status::unauthorized);
  EXPECT_NE(old.body().find("token_expired"), std::string::npos) << old.body();

  // Once the browsing stops, the session ends by idleness as before.
  Tick(seconds(4));
  EXPECT_EQ(Active(), 0);
  http::Response ended = VerifyCookie(cookie);
  EXPECT_EQ(ended.result(), http::status::unauthorized);
}

TEST_F(SessionRefreshTest, VerifyRefreshesTheStoreAtMostOncePerIntervalPerSession) {
  // session_timeout 30 s: a refresh every 3 s at most, however many requests come.
  Start(seconds(30));
  const std::string a = Admitted();
  const std::string b = Admitted();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(VerifyCookie(a).result(), http::status::no_content);
    ASSERT_EQ(VerifyBearer(b).result(), http::status::no_content);
    clock_.Advance(milliseconds(20));  // 2 s in all
  }
  EXPECT_EQ(Metric("vwr_verify_session_refreshes_total"), 2) << "one per session";
  clock_.Advance(seconds(1));  // 3 s since the first
  EXPECT_EQ(VerifyCookie(a).result(), http::status::no_content);
  EXPECT_EQ(VerifyCookie(a).result(), http::status::no_content);
  EXPECT_EQ(Metric("vwr_verify_session_refreshes_total"), 3);
}

TEST_F(SessionRefreshTest, AFreshTokenComesOnlyPastHalfTheTokensLifetime) {
  Start(seconds(600), milliseconds(0), seconds(60));
  const std::string token = Admitted();
  clock_.Advance(seconds(29));
  http::Response early = VerifyCookie(token);
  EXPECT_EQ(early.result(), http::status::no_content);
  EXPECT_EQ(Header(early, PublicApi::kTokenHeader), "");
  EXPECT_EQ(Header(early, PublicApi::kSetCookieHeader), "");
  clock_.Advance(seconds(1));
  http::Response half = VerifyCookie(token);
  const std::string fresh = Header(half, PublicApi::kTokenHeader);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(Payload(fresh)["exp"].as_int64(), Now() + 60);
  EXPECT_EQ(Payload(fresh)["iat"].as_int64(), Now());
  EXPECT_EQ(Payload(fresh)["auth_time"], Payload(token)["auth_time"]) << "admission stays";
  EXPECT_EQ(Metric("vwr_verify_tokens_renewed_total"), 1);
  // The fresh token is an ordinary one: heartbeat and leave take it.
  EXPECT_EQ(Heartbeat(fresh).result(), http::status::no_content);
}

TEST_F(SessionRefreshTest, ARefreshedTokenIsRefusedOnceTheSessionHasEnded) {
  // Attack: keep a renewed token and use it after leaving (or after an operator ended it).
  Start(seconds(600), milliseconds(0), seconds(60));
  const std::string token = Admitted();
  clock_.Advance(seconds(40));
  const std::string fresh = Header(VerifyCookie(token), PublicApi::kTokenHeader);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(Leave(token).result(), http::status::no_content);
  for (const std::string& t : {token, fresh}) {
    http::Response res = VerifyCookie(t);
    EXPECT_EQ(res.result(), http::status::unauthorized);
    EXPECT_NE(res.body().find("session_ended"), std::string::npos) << res.body();
    EXPECT_EQ(Header(res, PublicApi::kTokenHeader), "") << "no renewal of an ended session";
    EXPECT_EQ(Heartbeat(t).result(), http::status::not_found);
  }
  EXPECT_EQ(Active(), 0) << "verifying did not bring the session back";
}

TEST(SessionActivity, RefreshIntervalIsATenthOfTheTimeoutWithinBounds) {
  EXPECT_EQ(SessionActivity::RefreshInterval(seconds(600)), seconds(60));
  EXPECT_EQ(SessionActivity::RefreshInterval(seconds(3)), seconds(1));
  EXPECT_EQ(SessionActivity::RefreshInterval(seconds(1)), milliseconds(500));
}

TEST(SessionActivity, IsBoundedAgainstManySessions) {
  util::FakeClock clock;
  SessionActivity activity(clock);
  const int room = 0;
  for (std::uint64_t s = 1; s <= SessionActivity::kMaxSessions * 2; ++s) {
    EXPECT_TRUE(activity.Due(&room, s, seconds(10)));
  }
  EXPECT_LE(activity.size(), SessionActivity::kMaxSessions);
  EXPECT_FALSE(activity.Due(&room, SessionActivity::kMaxSessions * 2, seconds(10)));
  clock.Advance(seconds(10));
  EXPECT_TRUE(activity.Due(&room, SessionActivity::kMaxSessions * 2, seconds(10)));
}

// ---- tokens signed by another node's key ----

// Another node: its own key, not in this node's ring until looked up.
class ForeignKeyTest : public SessionRefreshTest {
 protected:
  ForeignKeyTest() : other_ring_(clock_, seconds(300)), other_tokens_(other_ring_, clock_) {
    other_ring_.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
    Start(seconds(600));
  }

  // A session admitted here, with a token as the other node would issue it for it.
  std::string ForeignToken() {
    const std::string here = Admitted();
    token::AdmissionClaims claims = *tokens_.Verify(here);
    return other_tokens_.Issue(claims).value();
  }

  // The other node's key, as the shared store would hand it over.
  void ImportOtherKey() {
    const token::ExportedKey exported = other_ring_.ExportOwnKeys().front();
    auto key = token::KeyRing::ImportKey(exported.jwk, exported.not_after_unix);
    ASSERT_TRUE(key);
    ring_.AddForeignKeys({*key});
  }

  void LookUpWith(http::KeyLookupOutcome outcome) {
    api_->SetKeyLookup(
        [this, outcome](std::string kid, std::function<void(http::KeyLookupOutcome)> done) {
          asked_.push_back(kid);
          if (outcome == http::KeyLookupOutcome::kFound) ImportOtherKey();
          done(outcome);
        });
  }

  token::KeyRing other_ring_;
  token::AdmissionTokenSigner other_tokens_;
  std::vector<std::string> asked_;
};

TEST_F(ForeignKeyTest, ATokenOfANodeNotKnownYetIsLookedUpAndAcceptedAtOnce) {
  const std::string token = ForeignToken();
  const std::string kid = other_ring_.Current().signer->kid;
  // Without a lookup (one node), such a token is refused.
  EXPECT_EQ(VerifyCookie(token).result(), http::status::unauthorized);

  LookUpWith(http::KeyLookupOutcome::kFound);
  http::Response verified = VerifyCookie(token);
  EXPECT_EQ(verified.result(), http::status::no_content) << verified.body();
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0], kid);
  // Known from now on: no more lookups.
  EXPECT_EQ(Heartbeat(token).result(), http::status::no_content);
  EXPECT_EQ(Leave(token).result(), http::status::no_content);
  EXPECT_EQ(asked_.size(), 1u);
  EXPECT_EQ(Active(), 0) << "the leave ended the session";
  EXPECT_EQ(Metric("vwr_token_key_lookups_total{result=\"found\"}"), 1);
}

TEST_F(ForeignKeyTest, HeartbeatAndLeaveLookTheKeyUpToo) {
  const std::string token = ForeignToken();
  LookUpWith(http::KeyLookupOutcome::kFound);
  EXPECT_EQ(Leave(token).result(), http::status::no_content);
  EXPECT_EQ(Active(), 0);
  EXPECT_EQ(asked_.size(), 1u);

  ForeignKeyTest::Start(seconds(600));  // a fresh room and API: the key is held now
  const std::string again = ForeignToken();
  LookUpWith(http::KeyLookupOutcome::kFound);
  EXPECT_EQ(Heartbeat(again).result(), http::status::no_content);
  EXPECT_EQ(asked_.size(), 1u) << "the ring already held it: no second lookup";
}

TEST_F(ForeignKeyTest, AKeyNobodySharesIsRefusedAfterOneLookup) {
  const std::string token = ForeignToken();
  for (const http::KeyLookupOutcome outcome :
       {http::KeyLookupOutcome::kNotFound, http::KeyLookupOutcome::kBusy,
        http::KeyLookupOutcome::kFailed}) {
    LookUpWith(outcome);
    http::Response res = VerifyCookie(token);
    EXPECT_EQ(res.result(), http::status::unauthorized);
    EXPECT_NE(res.body().find("invalid_token"), std::string::npos) << res.body();
    EXPECT_FALSE(Header(res, PublicApi::kWaitUrlHeader).empty()) << "nginx sends it to wait";
    EXPECT_EQ(Heartbeat(token).result(), http::status::unauthorized);
    EXPECT_EQ(Leave(token).result(), http::status::unauthorized);
  }
  EXPECT_EQ(asked_.size(), 9u) << "one lookup per request, never a loop";
  EXPECT_EQ(Active(), 1) << "the session was not touched";
  EXPECT_EQ(Metric("vwr_token_key_lookups_total{result=\"not_found\"}"), 3);
  EXPECT_EQ(Metric("vwr_token_key_lookups_total{result=\"busy\"}"), 3);
  EXPECT_EQ(Metric("vwr_token_key_lookups_total{result=\"failed\"}"), 3);
}

TEST_F(ForeignKeyTest, ATokenWithoutAKidOrWithAForgedSignatureIsNotLookedUpTwice) {
  LookUpWith(http::KeyLookupOutcome::kFound);
  // The key is found, but the signature is not that key's: refused after the one lookup.
  const std::string token = ForeignToken();
  std::string forged = token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(VerifyCookie(forged).result(), http::status::unauthorized);
  EXPECT_EQ(asked_.size(), 1u);
  // Garbage names no kid: nothing to look up.
  EXPECT_EQ(VerifyCookie("a.b.c").result(), http::status::unauthorized);
  EXPECT_EQ(asked_.size(), 1u);
}

}  // namespace
}  // namespace vwr::api
