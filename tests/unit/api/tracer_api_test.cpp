#include "api/tracer_api.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <regex>
#include <set>

#include "store/embedded_store.hpp"
#include "unit/api/api_fixture.hpp"

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A Guard that blocks and allows what the test says.
class ListGuard final : public Guard {
 public:
  GuardVerdict Check(const GuardRequest& request) override {
    ++checks;
    last_identity = std::string(request.identity);
    last_ip = request.client_ip.to_string();
    if (blocked_identities.contains(std::string(request.identity))) {
      return {GuardAction::kBlock, seconds(60), "permanent_block"};
    }
    if (allowed_identities.contains(std::string(request.identity))) {
      return {GuardAction::kBypass, seconds(0), "allow"};
    }
    return {};
  }
  bool IsBlocked(std::string_view, const boost::asio::ip::address& ip) override {
    return blocked_ips.contains(ip.to_string());
  }
  std::set<std::string> blocked_identities, allowed_identities, blocked_ips;
  int checks = 0;
  std::string last_identity, last_ip;
};

class TracerApiTest : public testing::EmbeddedApiFixture {
 protected:
  TracerApiTest() {
    MakeRooms({"first", "sale"}, OneAtATime());
    TracerOptions options;
    options.domain = "queue.example.com";
    options.guard = &guard_;
    Make(std::move(options));
  }

  void Make(TracerOptions options) {
    api_ = std::make_unique<TracerApi>(*rooms_, clock_, metrics_, std::move(options));
    api_->SetRoutes({{"first", {{"*", "/"}}}, {"sale", {{"shop.example.com", "/sale"}}}});
  }

  Response Call(std::string endpoint, std::string body, std::string peer = "198.51.100.1",
                testing::Headers headers = {}) {
    headers.emplace(headers.begin(), "Content-Type", "application/x-www-form-urlencoded");
    return Send(*api_, http::verb::post, "/TRACERAPI/" + endpoint, std::move(body), headers,
                ConnectionInfo{boost::asio::ip::make_address(peer)});
  }

  // The answer's fields as legacy clients read them.
  std::map<std::string, std::string> Input(std::string body, std::string peer = "198.51.100.1") {
    Response res = Call("inputQueue.do", std::move(body), std::move(peer));
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    std::map<std::string, std::string> out;
    static const std::regex parameter(R"re(<Parameter\s+id="([^"]+)"[^>]*>(.*?)</Parameter>)re");
    const std::string& text = res.body();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), parameter);
         it != std::sregex_iterator(); ++it) {
      out[(*it)[1]] = (*it)[2];
    }
    EXPECT_EQ(out.size(), kTracerFields.size()) << text;
    return out;
  }

  ListGuard guard_;
  std::unique_ptr<TracerApi> api_;
};

TEST(TracerRender, XmlHasTheDeclarationTheFieldsInOrderAndEscapes) {
  std::array<std::string, kTracerFields.size()> texts;
  TracerValues values;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = texts[i] = std::to_string(i);
  values[2] = "<a href=\"x\">'&'</a>\x01";
  const std::string xml = RenderTracerXml(values);
  EXPECT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Root><Parameters>"))
      << xml;
  EXPECT_NE(xml.find("<Parameter id=\"loginId\">&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;"
                     "&lt;/a&gt;</Parameter>"),
            std::string::npos)
      << xml;
  std::size_t at = 0;
  for (std::string_view name : kTracerFields) {
    const std::size_t found = xml.find("<Parameter id=\"" + std::string(name) + "\">", at);
    ASSERT_NE(found, std::string::npos) << name;
    at = found;
  }
  EXPECT_TRUE(xml.ends_with("</Parameters></Root>\n"));
}

TEST(TracerRender, XmlEscapingKeepsThePlainTextAroundEachEscape) {
  std::string out;
  AppendXmlEscaped(out,
                   "ab<cd\x02"
                   "ef&");
  EXPECT_EQ(out, "ab&lt;cdef&amp;");
  out.clear();
  AppendXmlEscaped(out, "\"plain\"");
  EXPECT_EQ(out, "&quot;plain&quot;");
  out.clear();
  AppendXmlEscaped(out, "tab\tand\r\nlines");
  EXPECT_EQ(out, "tab\tand\r\nlines");
}

TEST(TracerRender, JsonHasTheSameKeysAsStrings) {
  TracerValues values;
  values[0] = "h\"\\";
  const boost::json::object o = boost::json::parse(RenderTracerJson(values)).as_object();
  ASSERT_EQ(o.size(), kTracerFields.size());
  std::size_t i = 0;
  for (const auto& [key, value] : o) {
    EXPECT_EQ(key, kTracerFields[i++]);
    EXPECT_TRUE(value.is_string());
  }
  EXPECT_EQ(o.at("host").as_string(), "h\"\\");
}

TEST(TracerRender, PathsOfThisApi) {
  EXPECT_TRUE(IsTracerPath("/TRACERAPI/inputQueue.do"));
  EXPECT_FALSE(IsTracerPath("/tracerapi/inputQueue.do"));
  EXPECT_FALSE(IsTracerPath("/api/v1/verify"));
}

TEST_F(TracerApiTest, PollsAreAnsweredWithoutJoiningAgain) {
  EXPECT_EQ(Input("loginId=in")["isWait"], "F");
  auto w = Input("loginId=waiter");
  EXPECT_EQ(w["isWait"], "T");
  EXPECT_EQ(w["waitCnt"], "1");
  for (int i = 0; i < 5; ++i) {
    auto again = Input("loginId=waiter");
    EXPECT_EQ(again["waitCnt"], "1");
    EXPECT_EQ(again["waitMyCnt"], "1");
  }
  EXPECT_EQ(store_->Find("first")->Figures().counters.rejoins, 0U)
      << "polls of a known identity never reach the store's Join";
  EXPECT_EQ(guard_.last_identity, "waiter");
  EXPECT_EQ(guard_.last_ip, "198.51.100.1");
}

TEST_F(TracerApiTest, AnIdentityTheCacheDroppedKeepsItsPlace) {
  TracerOptions options;
  options.max_cached_identities = 1;  // one per stripe
  Make(std::move(options));
  EXPECT_EQ(Input("loginId=in")["isWait"], "F");
  std::map<std::string, std::string> first[40];
  for (int i = 0; i < 40; ++i) first[i] = Input("loginId=u" + std::to_string(i));
  for (int i = 0; i < 40; ++i) {
    auto again = Input("loginId=u" + std::to_string(i));
    EXPECT_EQ(again["waitMyCnt"], first[i]["waitMyCnt"]) << i;
    EXPECT_EQ(again["waitCnt"], std::to_string(i + 1)) << i;
  }
  EXPECT_GT(store_->Find("first")->Figures().counters.rejoins, 0U);
}

TEST_F(TracerApiTest, CheckOutFreesTheSlotForTheNextInLine) {
  EXPECT_EQ(Input("loginId=a")["isWait"], "F");
  EXPECT_EQ(Input("loginId=b")["isWait"], "T");
  Tick(seconds(1));
  EXPECT_EQ(Input("loginId=b")["isWait"], "T") << "the only slot is taken";
  Response out = Call("outputQueue.do", "loginId=a");
  EXPECT_EQ(out.result(), http::status::ok);
  EXPECT_EQ(store_->Find("first")->Figures().active, 0);
  Tick(milliseconds(200));
  auto b = Input("loginId=b");
  EXPECT_EQ(b["isWait"], "F");
  EXPECT_EQ(b["waitCnt"], "0");
  EXPECT_EQ(b["waitMyCnt"], "1");
  EXPECT_EQ(store_->Find("first")->Figures().active, 1);
  // Back after check-out: a new place in line (b holds the only slot now).
  EXPECT_EQ(Input("loginId=a")["isWait"], "T");
}

TEST_F(TracerApiTest, BlockedIsNotAvailableAndAllowedEntersAtOnce) {
  EXPECT_EQ(Input("loginId=a")["isWait"], "F");
  guard_.blocked_identities.insert("bot");
  auto bot = Input("loginId=bot");
  EXPECT_EQ(bot["isWait"], "NE");
  EXPECT_EQ(bot["waitCnt"], "0");
  guard_.allowed_identities.insert("vip");
  auto vip = Input("loginId=vip");
  EXPECT_EQ(vip["isWait"], "F") << "past the full room: on the allow list";
  EXPECT_EQ(vip["waitMyCnt"], "0");
  EXPECT_EQ(store_->Find("first")->Figures().counters.bypass, 1U);
  EXPECT_EQ(Input("loginId=vip")["isWait"], "F");
  EXPECT_EQ(store_->Find("first")->Figures().counters.bypass, 1U)
      << "its polls are of the same session, not new admissions";
  EXPECT_EQ(Call("outputQueue.do", "loginId=vip").result(), http::status::ok);
  EXPECT_EQ(store_->Find("first")->Figures().active, 1) << "vip's session ended, a's is left";
  // The identity the guard is told of: loginId, else the cookie, else the address.
  Input("", "203.0.113.9");
  EXPECT_EQ(guard_.last_identity, "ip:203.0.113.9");
  Call("inputQueue.do", "", "203.0.113.9", {{"Cookie", "wcCookie=c1"}});
  EXPECT_EQ(guard_.last_identity, "wc:c1");
}

TEST_F(TracerApiTest, CheckBotIpAsksTheGuardForTheClientAddress) {
  guard_.blocked_ips.insert("203.0.113.9");
  Response blocked = Call("checkBotIp.do", "host=x&ip=1.2.3.4", "203.0.113.9");
  EXPECT_EQ(blocked.body(), "T");
  Response fine = Call("checkBotIp.do", "host=x&ip=203.0.113.9", "198.51.100.1");
  EXPECT_EQ(fine.body(), "F") << "the form's ip is not believed";
  TracerOptions trusting;
  trusting.trust_client_ip = true;
  trusting.guard = &guard_;
  Make(std::move(trusting));
  EXPECT_EQ(Call("checkBotIp.do", "host=x&ip=203.0.113.9", "198.51.100.1").body(), "T")
      << "unless tracer.trust_client_ip";
}

TEST_F(TracerApiTest, RoomByHostAndPageUrlElseTheFirstRoom) {
  EXPECT_EQ(Input("loginId=s1&host=shop.example.com&pageUrl=https%3A%2F%2Fshop.example.com%2Fsale%"
                  "2F1")["isWait"],
            "F");
  EXPECT_EQ(store_->Find("sale")->Figures().active, 1);
  EXPECT_EQ(Input("loginId=s2&pageUrl=https%3A%2F%2Fshop.example.com%2Fsale%2F2")["isWait"], "T")
      << "the host from pageUrl when the field is empty";
  EXPECT_EQ(Input("loginId=s3&host=other.example.com&pageUrl=%2Fsale")["isWait"], "F");
  EXPECT_EQ(store_->Find("first")->Figures().active, 1);
}

}  // namespace
}  // namespace vwr::api
