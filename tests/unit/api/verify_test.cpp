// /api/v1/verify, the admission and entry pass cookies, entry passes and the operator's session
// end, through the public and admin APIs over an embedded store on a fake clock.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "admin/admin_api.hpp"
#include "api/public_api.hpp"
#include "store/embedded_store.hpp"
#include "support/api_fixture.hpp"
#include "token/entry_pass.hpp"
#include "token/es256.hpp"
#include "token/identity.hpp"
#include "token/session_id.hpp"
#include "util/base64.hpp"

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Headers;

constexpr const char* kAdminToken = "admin-token-0123456789";

// The payload of a compact JWS, decoded.
boost::json::object Payload(std::string_view jws) {
  const std::size_t first = jws.find('.');
  const std::size_t second = jws.rfind('.');
  return boost::json::parse(*util::Base64UrlDecode(jws.substr(first + 1, second - first - 1)))
      .as_object();
}

// Every Set-Cookie of a response, in order.
std::vector<std::string> SetCookies(const http::Response& res) {
  std::vector<std::string> out;
  for (auto [it, end] = res.equal_range(http::field::set_cookie); it != end; ++it) {
    out.emplace_back(it->value());
  }
  return out;
}

class VerifyTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  VerifyTest() : EmbeddedApiFixture(seconds(300)) {
    MakeRooms({"a", "b", "c"}, OneAtATime());
    api_ = MakeApi({});
    admin_ = std::make_unique<admin::AdminApi>(*rooms_, *store_, kAdminToken, clock_, metrics_);
  }

  std::unique_ptr<PublicApi> MakeApi(PublicApiOptions options) {
    auto api = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_,
                                           std::move(options));
    api->SetRoutes({{"a", {{"shop.example.com", "/sale"}}},
                    {"b", {{"*", "/"}}},
                    {"c", {{"*.example.com", "/sale"}, {"*", "/sale/vip"}}}});
    api->SetEntryPasses({{"a", seconds(300)}});
    return api;
  }

  http::Response Call(http::verb method, std::string target, std::string body = "",
                      const Headers& headers = {}, http::Handler* h = nullptr) {
    return Send(h ? *h : *api_, method, std::move(target), std::move(body), headers);
  }

  http::Response Verify(std::string target, Headers headers = {}, http::Handler* h = nullptr) {
    return Call(http::verb::get, std::move(target), "", std::move(headers), h);
  }

  // The error code of an error answer; for anything else, its status.
  static std::string Code(const http::Response& res) {
    boost::system::error_code ec;
    const boost::json::value body = boost::json::parse(res.body(), ec);
    const boost::json::value* code =
        ec || !body.is_object() ? nullptr : body.as_object().if_contains("error");
    if (code == nullptr || !code->is_object() || !code->as_object().contains("code")) {
      return "(no error: " + std::to_string(res.result_int()) + ")";
    }
    return std::string(code->as_object().at("code").as_string());
  }

  http::Response JoinResponse(std::string room = "a", std::string body = "", Headers headers = {}) {
    return Call(http::verb::post, "/api/v1/rooms/" + room + "/join", body, std::move(headers));
  }
  boost::json::object Join(std::string room = "a", std::string body = "") {
    http::Response res = JoinResponse(std::move(room), std::move(body));
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return Json(res);
  }
  // An admitted join's token.
  std::string Admitted(std::string room = "a", std::string body = "") {
    boost::json::object answer = Join(room, body);
    EXPECT_EQ(answer["status"], "admitted");
    return answer.contains("token") ? std::string(answer["token"].as_string()) : "";
  }
  http::Response Leave(std::string room, const std::string& token) {
    return Call(http::verb::post, "/api/v1/rooms/" + room + "/leave", "",
                {{"Authorization", "Bearer " + token}});
  }

  std::int64_t Now() const {
    return std::chrono::duration_cast<seconds>(clock_.WallNow().time_since_epoch()).count();
  }

  // A token signed with the ring's key, with `change` applied to a genuine room-a claim set.
  template <typename F>
  std::string Forge(F change) {
    token::AdmissionClaims c{.iss = "vwr",
                             .aud = "a",
                             .sub = "anon",
                             .iat = Now(),
                             .nbf = Now(),
                             .exp = Now() + 30,
                             .jti = token::SessionId(store_->Find("a")->incarnation(), 1)};
    change(c);
    return tokens_.Issue(c).value();
  }

  // An entry pass signed with this node's key.
  std::string Pass(const token::EntryPassClaims& claims) {
    return token::EntryPassCodec(ring_).Issue(claims).value();
  }

  double Metric(const std::string& sample) {
    http::Response res = Call(http::verb::get, "/metrics", "", {}, admin_.get());
    const std::string& text = res.body();
    const std::size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }

  std::unique_ptr<PublicApi> api_;
  std::unique_ptr<admin::AdminApi> admin_;
};

// ---- valid tokens ----

TEST_F(VerifyTest, AValidTokenIsAcceptedFromTheBearerHeaderOrTheRoomsCookie) {
  // A signed user: the subject is her pseudonym (a userId hint would give "anon").
  TrustPlatformKey();
  PublicApiOptions options;
  options.user_identity = users_.get();
  api_ = MakeApi(options);
  const std::string token = Admitted("a", R"({"userToken":")" + UserToken("u-1") + R"("})");
  const std::string subject = token::HashIdentity(key_, "u-1");

  http::Response bearer = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(bearer.result(), http::status::no_content) << bearer.body();
  EXPECT_EQ(bearer["X-VWR-Room"], "a");
  EXPECT_EQ(bearer["X-VWR-Subject"], subject);
  EXPECT_EQ(bearer[http::field::cache_control], "no-store");
  EXPECT_TRUE(bearer.body().empty());

  http::Response cookie =
      Verify("/api/v1/verify?room=a", {{"Cookie", "x=1; vwr_a=" + token + "; y=2"}});
  EXPECT_EQ(cookie.result(), http::status::no_content) << cookie.body();
  EXPECT_EQ(cookie["X-VWR-Room"], "a");
  EXPECT_EQ(cookie["X-VWR-Subject"], subject);

  // HEAD too, the same answer.
  EXPECT_EQ(
      Call(http::verb::head, "/api/v1/verify?room=a", "", {{"Authorization", "Bearer " + token}})
          .result(),
      http::status::no_content);
  // The bearer token is the one that counts when both come.
  http::Response both = Verify("/api/v1/verify?room=a",
                               {{"Authorization", "Bearer garbage"}, {"Cookie", "vwr_a=" + token}});
  EXPECT_EQ(both.result(), http::status::unauthorized);
  // Another room's cookie is not this room's.
  EXPECT_EQ(Verify("/api/v1/verify?room=b", {{"Cookie", "vwr_a=" + token}}).result(),
            http::status::unauthorized);
}

TEST_F(VerifyTest, TheRoomComesFromTheOriginalHostAndUri) {
  const std::string a = Admitted("a");
  const std::string b = Admitted("b");
  const std::string c = Admitted("c");
  auto routed = [&](std::string host, std::string uri, const std::string& token) {
    http::Response res =
        Verify("/api/v1/verify", {{"X-Original-Host", host},
                                  {"X-Original-URI", uri},
                                  {"Cookie", "vwr_a=" + a + "; vwr_b=" + b + "; vwr_c=" + c},
                                  {"Authorization", token.empty() ? "" : "Bearer " + token}});
    return std::pair(res.result(), std::string(res["X-VWR-Room"]));
  };
  using P = std::pair<http::status, std::string>;
  const auto ok = http::status::no_content;
  EXPECT_EQ(routed("shop.example.com", "/sale/shoes?x=1", ""), (P{ok, "a"})) << "exact host";
  EXPECT_EQ(routed("SHOP.example.com:8443", "/sale", ""), (P{ok, "a"})) << "case and port";
  EXPECT_EQ(routed("tickets.example.com", "/sale/1", ""), (P{ok, "c"})) << "wildcard host";
  EXPECT_EQ(routed("shop.example.com", "/sale/vip/1", ""), (P{ok, "c"})) << "longest prefix";
  EXPECT_EQ(routed("other.org", "/anything", ""), (P{ok, "b"})) << "any host";
  // The routed room's own token is required: a valid token of another room is not enough.
  EXPECT_EQ(routed("shop.example.com", "/sale", b).first, http::status::unauthorized);
  // Without X-Original-Host, the Host header is taken.
  http::Response host_header = Verify("/api/v1/verify", {{"Host", "shop.example.com"},
                                                         {"X-Original-URI", "/sale"},
                                                         {"Authorization", "Bearer " + a}});
  EXPECT_EQ(host_header.result(), ok);
  EXPECT_EQ(host_header["X-VWR-Room"], "a");
}

TEST_F(VerifyTest, AFailOpenTokenNamesNoSessionAndHoldsUntilItExpires) {
  const std::string token = Forge([](token::AdmissionClaims& c) {
    c.jti = token::SessionId(0, 0);  // replaced below: the room's incarnation, ticket 0
  });
  const std::string open = Forge([&](token::AdmissionClaims& c) {
    c.jti = token::SessionId(store_->Find("a")->incarnation(), 0);
  });
  EXPECT_EQ(Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + open}}).result(),
            http::status::no_content);
  Tick(seconds(30));
  http::Response expired = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + open}});
  EXPECT_EQ(expired.result(), http::status::unauthorized);
  EXPECT_EQ(Code(expired), "token_expired");
  (void)token;
}

// ---- refusals ----

TEST_F(VerifyTest, VisitorsWithoutAValidTokenAreSentToTheWaitingPage) {
  http::Response none = Verify("/api/v1/verify", {{"X-Original-Host", "shop.example.com"},
                                                  {"X-Original-URI", "/sale/x?y=1&z=%2F"},
                                                  {"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(none.result(), http::status::unauthorized);
  EXPECT_EQ(Code(none), "invalid_token");
  EXPECT_EQ(none[http::field::cache_control], "no-store");
  EXPECT_EQ(none["X-VWR-Room"], "a");
  EXPECT_EQ(none["X-VWR-Wait-URL"],
            "/wait/a?return=https%3A%2F%2Fshop.example.com%2Fsale%2Fx%3Fy%3D1%26z%3D%252F");
  // X-Original-Proto first; anything but https is http.
  EXPECT_EQ(Verify("/api/v1/verify", {{"X-Original-Host", "shop.example.com:8080"},
                                      {"X-Original-URI", "/sale"},
                                      {"X-Original-Proto", "http"},
                                      {"X-Forwarded-Proto", "https"}})["X-VWR-Wait-URL"],
            "/wait/a?return=http%3A%2F%2Fshop.example.com%3A8080%2Fsale");
  EXPECT_EQ(Verify("/api/v1/verify", {{"X-Original-Host", "shop.example.com"},
                                      {"X-Original-URI", "/sale"},
                                      {"X-Original-Proto", "gopher"}})["X-VWR-Wait-URL"],
            "/wait/a?return=http%3A%2F%2Fshop.example.com%2Fsale");
  // A room for every host would refuse an absolute return URL: the page is on the visitor's
  // host, so the path alone goes back to the same place.
  EXPECT_EQ(Verify("/api/v1/verify", {{"X-Original-Host", "10.0.0.1:8080"},
                                      {"X-Original-URI", "/cart?id=7"}})["X-VWR-Wait-URL"],
            "/wait/b?return=%2Fcart%3Fid%3D7");
  // Named by ?room= without an original URI: no return.
  EXPECT_EQ(Verify("/api/v1/verify?room=a")["X-VWR-Wait-URL"], "/wait/a");
  // An original URI that is no path, or a host that is no host, gives no return / the path.
  EXPECT_EQ(
      Verify("/api/v1/verify?room=a", {{"X-Original-URI", "http://evil.org/"}})["X-VWR-Wait-URL"],
      "/wait/a");
  EXPECT_EQ(Verify("/api/v1/verify?room=a", {{"X-Original-Host", "evil.org/x@shop.example.com"},
                                             {"X-Original-URI", "/sale"}})["X-VWR-Wait-URL"],
            "/wait/a?return=%2Fsale");
}

TEST_F(VerifyTest, WithAPublicUrlTheWaitUrlIsAbsoluteOnIt) {
  PublicApiOptions options;
  options.public_url = "https://queue.example.com";
  auto api = MakeApi(options);
  http::Response res = Verify("/api/v1/verify",
                              {{"X-Original-Host", "shop.example.com"},
                               {"X-Original-URI", "/sale/x"},
                               {"X-Original-Proto", "https"}},
                              api.get());
  ASSERT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(res["X-VWR-Wait-URL"],
            "https://queue.example.com/wait/a?return=https%3A%2F%2Fshop.example.com%2Fsale%2Fx");
  // On another host, a relative return would lead to the waiting room's own site: the absolute
  // URL is kept, whatever the page then makes of it.
  EXPECT_EQ(Verify("/api/v1/verify", {{"X-Original-Host", "10.0.0.1"}, {"X-Original-URI", "/x"}},
                   api.get())["X-VWR-Wait-URL"],
            "https://queue.example.com/wait/b?return=http%3A%2F%2F10.0.0.1%2Fx");
}

TEST_F(VerifyTest, ExpiredTokensAreRefusedAsExpired) {
  api_->SetTokenLifetimes({{"a", seconds(2)}});
  const std::string token = Admitted("a");
  Tick(seconds(1));
  EXPECT_EQ(Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}}).result(),
            http::status::no_content);
  Tick(seconds(1));
  http::Response res = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Code(res), "token_expired");
  EXPECT_EQ(res["X-VWR-Wait-URL"], "/wait/a");
  const std::string future = Forge([&](token::AdmissionClaims& c) { c.nbf = Now() + 10; });
  EXPECT_EQ(Code(Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + future}})),
            "token_expired");
}

TEST_F(VerifyTest, ForgedTamperedAndMisusedTokensAreInvalid) {
  const std::string token = Admitted("a");
  const std::string other_room = Admitted("b");
  const std::size_t dot = token.find('.');
  const std::string payload = token.substr(dot + 1, token.rfind('.') - dot - 1);
  std::string tampered = token;
  tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
  const std::string none =
      util::Base64UrlEncode(std::string_view(R"({"alg":"none","typ":"JWT"})")) + "." + payload +
      ".";
  const std::string pass = Pass(
      {.iss = "vwr", .aud = "a", .sub = "anon", .sid = "x.1", .iat = Now(), .exp = Now() + 300});
  const std::string other_issuer = Forge([](token::AdmissionClaims& c) { c.iss = "someone"; });
  const std::string bad_jti = Forge([](token::AdmissionClaims& c) { c.jti = "not-a-session"; });
  for (const std::string& bad : {other_room, tampered, none, pass, other_issuer, bad_jti,
                                 std::string("garbage"), std::string(5000, 'x')}) {
    http::Response res = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + bad}});
    EXPECT_EQ(res.result(), http::status::unauthorized) << bad.substr(0, 60);
    EXPECT_EQ(Code(res), "invalid_token") << bad.substr(0, 60);
    EXPECT_EQ(res["X-VWR-Wait-URL"], "/wait/a");
    http::Response as_cookie = Verify("/api/v1/verify?room=a", {{"Cookie", "vwr_a=" + bad}});
    EXPECT_EQ(as_cookie.result(), http::status::unauthorized) << bad.substr(0, 60);
  }
  // None of that harmed the genuine one.
  EXPECT_EQ(Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}}).result(),
            http::status::no_content);
}

TEST_F(VerifyTest, ATokenOfAnEarlierLifetimeOfTheRoomNamesAnEndedSession) {
  const std::string old = Forge([&](token::AdmissionClaims& c) {
    c.jti = token::SessionId(store_->Find("a")->incarnation() + 1, 1);
  });
  http::Response res = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + old}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Code(res), "session_ended");
}

TEST_F(VerifyTest, BadRequestsGetClearErrors) {
  http::Response no_room = Verify("/api/v1/verify");
  EXPECT_EQ(no_room.result(), http::status::bad_request);
  EXPECT_EQ(Code(no_room), "bad_request");
  EXPECT_EQ(Code(Verify("/api/v1/verify?room=")), "bad_request");
  EXPECT_EQ(Code(Verify("/api/v1/verify?room=%zz")), "bad_request");
  http::Response unknown = Verify("/api/v1/verify?room=zz");
  EXPECT_EQ(unknown.result(), http::status::not_found);
  EXPECT_EQ(Code(unknown), "room_not_found");
  EXPECT_EQ(Verify("/api/v1/verify?room=%61")["X-VWR-Room"], "a") << "percent-encoded id";
  // No room's rules cover it (only b's "*" covers "/", and c's "/sale/vip" needs that path).
  auto api = MakeApi({});
  api->SetRoutes({{"a", {{"shop.example.com", "/sale"}}}});
  http::Response unmatched = Verify(
      "/api/v1/verify", {{"X-Original-Host", "other.org"}, {"X-Original-URI", "/sale"}}, api.get());
  EXPECT_EQ(unmatched.result(), http::status::not_found);
  EXPECT_EQ(Code(unmatched), "room_not_found");
  http::Response post = Call(http::verb::post, "/api/v1/verify?room=a");
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD");
}

TEST_F(VerifyTest, VerifyCallsAndOutcomesAreCounted) {
  const std::string token = Admitted("a");
  Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}});
  Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}});
  Verify("/api/v1/verify?room=a");
  Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer nope"}});
  Verify("/api/v1/verify?room=zz");
  Verify("/api/v1/verify");
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="ok"})"), 2);
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="no_token"})"), 1);
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="invalid_token"})"), 1);
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="room_not_found"})"), 1);
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="bad_request"})"), 1);
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="session_ended"})"), 0);
  EXPECT_EQ(Metric(R"(vwr_http_requests_total{endpoint="verify",code="204"})"), 2);
  EXPECT_EQ(Metric(R"(vwr_http_requests_total{endpoint="verify",code="401"})"), 2);
}

// ---- revocation (RoomState::SessionEnded) ----

TEST_F(VerifyTest, ALeftSessionsTokenNoLongerVerifies) {
  const std::string token = Admitted("a");
  ASSERT_EQ(Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}}).result(),
            http::status::no_content);
  ASSERT_EQ(Leave("a", token).result(), http::status::no_content);
  http::Response res = Verify("/api/v1/verify?room=a", {{"Cookie", "vwr_a=" + token}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Code(res), "session_ended");
  EXPECT_EQ(Metric(R"(vwr_verify_results_total{result="session_ended"})"), 1);
}

TEST_F(VerifyTest, AnIdleSessionsTokenNoLongerVerifies) {
  api_->SetTokenLifetimes({{"a", seconds(120)}});  // the session ends before its token
  const std::string token = Admitted("a");
  Tick(seconds(31));
  http::Response res = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Code(res), "session_ended");
}

TEST_F(VerifyTest, AnOperatorEndsASessionByJtiOrTicket) {
  const Headers auth = {{"Authorization", std::string("Bearer ") + kAdminToken}};
  const std::string token = Admitted("a");
  const std::string jti(Payload(token)["jti"].as_string());
  const std::string second = Admitted("b");

  http::Response ended =
      Call(http::verb::delete_, "/admin/api/v1/rooms/a/sessions/" + jti, "", auth, admin_.get());
  EXPECT_EQ(ended.result(), http::status::no_content) << ended.body();
  http::Response after = Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(Code(after), "session_ended");
  EXPECT_EQ(
      Call(http::verb::delete_, "/admin/api/v1/rooms/a/sessions/" + jti, "", auth, admin_.get())
          .result(),
      http::status::not_found)
      << "already ended";

  // By ticket number.
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  ASSERT_TRUE(
      token::ParseSessionId(std::string(Payload(second)["jti"].as_string()), incarnation, ticket));
  EXPECT_EQ(Call(http::verb::delete_, "/admin/api/v1/rooms/b/sessions/" + std::to_string(ticket),
                 "", auth, admin_.get())
                .result(),
            http::status::no_content);
  EXPECT_EQ(Code(Verify("/api/v1/verify?room=b", {{"Authorization", "Bearer " + second}})),
            "session_ended");
}

TEST_F(VerifyTest, EndingASessionThatDoesNotExistIsNotFound) {
  const Headers auth = {{"Authorization", std::string("Bearer ") + kAdminToken}};
  auto end = [&](std::string room, std::string session, Headers headers) {
    return Call(http::verb::delete_, "/admin/api/v1/rooms/" + room + "/sessions/" + session, "",
                headers, admin_.get());
  };
  const std::uint64_t incarnation = store_->Find("a")->incarnation();
  EXPECT_EQ(end("a", "99", auth).result(), http::status::not_found);
  EXPECT_EQ(end("a", token::SessionId(incarnation, 99), auth).result(), http::status::not_found);
  EXPECT_EQ(end("a", token::SessionId(incarnation + 1, 1), auth).result(), http::status::not_found)
      << "another lifetime of the room's state";
  EXPECT_EQ(end("a", "0", auth).result(), http::status::not_found) << "fail_open: no session";
  EXPECT_EQ(end("zz", "1", auth).result(), http::status::not_found);
  EXPECT_EQ(end("a", "x.1", auth).result(), http::status::bad_request);
  EXPECT_EQ(end("a", "99999999999999999999999", auth).result(), http::status::bad_request);
  EXPECT_EQ(end("a", "1", {}).result(), http::status::unauthorized);
  http::Response get =
      Call(http::verb::get, "/admin/api/v1/rooms/a/sessions/1", "", auth, admin_.get());
  EXPECT_EQ(get.result(), http::status::method_not_allowed);
  EXPECT_EQ(get[http::field::allow], "DELETE");
}

// ---- cookies ----

TEST_F(VerifyTest, AdmittedAnswersSetTheAdmissionCookieAndLeaveClearsIt) {
  api_->SetTokenLifetimes({{"b", seconds(90)}});
  http::Response joined = JoinResponse("b");
  const std::string token(Json(joined)["token"].as_string());
  EXPECT_EQ(
      SetCookies(joined),
      (std::vector<std::string>{"vwr_b=" + token + "; Path=/; Max-Age=90; HttpOnly; SameSite=Lax"}))
      << "room b has no entry pass";

  // Waiting answers set nothing; the status answer that admits sets it.
  http::Response waiting = JoinResponse("b");
  EXPECT_TRUE(SetCookies(waiting).empty());
  const std::string ticket(Json(waiting)["ticket"].as_string());
  ASSERT_EQ(Leave("b", token).result(), http::status::no_content);
  Tick(milliseconds(200));
  http::Response admitted =
      Call(http::verb::get, "/api/v1/rooms/b/status", "", {{"X-VWR-Ticket", ticket}});
  ASSERT_EQ(Json(admitted)["status"], "admitted");
  const std::string second(Json(admitted)["token"].as_string());
  EXPECT_EQ(SetCookies(admitted),
            (std::vector<std::string>{"vwr_b=" + second +
                                      "; Path=/; Max-Age=90; HttpOnly; SameSite=Lax"}));

  http::Response left = Leave("b", second);
  EXPECT_EQ(left.result(), http::status::no_content);
  EXPECT_EQ(SetCookies(left),
            (std::vector<std::string>{"vwr_b=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"}));
}

TEST_F(VerifyTest, CookiesAreSecureAndOnTheDomainWhenConfigured) {
  PublicApiOptions options;
  options.cookies = {.secure = true, .domain = "example.com"};
  api_ = MakeApi(options);
  http::Response joined = JoinResponse("a");
  const std::vector<std::string> cookies = SetCookies(joined);
  ASSERT_EQ(cookies.size(), 2u);
  for (const std::string& c : cookies) {
    EXPECT_TRUE(c.ends_with("; HttpOnly; SameSite=Lax; Secure; Domain=example.com")) << c;
  }
  EXPECT_TRUE(cookies[0].starts_with("vwr_a=")) << cookies[0];
  EXPECT_TRUE(cookies[1].starts_with("vwr_pass_a=")) << cookies[1];
}

// ---- entry passes ----

TEST_F(VerifyTest, AnAdmissionInARoomWithAnEntryPassHandsOutAPassThatIsNeverRenewed) {
  const std::int64_t admitted_at = Now();
  http::Response joined = JoinResponse("a", R"({"userId":"u-1"})");
  const boost::json::object answer = Json(joined);
  ASSERT_EQ(answer.at("status"), "admitted");
  const std::string pass(answer.at("entryPass").as_string());
  EXPECT_EQ(answer.at("entryPassExpires").as_int64(), admitted_at + 300);
  const std::vector<std::string> cookies = SetCookies(joined);
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[1], "vwr_pass_a=" + pass + "; Path=/; Max-Age=300; HttpOnly; SameSite=Lax");
  const boost::json::object claims = Payload(pass);
  EXPECT_EQ(claims.at("aud"), "a");
  EXPECT_EQ(claims.at("sub"), "anon") << "a userId hint names nobody";
  EXPECT_EQ(claims.at("sid"), Payload(answer.at("token").as_string()).at("jti"))
      << "the session the pass was earned with";
  EXPECT_EQ(claims.at("sub"), Payload(answer.at("token").as_string()).at("sub"))
      << "the same subject as the token";
  EXPECT_EQ(claims.at("exp").as_int64(), admitted_at + 300);

  // A status poll 20 s later (within the session timeout): the same pass time, from the first
  // admission.
  Tick(seconds(20));
  http::Response polled = Call(http::verb::get, "/api/v1/rooms/a/status", "",
                               {{"X-VWR-Ticket", std::string(answer.at("ticket").as_string())}});
  const boost::json::object again = Json(polled);
  ASSERT_EQ(again.at("status"), "admitted");
  EXPECT_EQ(again.at("entryPassExpires").as_int64(), admitted_at + 300);
  EXPECT_EQ(Payload(again.at("entryPass").as_string()).at("exp").as_int64(), admitted_at + 300);
  EXPECT_TRUE(SetCookies(polled).at(1).find("; Max-Age=280;") != std::string::npos)
      << SetCookies(polled).at(1);

  // Rooms without an entry pass hand out none.
  const boost::json::object other = Join("b");
  EXPECT_FALSE(other.contains("entryPass"));
}

TEST_F(VerifyTest, AJoinWithAValidPassIsAdmittedAtOnceWhileOthersWait) {
  const boost::json::object first = Join("a", R"({"userId":"u-1"})");
  const std::string pass(first.at("entryPass").as_string());
  ASSERT_EQ(Leave("a", std::string(first.at("token").as_string())).result(),
            http::status::no_content);
  // The slot goes to someone else, and a line forms behind them.
  Tick(milliseconds(200));
  ASSERT_EQ(Join("a")["status"], "admitted");
  const boost::json::object waiting = Join("a");
  ASSERT_EQ(waiting.at("status"), "waiting");

  // Back with the pass (as the cookie): in at once.
  http::Response back =
      JoinResponse("a", R"({"userId":"u-1"})", {{"Cookie", "vwr_pass_a=" + pass}});
  ASSERT_EQ(back.result(), http::status::ok) << back.body();
  const boost::json::object in = Json(back);
  EXPECT_EQ(in.at("status"), "admitted") << back.body();
  const std::string token(in.at("token").as_string());
  EXPECT_EQ(Verify("/api/v1/verify?room=a", {{"Authorization", "Bearer " + token}}).result(),
            http::status::no_content);
  // The pass is handed back as it was: not renewed by the re-entry.
  EXPECT_EQ(in.at("entryPass"), boost::json::value(pass));
  // The newcomer still waits.
  const boost::json::object newcomer = Join("a");
  EXPECT_EQ(newcomer.at("status"), "waiting");
  EXPECT_EQ(Metric(R"(vwr_room_entry_pass_joins_total{room="a"})"), 1);

  // In the body works too (the SDK's way); no userId given is fine.
  http::Response body = JoinResponse("a", R"({"entryPass":")" + pass + R"("})");
  EXPECT_EQ(Json(body).at("status"), "admitted") << body.body();
  // A stale copy in the body does not hide a good cookie.
  http::Response stale =
      JoinResponse("a", R"({"entryPass":"stale"})", {{"Cookie", "vwr_pass_a=" + pass}});
  EXPECT_EQ(Json(stale).at("status"), "admitted") << stale.body();
}

TEST_F(VerifyTest, AReplayedPassNeverAddsASession) {
  // The attack: one pass sent with any number of joins admitted a new session each time.
  const boost::json::object first = Join("a");
  const std::string pass(first.at("entryPass").as_string());
  const std::string jti(Payload(first.at("token").as_string()).at("jti").as_string());
  auto replay = [&] {
    http::Response res = JoinResponse("a", R"({"entryPass":")" + pass + R"("})");
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return Json(res);
  };
  // While its session lives, the pass re-enters that very session.
  for (int i = 0; i < 50; ++i) {
    const boost::json::object in = replay();
    ASSERT_EQ(in.at("status"), "admitted");
    EXPECT_EQ(Payload(in.at("token").as_string()).at("jti"), boost::json::value(jti)) << i;
  }
  EXPECT_EQ(store_->Find("a")->Figures().active, 1);
  EXPECT_EQ(Join("a").at("status"), "waiting") << "max_active 1 holds";

  // Once that session has ended, the pass admits one session at a time, however replayed.
  ASSERT_EQ(Leave("a", std::string(first.at("token").as_string())).result(),
            http::status::no_content);
  std::string second_jti;
  for (int i = 0; i < 50; ++i) {
    const boost::json::object in = replay();
    ASSERT_EQ(in.at("status"), "admitted");
    const std::string now_jti(Payload(in.at("token").as_string()).at("jti").as_string());
    if (i == 0) second_jti = now_jti;
    EXPECT_EQ(now_jti, second_jti) << i;
  }
  EXPECT_NE(second_jti, jti);
  EXPECT_EQ(store_->Find("a")->Figures().active, 1);
  EXPECT_EQ(store_->Find("a")->Figures().counters.bypass, 1u);
}

TEST_F(VerifyTest, ASignedUsersPassServesNoOtherUser) {
  TrustPlatformKey();
  PublicApiOptions options;
  options.user_identity = users_.get();
  api_ = MakeApi(options);
  auto join_as = [&](const std::string& user, const std::string& pass) {
    http::Response res = JoinResponse("a", R"({"entryPass":")" + pass + R"("})",
                                      {{"X-VWR-User-Token", UserToken(user)}});
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return Json(res);
  };
  const boost::json::object alice = join_as("alice", "");
  const std::string pass(alice.at("entryPass").as_string());
  EXPECT_EQ(Payload(pass).at("sub"), boost::json::value(token::HashIdentity(key_, "alice")));
  EXPECT_EQ(join_as("mallory", pass).at("status"), "waiting") << "her pass is not his";
  EXPECT_EQ(join_as("alice", pass).at("status"), "admitted");
}

TEST_F(VerifyTest, APassThatDoesNotHoldMakesAPlainJoin) {
  const boost::json::object first = Join("a", R"({"userId":"u-1"})");
  const std::string pass(first.at("entryPass").as_string());
  const boost::json::object waiting = Join("a");  // the room is full: joins wait
  ASSERT_EQ(waiting.at("status"), "waiting");
  auto join_with = [&](std::string body, Headers headers = {}) {
    http::Response res = JoinResponse("a", std::move(body), std::move(headers));
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return std::string(Json(res).at("status").as_string());
  };
  // Another room's pass, an admission token, garbage.
  const std::string b_pass = Pass(
      {.iss = "vwr", .aud = "b", .sub = "anon", .sid = "x.1", .iat = Now(), .exp = Now() + 300});
  EXPECT_EQ(join_with(R"({"entryPass":")" + b_pass + R"("})"), "waiting");
  EXPECT_EQ(join_with("", {{"Cookie", "vwr_pass_a=" + std::string(first.at("token").as_string())}}),
            "waiting");
  EXPECT_EQ(join_with(R"({"entryPass":"garbage"})"), "waiting");
  // Expired (its exp is checked against the clock: see EntryPassTest for the boundaries).
  const std::string expired = Pass(
      {.iss = "vwr", .aud = "a", .sub = "anon", .sid = "x.1", .iat = Now() - 300, .exp = Now()});
  EXPECT_EQ(join_with(R"({"userId":"u-3"})", {{"Cookie", "vwr_pass_a=" + expired}}), "waiting");
  EXPECT_EQ(Metric(R"(vwr_room_entry_pass_joins_total{room="a"})"), 0);
  // A room without entry passes takes none, even its own kind.
  const std::string own_b = Pass(
      {.iss = "vwr", .aud = "b", .sub = "anon", .sid = "x.1", .iat = Now(), .exp = Now() + 300});
  Join("b");
  EXPECT_EQ(Json(JoinResponse("b", R"({"entryPass":")" + own_b + R"("})")).at("status"), "waiting");
}

TEST_F(VerifyTest, BadEntryPassFieldsAreRefused) {
  for (const std::string& body : {std::string(R"({"entryPass":5})"),
                                  R"({"entryPass":")" + std::string(5000, 'x') + R"("})"}) {
    http::Response res = JoinResponse("a", body);
    EXPECT_EQ(res.result(), http::status::bad_request) << body.substr(0, 40);
    EXPECT_EQ(Code(res), "bad_request");
  }
}

}  // namespace
}  // namespace vwr::api
