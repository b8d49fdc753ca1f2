#include "pages/web_handler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "api/public_api.hpp"
#include "pages/embedded.hpp"
#include "store/embedded_store.hpp"

namespace vwr::pages {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The web pages over an embedded store on a fake clock, driven without a network.
class WebTest : public ::testing::Test {
 protected:
  WebTest() {
    ring_.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
    core::Policy p;
    p.max_active = 100;
    store_ = std::make_unique<store::EmbeddedStore>(
        std::vector<store::RoomSpec>{{"sale", p}, {"other", p}}, clock_);
    rooms_ = std::make_unique<http::RoomDirectory>(*store_);
    config::RoomConfig sale;
    sale.id = "sale";
    sale.name = "Summer <sale> & \"more\"";
    sale.match = {{"shop.example.com", "/"}, {"*.example.org", "/"}};
    sale.page.message = "<b>Back at 2pm</b>";
    config::RoomConfig other;
    other.id = "other";
    other.name = "other";
    other.match = {{"*", "/"}};
    other.page.template_html = "<p>{{room_name}}|{{message}}|{{t.wait_heading}}|{{return_url}}</p>";
    rooms_config_ = {sale, other};
    Make(true);
  }

  void Make(bool demo) {
    web_ = std::make_unique<WebHandler>(*rooms_, messages_, tokens_, clock_, metrics_,
                                        WebOptions{.demo = demo, .demo_room = "sale"});
    web_->SetRooms(rooms_config_);
  }

  http::Response Call(http::verb method, std::string target,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      http::Handler* handler = nullptr) {
    http::Request req{method, target, 11};
    for (auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    return (handler ? handler : web_.get())->Handle(req, http::ConnectionInfo{});
  }

  // A token for a new session of `room` (admitted at once: the rooms have room).
  std::string Token(std::string room, std::int64_t exp_offset = 600) {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
            .count();
    store::RoomState& state = *store_->Find(room);
    std::optional<store::TicketAnswer> joined;
    state.Join("", [&](boost::system::result<store::TicketAnswer> r) {
      if (r) joined = *r;
    });
    EXPECT_TRUE(joined && joined->status == core::TicketStatus::kAdmitted) << room;
    session_ = joined ? joined->ticket : 0;
    token::AdmissionClaims claims;
    claims.aud = std::move(room);
    claims.sub = "anon";
    claims.iat = claims.nbf = now;
    claims.exp = now + exp_offset;
    claims.jti = token::SessionId(state.incarnation(), session_);
    return tokens_.Issue(claims).value();
  }
  // Ends the session of the last Token() of `room`.
  void EndSession(const std::string& room) {
    store_->Find(room)->Leave(session_, [](boost::system::result<bool>) {});
  }

  static void ExpectPageHeaders(const http::Response& res) {
    EXPECT_EQ(res[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(res[http::field::cache_control], "no-store");
    EXPECT_EQ(res["Content-Security-Policy"], kContentSecurityPolicy);
    EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(res["Referrer-Policy"], "same-origin");
  }

  util::FakeClock clock_;
  http::ApiMetrics metrics_;
  token::SecretKey key_{{7, 7, 7}};
  token::KeyRing ring_{clock_, std::chrono::seconds(600)};
  token::AdmissionTokenSigner tokens_{ring_, clock_};
  std::unique_ptr<store::EmbeddedStore> store_;
  std::unique_ptr<http::RoomDirectory> rooms_;
  admin::RoomMessages messages_;
  std::vector<config::RoomConfig> rooms_config_;
  std::uint64_t session_ = 0;
  std::unique_ptr<WebHandler> web_;
};

TEST_F(WebTest, TheWaitingPageIsAStrictUncachedPage) {
  const http::Response res = Call(http::verb::get, "/wait/sale");
  EXPECT_EQ(res.result(), http::status::ok);
  ExpectPageHeaders(res);
  EXPECT_THAT(res.body(), HasSubstr(R"(data-room="sale")"));
  EXPECT_THAT(res.body(), HasSubstr(R"(aria-live="polite")"));
  EXPECT_THAT(res.body(), HasSubstr("<progress"));
  EXPECT_THAT(res.body(), HasSubstr("/assets/wait.js?v=" + std::string(AssetVersion())));
  EXPECT_THAT(res.body(), Not(HasSubstr("{{")));
  EXPECT_THAT(res.body(), Not(HasSubstr("<script>")));  // no inline script: only src=
}

TEST_F(WebTest, EveryValueOnThePageIsEscaped) {
  const std::string body = Call(http::verb::get, "/wait/sale").body();
  EXPECT_THAT(body, HasSubstr("Summer &lt;sale&gt; &amp; &quot;more&quot;"));
  EXPECT_THAT(body, HasSubstr("&lt;b&gt;Back at 2pm&lt;/b&gt;"));
  EXPECT_THAT(body, Not(HasSubstr("<b>Back")));
  EXPECT_THAT(body, Not(HasSubstr("Summer <sale>")));
}

TEST_F(WebTest, TheLanguageComesFromTheQueryThenAcceptLanguage) {
  EXPECT_THAT(Call(http::verb::get, "/wait/sale").body(), HasSubstr(R"(<html lang="en">)"));
  const std::string ko =
      Call(http::verb::get, "/wait/sale", {{"Accept-Language", "ko-KR,ko;q=0.9,en;q=0.8"}}).body();
  EXPECT_THAT(ko, HasSubstr(R"(<html lang="ko">)"));
  EXPECT_THAT(ko, HasSubstr("잠시만 기다려 주세요"));
  const std::string en =
      Call(http::verb::get, "/wait/sale?lang=en", {{"Accept-Language", "ko"}}).body();
  EXPECT_THAT(en, HasSubstr(R"(<html lang="en">)"));
  EXPECT_THAT(en, HasSubstr("You are in line"));
  // The switch keeps the return URL.
  EXPECT_THAT(en, HasSubstr(R"(href="/wait/sale?lang=ko&amp;return=%2F")"));
}

TEST_F(WebTest, TheReturnUrlIsCheckedAgainstTheRoomsHosts) {
  auto page = [&](std::string query) {
    return Call(http::verb::get, "/wait/sale?" + query).body();
  };
  EXPECT_THAT(page("return=%2Fcart%3Fx%3D1"), HasSubstr(R"(data-return="/cart?x=1")"));
  EXPECT_THAT(page("return=https%3A%2F%2Fshop.example.com%2Fpay"),
              HasSubstr(R"(data-return="https://shop.example.com/pay")"));
  EXPECT_THAT(page("return=https%3A%2F%2Fa.example.org%2F"),
              HasSubstr(R"(data-return="https://a.example.org/")"));
  for (const char* evil : {"return=https%3A%2F%2Fevil.example%2F", "return=%2F%2Fevil.example",
                           "return=javascript%3Aalert(1)", "return=%2F%5Cevil.example"}) {
    const std::string body = page(evil);
    EXPECT_THAT(body, HasSubstr(R"(data-return="/")")) << evil;
    EXPECT_THAT(body, Not(HasSubstr("evil.example"))) << evil;
    EXPECT_THAT(body, Not(HasSubstr("javascript"))) << evil;
  }
}

TEST_F(WebTest, ARoomForEveryHostReturnsOnlyToRelativeUrls) {
  EXPECT_THAT(Call(http::verb::get, "/wait/other?return=https%3A%2F%2Fshop.example.com%2F").body(),
              HasSubstr("|/</p>"));
}

TEST_F(WebTest, ARoomsOwnTemplateIsUsed) {
  const http::Response res = Call(http::verb::get, "/wait/other?return=%2Fx&lang=ko");
  EXPECT_EQ(res.body(), "<p>other||잠시만 기다려 주세요|/x</p>");
  ExpectPageHeaders(res);
}

TEST_F(WebTest, TheOperatorMessageCanBeReplacedAtRunTime) {
  messages_.Replace("other", "Sale <paused>");
  EXPECT_EQ(Call(http::verb::get, "/wait/other").body(),
            "<p>other|Sale &lt;paused&gt;|You are in line|/</p>");
  const http::Response json = Call(http::verb::get, "/wait/other/message");
  EXPECT_EQ(json.result(), http::status::ok);
  EXPECT_EQ(json[http::field::cache_control], "no-store");
  EXPECT_EQ(boost::json::parse(json.body()).at("message"), "Sale <paused>");
  messages_.Replace("other", std::nullopt);
  EXPECT_EQ(boost::json::parse(Call(http::verb::get, "/wait/other/message").body()).at("message"),
            "");
  // A reload brings the configured messages, and keeps the replacement.
  messages_.Replace("sale", "replaced");
  web_->SetRooms(rooms_config_);
  EXPECT_EQ(messages_.Get("sale").text, "replaced");
  EXPECT_EQ(messages_.Get("other").text, "");
}

TEST_F(WebTest, UnknownRoomsAndPathsAreNotFound) {
  const http::Response page = Call(http::verb::get, "/wait/nope", {{"Accept-Language", "ko"}});
  EXPECT_EQ(page.result(), http::status::not_found);
  ExpectPageHeaders(page);
  EXPECT_THAT(page.body(), HasSubstr("대기실을 찾을 수 없습니다"));
  EXPECT_EQ(Call(http::verb::get, "/wait/nope/message").result(), http::status::not_found);
  for (const char* path : {"/wait/sale/x", "/wait/", "/assets/nope.js", "/sdk/", "/demo/nope",
                           "/assets/../i18n.json", "/assets/templates/wait.html"}) {
    EXPECT_EQ(Call(http::verb::get, path).result(), http::status::not_found) << path;
  }
}

TEST_F(WebTest, PagesAndFilesAreReadOnly) {
  for (const char* path : {"/wait/sale", "/sdk/vwr.js", "/", "/demo/inside"}) {
    const http::Response res = Call(http::verb::post, path);
    EXPECT_EQ(res.result(), http::status::method_not_allowed) << path;
    EXPECT_EQ(res[http::field::allow], "GET, HEAD") << path;
  }
  EXPECT_EQ(Call(http::verb::get, "/demo/book")[http::field::allow], "POST");
}

TEST_F(WebTest, TheSdkIsServedAsAModule) {
  const http::Response res = Call(http::verb::get, "/sdk/vwr.js");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_THAT(res.body(), HasSubstr("export function enter("));
}

TEST_F(WebTest, TheDemoIsOffUnlessAsked) {
  Make(false);
  for (const char* path : {"/", "/demo/inside"}) {
    EXPECT_EQ(Call(http::verb::get, path).result(), http::status::not_found) << path;
  }
  EXPECT_EQ(Call(http::verb::post, "/demo/book").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/wait/sale").result(), http::status::ok);
  EXPECT_EQ(Call(http::verb::get, "/sdk/vwr.js").result(), http::status::ok);
}

TEST_F(WebTest, TheDemoPagesUseTheDemoRoom) {
  const http::Response landing = Call(http::verb::get, "/?lang=ko");
  EXPECT_EQ(landing.result(), http::status::ok);
  ExpectPageHeaders(landing);
  EXPECT_THAT(landing.body(), HasSubstr(R"(data-room="sale")"));
  EXPECT_THAT(landing.body(), HasSubstr("지금 예매하기"));
  EXPECT_THAT(landing.body(),
              HasSubstr(R"(href="/wait/sale?lang=ko&amp;return=%2Fdemo%2Finside%3Flang%3Dko")"));
  const http::Response inside = Call(http::verb::get, "/demo/inside");
  EXPECT_EQ(inside.result(), http::status::ok);
  EXPECT_THAT(inside.body(), HasSubstr("No admission cookie"));
  const http::Response with_cookie =
      Call(http::verb::get, "/demo/inside", {{"Cookie", "a=b; vwr_sale=" + Token("sale")}});
  EXPECT_THAT(with_cookie.body(), HasSubstr("admission cookie was checked"));
  // The same cookie once its session has ended: no longer honoured.
  const std::string cookie = "vwr_sale=" + Token("sale");
  EXPECT_THAT(Call(http::verb::get, "/demo/inside", {{"Cookie", cookie}}).body(),
              HasSubstr("admission cookie was checked"));
  EndSession("sale");
  EXPECT_THAT(Call(http::verb::get, "/demo/inside", {{"Cookie", cookie}}).body(),
              HasSubstr("No admission cookie"));
}

// The inside page reads the admission cookie as /api/v1/verify does (http::FindCookie): from
// any Cookie line, with blanks around names and values, not only from the first line.
TEST_F(WebTest, TheAdmissionCookieIsReadAsTheVerifyCallReadsIt) {
  http::Request two_lines{http::verb::get, "/demo/inside", 11};
  two_lines.insert(http::field::cookie, "a=b");
  two_lines.insert(http::field::cookie, "vwr_sale=" + Token("sale"));
  EXPECT_THAT(web_->Handle(two_lines, http::ConnectionInfo{}).body(),
              HasSubstr("admission cookie was checked"));
  EXPECT_THAT(
      Call(http::verb::get, "/demo/inside", {{"Cookie", "a=b;\tvwr_sale=" + Token("sale")}}).body(),
      HasSubstr("admission cookie was checked"));
}

TEST_F(WebTest, BookingNeedsAValidTokenForTheDemoRoom) {
  auto book = [&](std::string token) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return Call(http::verb::post, "/demo/book", headers);
  };
  http::Response res = book("");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(boost::json::parse(res.body()).at("error").at("code"), "invalid_token");
  EXPECT_EQ(book("not.a.token").result(), http::status::unauthorized);
  EXPECT_EQ(book(Token("other")).result(), http::status::unauthorized);     // another room
  EXPECT_EQ(book(Token("sale", -1)).result(), http::status::unauthorized);  // expired
  std::string forged = Token("sale");
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(book(forged).result(), http::status::unauthorized);

  res = book(Token("sale"));
  EXPECT_EQ(res.result(), http::status::ok) << res.body();
  const auto answer = boost::json::parse(res.body());
  EXPECT_EQ(answer.at("ok"), true);
  EXPECT_EQ(answer.at("room"), "sale");
  EXPECT_TRUE(answer.at("booking").as_string().starts_with("VWR-"));
  EXPECT_EQ(res[http::field::cache_control], "no-store");

  // A genuine token whose session has ended (left, timed out, ended by an operator).
  const std::string token = Token("sale");
  EndSession("sale");
  res = book(token);
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(boost::json::parse(res.body()).at("error").at("code"), "session_ended");
}

TEST(WebHandlerPaths, ThePagesOwnTheirUrlSpace) {
  EXPECT_TRUE(WebHandler::Owns("/"));
  EXPECT_TRUE(WebHandler::Owns("/wait/x"));
  EXPECT_TRUE(WebHandler::Owns("/sdk/vwr.js"));
  EXPECT_TRUE(WebHandler::Owns("/demo/inside"));
  EXPECT_TRUE(WebHandler::Owns("/assets/x.css"));
  EXPECT_FALSE(WebHandler::Owns("/api/v1/rooms/x"));
  EXPECT_FALSE(WebHandler::Owns("/TRACERAPI/inputQueue.do"));
  EXPECT_FALSE(WebHandler::Owns("/waiting"));
  EXPECT_FALSE(WebHandler::Owns("//"));
}

}  // namespace
}  // namespace vwr::pages
