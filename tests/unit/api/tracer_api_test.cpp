#include "api/tracer_api.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <regex>
#include <set>
#include <string>
#include <vector>

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

// The root element's text content, as a browser's DOM gives it: what lies between <Root ...>
// and </Root> with every tag taken out and the five entities decoded.
std::string RootText(std::string_view xml) {
  const std::size_t open = xml.find('>', xml.find("<Root"));
  xml = xml.substr(open + 1, xml.rfind("</Root>") - open - 1);
  std::string text;
  bool in_tag = false;
  for (char c : xml) {
    if (c == '<') in_tag = true;
    if (!in_tag) text += c;
    if (c == '>') in_tag = false;
  }
  for (auto [entity, c] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
    for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1)) {
      text.replace(at, entity.size(), c);
    }
  }
  return text;
}

// The legacy client's reading: the root's text split on TABs, each piece trimmed.
std::vector<std::string> TabPieces(std::string_view xml) {
  std::vector<std::string> pieces;
  std::string text = RootText(xml);
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = text.find('\t', start);
    std::string piece = text.substr(start, tab == std::string::npos ? tab : tab - start);
    const auto first = piece.find_first_not_of(" \n\r");
    const auto last = piece.find_last_not_of(" \n\r");
    pieces.push_back(first == std::string::npos ? "" : piece.substr(first, last - first + 1));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return pieces;
}

TEST(TracerRender, XmlIsTheDatasetDocumentLaidOutWithTabs) {
  std::array<std::string, kTracerFields.size()> texts;
  TracerValues values;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = texts[i] = "v" + std::to_string(i);
  values[2] = "<a href=\"x\">'&'</a>\x01";
  const std::string xml = RenderTracerXml(values);
  std::string expected =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Root xmlns=\"http://www.nexacroplatform.com/platform/dataset\">\n"
      "\t<Parameters>\n";
  for (std::size_t i = 0; i < values.size(); ++i) {
    expected += "\t<Parameter id=\"" + std::string(kTracerFields[i]) + "\" type=\"String\">" +
                (i == 2 ? "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;" : texts[i]) +
                "</Parameter>\n";
  }
  expected += "\t</Parameters>\n</Root>\n";
  EXPECT_EQ(xml, expected);
}

TEST(TracerRender, TabPiecesPutFieldIAtIndexTwoPlusI) {
  std::array<std::string, kTracerFields.size()> texts;
  TracerValues values;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = texts[i] = "v" + std::to_string(i);
  const std::vector<std::string> pieces = TabPieces(RenderTracerXml(values));
  ASSERT_EQ(pieces.size(), 16u);
  EXPECT_EQ(pieces[0], "");
  EXPECT_EQ(pieces[1], "");
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(pieces[2 + i], texts[i]) << i;
  EXPECT_EQ(pieces[15], "");
  // The legacy client's indexes.
  EXPECT_EQ(pieces[2], "v0");    // host
  EXPECT_EQ(pieces[7], "v5");    // isWait
  EXPECT_EQ(pieces[12], "v10");  // waitMyCnt
  EXPECT_EQ(pieces[14], "v12");  // tracer_domain
}

TEST(TracerRender, TabsAndLineBreaksInValuesAreSpacesSoNoPieceShifts) {
  TracerValues values;
  values[4] = "/sale?q=\tF\tF\r\n\tE";  // pageUrl, before isWait
  values[5] = "T";
  values[11] = "agent\t\nx\r";  // userAgent, before tracer_domain
  values[12] = "queue.example.com";
  const std::string xml = RenderTracerXml(values);
  const std::vector<std::string> pieces = TabPieces(xml);
  ASSERT_EQ(pieces.size(), 16u) << xml;
  EXPECT_EQ(pieces[6], "/sale?q= F F   E");
  EXPECT_EQ(pieces[7], "T");
  EXPECT_EQ(pieces[13], "agent  x");
  EXPECT_EQ(pieces[14], "queue.example.com");
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
