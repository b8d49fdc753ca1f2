#include "api/public_api.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <sstream>

#include "admin/admin_api.hpp"
#include "store/embedded_store.hpp"
#include "support/api_fixture.hpp"
#include "token/es256.hpp"
#include "util/base64.hpp"

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The public and admin APIs over an embedded store on a fake clock.
class ApiTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  ApiTest() {
    MakeRooms({"a", "b"}, OneAtATime());
    api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_);
    admin_ = std::make_unique<admin::AdminApi>(*rooms_, *store_, "admin-token-0123456789", clock_,
                                               metrics_);
  }

  http::Response Call(http::verb method, std::string target, std::string body = "",
                      const testing::Headers& headers = {}, http::Handler* h = nullptr) {
    return Send(h ? *h : *api_, method, std::move(target), std::move(body), headers);
  }

  boost::json::object Join(std::string room = "a", std::string body = "") {
    http::Response res = Call(http::verb::post, "/api/v1/rooms/" + room + "/join", body);
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return Json(res);
  }

  boost::json::object Status(std::string_view ticket, std::string room = "a") {
    http::Response res = Call(http::verb::get, "/api/v1/rooms/" + room + "/status", "",
                              {{"X-VWR-Ticket", std::string(ticket)}});
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return Json(res);
  }

  std::unique_ptr<PublicApi> api_;
  std::unique_ptr<admin::AdminApi> admin_;
};

TEST_F(ApiTest, JoinWaitAdmitLeaveCycle) {
  auto first = Join();
  EXPECT_EQ(first["status"], "admitted");
  EXPECT_TRUE(first["token"].is_string());
  EXPECT_EQ(first["sessionTimeoutSeconds"], 30);
  auto second = Join();
  EXPECT_EQ(second["status"], "waiting");
  EXPECT_EQ(second["position"], 1);
  EXPECT_EQ(second["initialPosition"], 1);
  EXPECT_EQ(second["queueSize"], 1);
  EXPECT_EQ(second["etaSeconds"], 1);
  EXPECT_FALSE(second.contains("token"));
  const std::string ticket(second["ticket"].as_string());

  Tick(seconds(2));
  EXPECT_EQ(Status(ticket)["status"], "waiting") << "the only slot is taken";

  const std::string token(first["token"].as_string());
  http::Response left =
      Call(http::verb::post, "/api/v1/rooms/a/leave", "", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(left.result(), http::status::no_content);
  Tick(milliseconds(100));
  auto admitted = Status(ticket);
  EXPECT_EQ(admitted["status"], "admitted");
  EXPECT_EQ(admitted["position"], 0);
  EXPECT_EQ(admitted["initialPosition"], 1);

  // The same ticket polled again: the same session (ECDSA signatures differ each time, so the
  // token text may differ; what it says may not).
  const std::string second_token(admitted["token"].as_string());
  const std::string again(Status(ticket)["token"].as_string());
  EXPECT_EQ(tokens_.Verify(again).value(), tokens_.Verify(second_token).value());
  EXPECT_EQ(Call(http::verb::post, "/api/v1/rooms/a/heartbeat", "",
                 {{"Authorization", "Bearer " + second_token}})
                .result(),
            http::status::no_content);
}

TEST_F(ApiTest, NoShowExpiresAfterClaimGrace) {
  auto first = Join();
  auto second = Join();
  const std::string ticket(second["ticket"].as_string());
  Call(http::verb::post, "/api/v1/rooms/a/leave", "",
       {{"Authorization", "Bearer " + std::string(first["token"].as_string())}});
  Tick(seconds(6));
  EXPECT_EQ(Status(ticket)["status"], "expired");
}

TEST_F(ApiTest, IdleSessionEndsAndHeartbeatSays404) {
  api_->SetTokenLifetimes({{"a", seconds(60)}});  // the session ends before its token
  auto first = Join();
  const std::string token(first["token"].as_string());
  Tick(seconds(31));
  http::Response res = Call(http::verb::post, "/api/v1/rooms/a/heartbeat", "",
                            {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(Json(res)["error"].as_object()["code"], "session_not_found");
}

TEST_F(ApiTest, TicketOfAnotherRoomIsInvalid) {
  Join("b");
  auto waiting = Join("b");
  http::Response res = Call(http::verb::get, "/api/v1/rooms/a/status", "",
                            {{"X-VWR-Ticket", std::string(waiting["ticket"].as_string())}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Json(res)["error"].as_object()["code"], "invalid_ticket");
}

TEST_F(ApiTest, TokenOfAnotherRoomIsInvalid) {
  auto admitted = Join("b");
  http::Response res =
      Call(http::verb::post, "/api/v1/rooms/a/heartbeat", "",
           {{"Authorization", "Bearer " + std::string(admitted["token"].as_string())}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Json(res)["error"].as_object()["code"], "invalid_token");
}

TEST_F(ApiTest, AUserIdAloneRecoversNoPlace) {
  // Someone else's userId is a claim anyone can make: it gets a place of its own, never the
  // victim's place (which a borrowed id used to hand over).
  Join();
  auto victim = Join("a", R"({"userId":"u-1","pageUrl":"/buy"})");
  ASSERT_EQ(victim["status"], "waiting");
  auto borrowed = Join("a", R"({"userId":"u-1"})");
  EXPECT_EQ(borrowed["status"], "waiting");
  EXPECT_NE(borrowed["ticket"], victim["ticket"]);
  EXPECT_EQ(borrowed["position"], 2) << "behind the victim";
  EXPECT_EQ(borrowed["queueSize"], 2);
}

TEST_F(ApiTest, AnAdmittedSessionIsNeverHandedToAnotherJoinWithItsUserId) {
  auto victim = Join("a", R"({"userId":"u-1"})");
  ASSERT_EQ(victim["status"], "admitted");
  auto borrowed = Join("a", R"({"userId":"u-1"})");
  EXPECT_EQ(borrowed["status"], "waiting") << "the only slot is the victim's";
  EXPECT_FALSE(borrowed.contains("token"));
  const auto claims = tokens_.Verify(victim["token"].as_string()).value();
  EXPECT_EQ(claims.sub, "anon") << "a hint names nobody in a token";
}

TEST_F(ApiTest, AJoinWithItsTicketGetsItsPlaceBack) {
  Join();
  auto first = Join();
  Join();
  const std::string ticket(first["ticket"].as_string());
  // A reload: the waiting page joins again with the ticket it kept.
  http::Response again =
      Call(http::verb::post, "/api/v1/rooms/a/join", "", {{"X-VWR-Ticket", ticket}});
  ASSERT_EQ(again.result(), http::status::ok) << again.body();
  EXPECT_EQ(Json(again)["ticket"], first["ticket"]);
  EXPECT_EQ(Json(again)["position"], 1);
  EXPECT_EQ(Json(again)["queueSize"], 2) << "nobody was added";
  // A ticket of another room, or a forged one, buys nothing: a fresh place.
  Join("b");
  auto other_room = Join("b");
  http::Response foreign = Call(http::verb::post, "/api/v1/rooms/a/join", "",
                                {{"X-VWR-Ticket", std::string(other_room["ticket"].as_string())}});
  EXPECT_EQ(Json(foreign)["position"], 3);
  http::Response forged = Call(http::verb::post, "/api/v1/rooms/a/join", "",
                               {{"X-VWR-Ticket", ticket.substr(0, ticket.size() - 2) + "AA"}});
  EXPECT_EQ(Json(forged)["position"], 4);
}

TEST_F(ApiTest, ASpentTicketJoinsAfresh) {
  auto holder = Join();
  auto late = Join();
  const std::string ticket(late["ticket"].as_string());
  Call(http::verb::post, "/api/v1/rooms/a/leave", "",
       {{"Authorization", "Bearer " + std::string(holder["token"].as_string())}});
  Tick(seconds(6));  // called, and claim_grace (5 s) passed unclaimed
  http::Response again =
      Call(http::verb::post, "/api/v1/rooms/a/join", "", {{"X-VWR-Ticket", ticket}});
  ASSERT_EQ(again.result(), http::status::ok);
  EXPECT_NE(Json(again)["ticket"], late["ticket"]);
  EXPECT_EQ(Json(again)["status"], "admitted") << "the room is empty now";
}

// identity.mode signed: the platform's user token names the user.
class SignedApiTest : public ApiTest {
 protected:
  SignedApiTest() {
    TrustPlatformKey();
    PublicApiOptions options;
    options.user_identity = users_.get();
    api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_, options);
  }

  http::Response JoinAs(const std::string& user_token, std::string room = "a") {
    return Call(http::verb::post, "/api/v1/rooms/" + room + "/join", "",
                {{"X-VWR-User-Token", user_token}});
  }
};

TEST_F(SignedApiTest, AVerifiedUserGetsItsOwnPlaceBackAndNoOneElseDoes) {
  Join("a", R"({"userToken":")" + UserToken("holder") + R"("})");
  http::Response alice = JoinAs(UserToken("alice"));
  ASSERT_EQ(alice.result(), http::status::ok) << alice.body();
  ASSERT_EQ(Json(alice)["status"], "waiting");
  http::Response again = JoinAs(UserToken("alice", seconds(600)));  // a fresh token of hers
  EXPECT_EQ(Json(again)["ticket"], Json(alice)["ticket"]) << "the verified user alone is enough";
  http::Response bob = JoinAs(UserToken("bob"));
  EXPECT_NE(Json(bob)["ticket"], Json(alice)["ticket"]);
  EXPECT_EQ(Json(bob)["queueSize"], 2);
  // Her userId as a hint, without her token, is nobody.
  http::Response hint = Call(http::verb::post, "/api/v1/rooms/a/join", R"({"userId":"alice"})");
  EXPECT_EQ(hint.result(), http::status::unauthorized);
  EXPECT_EQ(Json(hint)["error"].as_object()["code"], "user_token_required");
}

TEST_F(SignedApiTest, TheTokensSubjectIsTheUsersPseudonym) {
  http::Response in = JoinAs(UserToken("alice"));
  ASSERT_EQ(Json(in)["status"], "admitted");
  const auto claims = tokens_.Verify(Json(in)["token"].as_string()).value();
  EXPECT_EQ(claims.sub, token::HashIdentity(key_, "alice"));
  // The same session again, by her identity.
  http::Response again = JoinAs(UserToken("alice"));
  EXPECT_EQ(Json(again)["ticket"], Json(in)["ticket"]);
  EXPECT_EQ(tokens_.Verify(Json(again)["token"].as_string()).value().jti, claims.jti);
}

TEST_F(SignedApiTest, ForgedExpiredOrForeignUserTokensAreRefused) {
  const auto code = [](const http::Response& r) {
    return std::string(
        boost::json::parse(r.body()).as_object()["error"].as_object()["code"].as_string());
  };
  const ::vwr::testing::JwsTestKey stranger(::vwr::testing::JwsTestKey::Kind::kRsa);
  const std::string forged = stranger.Sign(
      boost::json::object{{"alg", "RS256"}, {"kid", "platform-1"}},
      boost::json::object{{"sub", "alice"}, {"aud", "vwr"}, {"exp", 4000000000}}, "RS256");
  for (const std::string& bad :
       {forged, UserToken("alice", seconds(-60)),
        UserToken("alice", seconds(600), "another-service"), std::string("not.a.token")}) {
    http::Response r = JoinAs(bad);
    EXPECT_EQ(r.result(), http::status::unauthorized) << r.body();
    EXPECT_EQ(code(r), "invalid_user_token") << r.body();
  }
  http::Response expired = JoinAs(UserToken("alice", seconds(-60)));
  EXPECT_NE(expired.body().find("expired"), std::string::npos) << expired.body();
  http::Response none = Call(http::verb::post, "/api/v1/rooms/a/join", "");
  EXPECT_EQ(code(none), "user_token_required");
  EXPECT_EQ(store_->Find("a")->Figures().last_issued, 0u) << "nothing was issued";
}

TEST_F(ApiTest, BadJoinBodiesAreRejected) {
  for (const char* body : {"{", "[]", R"({"userId":5})", R"({"pageUrl":[]})"}) {
    http::Response res = Call(http::verb::post, "/api/v1/rooms/a/join", body);
    EXPECT_EQ(res.result(), http::status::bad_request) << body;
    EXPECT_EQ(Json(res)["error"].as_object()["code"], "bad_request");
  }
  http::Response long_id = Call(http::verb::post, "/api/v1/rooms/a/join",
                                R"({"userId":")" + std::string(257, 'x') + R"("})");
  EXPECT_EQ(long_id.result(), http::status::bad_request);
  EXPECT_EQ(store_->Find("a")->Figures().last_issued, 0u) << "nothing was issued";
}

TEST_F(ApiTest, RoutingErrors) {
  EXPECT_EQ(Call(http::verb::post, "/api/v1/rooms/zz/join").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/nope").result(), http::status::not_found);
  http::Response wrong = Call(http::verb::get, "/api/v1/rooms/a/join");
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_EQ(wrong[http::field::allow], "POST");
  EXPECT_EQ(Call(http::verb::get, "/api/v1/rooms/a/status").result(), http::status::bad_request);
}

TEST_F(ApiTest, PausedRoomHasNoEta) {
  Join();
  http::Response put = Call(http::verb::put, "/admin/api/v1/rooms/a/policy", R"({"mode":"pause"})",
                            {{"Authorization", "Bearer admin-token-0123456789"}}, admin_.get());
  ASSERT_EQ(put.result(), http::status::ok) << put.body();
  auto waiting = Join();
  EXPECT_EQ(waiting["status"], "waiting");
  EXPECT_TRUE(waiting["etaSeconds"].is_null());
}

TEST_F(ApiTest, PolicyChangesAreValidatedAsAWhole) {
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer admin-token-0123456789"}};
  for (const char* body : {R"({"max_active":0})", R"({"mode":"nope"})", R"({"colour":1})",
                           R"({"admit_rate":"x"})", R"({"max_active":1.5})", "nope"}) {
    http::Response res =
        Call(http::verb::put, "/admin/api/v1/rooms/a/policy", body, auth, admin_.get());
    EXPECT_EQ(res.result(), http::status::bad_request) << body;
  }
  EXPECT_EQ(store_->Find("a")->policy().max_active, 1) << "unchanged";
  EXPECT_EQ(
      Call(http::verb::put, "/admin/api/v1/rooms/a/policy", R"({"max_active":2})", {}, admin_.get())
          .result(),
      http::status::unauthorized);
  http::Response ok =
      Call(http::verb::put, "/admin/api/v1/rooms/a/policy",
           R"({"max_active":2,"admit_rate":2.5,"burst":3,"queue_limit":9})", auth, admin_.get());
  ASSERT_EQ(ok.result(), http::status::ok) << ok.body();
  const core::Policy& p = store_->Find("a")->policy();
  EXPECT_EQ(p.max_active, 2);
  EXPECT_DOUBLE_EQ(p.admit_rate, 2.5);
  EXPECT_EQ(p.burst, 3);
  EXPECT_EQ(p.queue_limit, 9);
}

// The payload of a token, decoded.
boost::json::object Payload(std::string_view token) {
  const std::size_t first = token.find('.');
  const std::size_t second = token.rfind('.');
  return boost::json::parse(
             util::Base64UrlDecode(token.substr(first + 1, second - first - 1)).value())
      .as_object();
}

TEST_F(ApiTest, TokensLiveTheSessionTimeoutUnlessTheRoomSaysOtherwise) {
  auto first = Join("a");
  boost::json::object claims = Payload(first["token"].as_string());
  EXPECT_EQ(claims["exp"].as_int64() - claims["iat"].as_int64(), 30);
  EXPECT_EQ(claims["iss"], "vwr");
  EXPECT_EQ(claims["aud"], "a");

  api_->SetTokenLifetimes({{"b", seconds(5)}});
  auto other = Join("b");
  claims = Payload(other["token"].as_string());
  EXPECT_EQ(claims["exp"].as_int64() - claims["iat"].as_int64(), 5);
  EXPECT_EQ(claims["iat"].as_int64(),
            std::chrono::duration_cast<seconds>(clock_.WallNow().time_since_epoch()).count());
}

TEST_F(ApiTest, AnExpiredTokenKeepsNoSessionButStillLeaves) {
  api_->SetTokenLifetimes({{"a", seconds(2)}});
  auto first = Join();
  const std::string token(first["token"].as_string());
  const std::string ticket(first["ticket"].as_string());
  auto heartbeat = [&](const std::string& t) {
    return Call(http::verb::post, "/api/v1/rooms/a/heartbeat", "",
                {{"Authorization", "Bearer " + t}});
  };
  Tick(seconds(1));
  EXPECT_EQ(heartbeat(token).result(), http::status::no_content);
  Tick(seconds(1));  // iat + 2 s: expired
  http::Response expired = heartbeat(token);
  EXPECT_EQ(expired.result(), http::status::unauthorized);
  EXPECT_EQ(Json(expired)["error"].as_object()["code"], "invalid_token");
  EXPECT_NE(std::string(Json(expired)["error"].as_object()["message"].as_string()).find("expired"),
            std::string::npos);

  // The session lives on (status polls are activity too), and its ticket gives a fresh token.
  auto again = Status(ticket);
  ASSERT_EQ(again["status"], "admitted");
  const std::string fresh(again["token"].as_string());
  const boost::json::object claims = Payload(fresh);
  EXPECT_EQ(claims.at("iat").as_int64(),
            std::chrono::duration_cast<seconds>(clock_.WallNow().time_since_epoch()).count());
  EXPECT_EQ(claims.at("jti"), Payload(token).at("jti")) << "the same session";
  EXPECT_EQ(heartbeat(fresh).result(), http::status::no_content);

  // Leaving with the expired one still ends the session.
  EXPECT_EQ(
      Call(http::verb::post, "/api/v1/rooms/a/leave", "", {{"Authorization", "Bearer " + token}})
          .result(),
      http::status::no_content);
  EXPECT_EQ(heartbeat(fresh).result(), http::status::not_found);
}

TEST_F(ApiTest, ServesTheJwksWithCachingHeaders) {
  http::Response res = Call(http::verb::get, "/.well-known/jwks.json");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::cache_control], "public, max-age=60");
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res.body(), ring_.Current().jwks);
  const std::string etag(res[http::field::etag]);
  EXPECT_EQ(etag, ring_.Current().jwks_etag);
  // Its one key verifies the tokens the API issues.
  auto jwk = token::ParseJwk(boost::json::serialize(Json(res)["keys"].as_array().at(0)));
  ASSERT_TRUE(jwk.has_value()) << jwk.error();
  const std::string token(Join()["token"].as_string());
  const std::string_view signing_input = std::string_view(token).substr(0, token.rfind('.'));
  const std::string signature = util::Base64UrlDecode(token.substr(token.rfind('.') + 1)).value();
  EXPECT_TRUE(jwk->key.Verify(
      signing_input,
      std::span(reinterpret_cast<const std::uint8_t*>(signature.data()), signature.size())));

  http::Response again =
      Call(http::verb::get, "/.well-known/jwks.json", "", {{"If-None-Match", etag}});
  EXPECT_EQ(again.result(), http::status::not_modified);
  EXPECT_TRUE(again.body().empty());
  http::Response post = Call(http::verb::post, "/.well-known/jwks.json");
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET");
}

TEST_F(ApiTest, ForgedTokensAreRefused) {
  const std::string token(Join()["token"].as_string());
  const std::string header = token.substr(0, token.find('.'));
  const std::string payload =
      token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  const std::string none =
      util::Base64UrlEncode(std::string_view(R"({"alg":"none","typ":"JWT"})")) + "." + payload +
      ".";
  std::string tampered = token;
  tampered[header.size() + 5] = tampered[header.size() + 5] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {none, tampered, token.substr(0, token.rfind('.') + 1)}) {
    http::Response res = Call(http::verb::post, "/api/v1/rooms/a/heartbeat", "",
                              {{"Authorization", "Bearer " + bad}});
    EXPECT_EQ(res.result(), http::status::unauthorized) << bad;
    EXPECT_EQ(Json(res)["error"].as_object()["code"], "invalid_token");
  }
  EXPECT_EQ(Call(http::verb::post, "/api/v1/rooms/a/heartbeat", "",
                 {{"Authorization", "Bearer " + token}})
                .result(),
            http::status::no_content);
}

TEST_F(ApiTest, AdminListsAndRotatesKeys) {
  int rotations = 0;
  const std::string old_kid = tokens_.key_id();
  const token::EcPublicKey old_key = *ring_.Current().Find(old_kid);
  // What the app does on the control thread, in short: a new active key, the old one retired.
  admin::AdminKeys keys{.ring = &ring_, .rotate = [&](admin::AdminKeys::RotateDone done) {
                          ++rotations;
                          token::KeySet set =
                              token::SingleKeySet(token::EcPrivateKey::Generate(), 0);
                          set.keys.push_back(token::KeyRecord{old_kid, old_key, 0, 1'800'000'000});
                          ring_.SetOwnKeys(set);
                          token::KeyEvents events;
                          events.created = set.keys[0].kid;
                          events.retired = old_kid;
                          done(events);
                        }};
  admin::AdminApi admin(*rooms_, *store_, "admin-token-0123456789", clock_, metrics_, nullptr,
                        keys);
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer admin-token-0123456789"}};

  http::Response list = Call(http::verb::get, "/admin/api/v1/keys", "", auth, &admin);
  ASSERT_EQ(list.result(), http::status::ok) << list.body();
  boost::json::object listed = Json(list);
  ASSERT_EQ(listed["keys"].as_array().size(), 1u);
  EXPECT_EQ(listed["keys"].as_array()[0].as_object()["kid"], boost::json::value(old_kid));
  EXPECT_EQ(listed["keys"].as_array()[0].as_object()["state"], "active");
  EXPECT_TRUE(listed["jwks"].as_object()["keys"].is_array());

  EXPECT_EQ(Call(http::verb::post, "/admin/api/v1/keys/rotate", "", {}, &admin).result(),
            http::status::unauthorized);
  EXPECT_EQ(Call(http::verb::get, "/admin/api/v1/keys/rotate", "", auth, &admin).result(),
            http::status::method_not_allowed);
  EXPECT_EQ(rotations, 0);
  http::Response rotated = Call(http::verb::post, "/admin/api/v1/keys/rotate", "", auth, &admin);
  ASSERT_EQ(rotated.result(), http::status::ok) << rotated.body();
  EXPECT_EQ(rotations, 1);
  boost::json::object body = Json(rotated);
  EXPECT_EQ(body["kid"], boost::json::value(tokens_.key_id()));
  EXPECT_EQ(body["retired"], boost::json::value(old_kid));
  EXPECT_EQ(body["jwks"].as_object()["keys"].as_array().size(), 2u);

  // Without keys configured, the routes do not exist.
  EXPECT_EQ(Call(http::verb::get, "/admin/api/v1/keys", "", auth, admin_.get()).result(),
            http::status::not_found);
}

TEST_F(ApiTest, AnAdmissionThatCannotBeSignedIsAnsweredWithAnErrorAndALogLine) {
  // A node whose key ring has no signing key yet: the first join is admitted at once, and its
  // token cannot be signed. An answer and a log line, not an exception (which the server would
  // answer 500 without a word of why).
  std::ostringstream logged;
  const auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
  sink->set_pattern("%v");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  token::KeyRing empty(clock_, seconds(30));
  token::AdmissionTokenSigner unsigned_tokens(empty, clock_);
  PublicApi api(*rooms_, tickets_, unsigned_tokens, key_, clock_, metrics_);

  http::Response first = Call(http::verb::post, "/api/v1/rooms/a/join", "", {}, &api);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(first.result(), http::status::service_unavailable) << first.body();
  EXPECT_EQ(Json(first)["error"].as_object()["code"], "unavailable");
  EXPECT_EQ(first[http::field::retry_after], "1");
  EXPECT_NE(logged.str().find("room a: the admission token of an admitted answer could not be "
                              "signed (no_signing_key); answering 503"),
            std::string::npos)
      << logged.str();
  // A waiting answer needs no signature.
  http::Response second = Call(http::verb::post, "/api/v1/rooms/a/join", "", {}, &api);
  EXPECT_EQ(second.result(), http::status::ok);
  EXPECT_EQ(Json(second)["status"], "waiting");
  std::string text;
  metrics_.Render(text);
  EXPECT_NE(text.find(R"(vwr_http_requests_total{endpoint="join",code="503"} 1)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace vwr::api
