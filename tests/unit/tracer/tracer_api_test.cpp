#include "tracer/tracer_api.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "store/embedded_store.hpp"
#include "support/api_fixture.hpp"

namespace vwr::tracer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A Guard that blocks and allows what the test says.
class ListGuard final : public guard::Guard {
 public:
  guard::GuardVerdict Check(const guard::GuardRequest& request) override {
    ++checks;
    last_identity = std::string(request.identity);
    last_ip = request.client_ip.to_string();
    if (blocked_identities.contains(std::string(request.identity))) {
      return {guard::GuardAction::kBlock, seconds(60), "permanent_block"};
    }
    if (allowed_identities.contains(std::string(request.identity))) {
      return {guard::GuardAction::kBypass, seconds(0), "allow"};
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

class TracerApiTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  TracerApiTest() {
    MakeRooms({"first", "sale"}, OneAtATime());
    TracerOptions options;
    options.domain = "queue.example.com";
    options.guard = &guard_;
    Make(std::move(options));
  }

  void Make(TracerOptions options) {
    api_ = std::make_unique<TracerApi>(*rooms_, clock_, metrics_, pseudonyms_, std::move(options));
    api_->SetRoutes({{"first", {{"*", "/"}}}, {"sale", {{"shop.example.com", "/sale"}}}});
  }

  http::Response Call(std::string endpoint, std::string body, std::string peer = "198.51.100.1",
                      testing::Headers headers = {}) {
    headers.emplace(headers.begin(), "Content-Type", "application/x-www-form-urlencoded");
    return Send(*api_, http::verb::post, "/TRACERAPI/" + endpoint, std::move(body), headers,
                http::ConnectionInfo{boost::asio::ip::make_address(peer)});
  }

  // The answer's fields as legacy clients read them.
  std::map<std::string, std::string> Input(std::string body, std::string peer = "198.51.100.1") {
    http::Response res = Call("inputQueue.do", std::move(body), std::move(peer));
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

  // The identity of a loginId sent from `peer` without a cookie (the default binding).
  static std::string Bound(std::string_view login_id, std::string peer = "198.51.100.1") {
    return TracerIdentity(IdentityBinding::kCookie, login_id, "",
                          boost::asio::ip::make_address(peer));
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

TEST(TracerIdentity, CallersWithoutALoginIdAreTheirCookieOrTheirAddress) {
  const auto ip = boost::asio::ip::make_address("203.0.113.7");
  EXPECT_EQ(TracerIdentity(IdentityBinding::kCookie, "", "", ip), "ip:203.0.113.7");
  EXPECT_EQ(TracerIdentity(IdentityBinding::kCookie, "", "c0ffee", ip), "wc:c0ffee");
  EXPECT_EQ(TracerIdentity(IdentityBinding::kNone, "", "c0ffee", ip), "wc:c0ffee");
  EXPECT_EQ(TracerIdentity(IdentityBinding::kAddress, "", "", ip), "ip:203.0.113.7");
}

TEST(TracerIdentity, ALoginIdIsADigestInANamespaceOfItsOwn) {
  const auto ip = boost::asio::ip::make_address("203.0.113.7");
  for (const IdentityBinding binding :
       {IdentityBinding::kCookie, IdentityBinding::kAddress, IdentityBinding::kNone}) {
    for (const std::string_view login : {"ip:203.0.113.7", "wc:c0ffee", "user42"}) {
      const std::string identity = TracerIdentity(binding, login, "c0ffee", ip);
      EXPECT_TRUE(identity.starts_with("id:")) << identity;
      EXPECT_EQ(identity.size(), 3u + 22u) << identity;
      EXPECT_NE(identity, "ip:203.0.113.7");
      EXPECT_NE(identity, "wc:c0ffee");
      EXPECT_EQ(identity, TracerIdentity(binding, login, "c0ffee", ip)) << "deterministic";
    }
  }
  const std::string long_login(256, 'x');
  EXPECT_EQ(TracerIdentity(IdentityBinding::kCookie, long_login, std::string(4000, 'c'), ip).size(),
            25u)
      << "bounded whatever the loginId and cookie (the store takes 256 bytes)";
}

TEST(TracerIdentity, TheBindingDecidesWhatElseMakesTheSamePlace) {
  const auto a = boost::asio::ip::make_address("198.51.100.10");
  const auto b = boost::asio::ip::make_address("203.0.113.66");
  using enum IdentityBinding;
  // cookie: the cookie when there is one, else the address.
  EXPECT_EQ(TracerIdentity(kCookie, "alice", "s1", a), TracerIdentity(kCookie, "alice", "s1", b));
  EXPECT_NE(TracerIdentity(kCookie, "alice", "s1", a), TracerIdentity(kCookie, "alice", "s2", a));
  EXPECT_NE(TracerIdentity(kCookie, "alice", "", a), TracerIdentity(kCookie, "alice", "", b));
  EXPECT_NE(TracerIdentity(kCookie, "alice", "s1", a), TracerIdentity(kCookie, "alice", "", a));
  EXPECT_NE(TracerIdentity(kCookie, "alice", "", a), TracerIdentity(kCookie, "bob", "", a));
  // A cookie that is the loginId itself tells nothing more: the address binds.
  EXPECT_NE(TracerIdentity(kCookie, "x1", "x1", a), TracerIdentity(kCookie, "x1", "x1", b));
  EXPECT_EQ(TracerIdentity(kCookie, "x1", "x1", a), TracerIdentity(kCookie, "x1", "", a));
  // address: the cookie does not count.
  EXPECT_EQ(TracerIdentity(kAddress, "alice", "s1", a), TracerIdentity(kAddress, "alice", "s2", a));
  EXPECT_NE(TracerIdentity(kAddress, "alice", "s1", a), TracerIdentity(kAddress, "alice", "s1", b));
  // none: only the loginId.
  EXPECT_EQ(TracerIdentity(kNone, "alice", "s1", a), TracerIdentity(kNone, "alice", "", b));
  // The modes never share an identity, and the parts cannot be shifted into each other.
  EXPECT_NE(TracerIdentity(kNone, "alice", "", a), TracerIdentity(kAddress, "alice", "", a));
  EXPECT_NE(TracerIdentity(kCookie, "ab", "c", a), TracerIdentity(kCookie, "a", "bc", a));
}

TEST(TracerIdentity, AnIpv6AddressBindsByItsSlash64) {
  using enum IdentityBinding;
  const auto one = boost::asio::ip::make_address("2001:db8:1:2:aaaa::1");
  const auto other = boost::asio::ip::make_address("2001:db8:1:2:bbbb::2");
  const auto elsewhere = boost::asio::ip::make_address("2001:db8:1:3::1");
  EXPECT_EQ(TracerIdentity(kAddress, "u", "", one), TracerIdentity(kAddress, "u", "", other))
      << "privacy addresses of one device";
  EXPECT_NE(TracerIdentity(kAddress, "u", "", one), TracerIdentity(kAddress, "u", "", elsewhere));
  EXPECT_EQ(TracerIdentity(kAddress, "u", "", boost::asio::ip::make_address("::ffff:192.0.2.1")),
            TracerIdentity(kAddress, "u", "", boost::asio::ip::make_address("192.0.2.1")));
}

TEST(TracerIdentity, BindingNames) {
  EXPECT_EQ(ParseIdentityBinding("cookie"), IdentityBinding::kCookie);
  EXPECT_EQ(ParseIdentityBinding("address"), IdentityBinding::kAddress);
  EXPECT_EQ(ParseIdentityBinding("none"), IdentityBinding::kNone);
  EXPECT_EQ(ParseIdentityBinding("Cookie"), std::nullopt);
}

TEST(TracerRender, PathsOfThisApi) {
  EXPECT_TRUE(TracerApi::Owns("/TRACERAPI/inputQueue.do"));
  EXPECT_FALSE(TracerApi::Owns("/tracerapi/inputQueue.do"));
  EXPECT_FALSE(TracerApi::Owns("/api/v1/verify"));
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
  EXPECT_EQ(guard_.last_identity, Bound("waiter"));
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
  http::Response out = Call("outputQueue.do", "loginId=a");
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
  guard_.blocked_identities.insert(Bound("bot"));
  auto bot = Input("loginId=bot");
  EXPECT_EQ(bot["isWait"], "NE");
  EXPECT_EQ(bot["waitCnt"], "0");
  guard_.allowed_identities.insert(Bound("vip"));
  auto vip = Input("loginId=vip");
  EXPECT_EQ(vip["isWait"], "F") << "past the full room: on the allow list";
  EXPECT_EQ(vip["waitMyCnt"], "0");
  EXPECT_EQ(store_->Find("first")->Figures().counters.bypass, 1U);
  EXPECT_EQ(Input("loginId=vip")["isWait"], "F");
  EXPECT_EQ(store_->Find("first")->Figures().counters.bypass, 1U)
      << "its polls are of the same session, not new admissions";
  EXPECT_EQ(Call("outputQueue.do", "loginId=vip").result(), http::status::ok);
  EXPECT_EQ(store_->Find("first")->Figures().active, 1) << "vip's session ended, a's is left";
  // The identity the guard is told of: the bound loginId, else the cookie, else the address.
  Input("", "203.0.113.9");
  EXPECT_EQ(guard_.last_identity, "ip:203.0.113.9");
  Call("inputQueue.do", "", "203.0.113.9", {{"Cookie", "wcCookie=c1"}});
  EXPECT_EQ(guard_.last_identity, "wc:c1");
}

TEST_F(TracerApiTest, CheckBotIpAsksTheGuardForTheClientAddress) {
  guard_.blocked_ips.insert("203.0.113.9");
  http::Response blocked = Call("checkBotIp.do", "host=x&ip=1.2.3.4", "203.0.113.9");
  EXPECT_EQ(blocked.body(), "T");
  http::Response fine = Call("checkBotIp.do", "host=x&ip=203.0.113.9", "198.51.100.1");
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

TEST_F(TracerApiTest, AnOriginNotAllowedIsRefusedBeforeItTakesAPlace) {
  api_->SetRoutes({{"first", {{"shop.example.com", "/"}, {"*.example.org", "/"}}}});
  http::Response ok = Call("inputQueue.do", "loginId=a", "198.51.100.1",
                           {{"Origin", "https://shop.example.com:8443"}});
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(ok[http::field::access_control_allow_origin], "https://shop.example.com:8443");
  EXPECT_EQ(ok[http::field::access_control_allow_credentials], "true");
  EXPECT_EQ(ok[http::field::vary], "Origin");
  for (const std::string origin : {"https://evil.example", "null", "", "https://example.org"}) {
    http::Response refused =
        Call("inputQueue.do", "loginId=b", "198.51.100.1", {{"Origin", origin}});
    EXPECT_EQ(refused.result(), http::status::forbidden) << origin;
    EXPECT_TRUE(refused[http::field::access_control_allow_origin].empty()) << origin;
    EXPECT_NE(refused.body().find("origin_not_allowed"), std::string::npos) << refused.body();
    http::Response out = Call("outQueue.do", "loginId=a", "198.51.100.1", {{"Origin", origin}});
    EXPECT_EQ(out.result(), http::status::forbidden) << origin;
  }
  EXPECT_EQ(store_->Find("first")->Figures().queue_size, 0u) << "b never joined";
  EXPECT_EQ(store_->Find("first")->Figures().active, 1) << "a was not checked out";
  // A same-origin POST (a page on this API's own host) carries an Origin too.
  http::Response same =
      Call("inputQueue.do", "loginId=c", "198.51.100.1",
           {{"Host", "queue.example.com"}, {"Origin", "https://queue.example.com"}});
  EXPECT_EQ(same.result(), http::status::ok);
  // The configured list replaces the rooms' hosts.
  TracerOptions listed;
  listed.allowed_origins = std::vector<std::string>{"https://*.example.net"};
  Make(std::move(listed));
  EXPECT_EQ(
      Call("checkBotIp.do", "", "198.51.100.1", {{"Origin", "https://a.example.net"}}).result(),
      http::status::ok);
  EXPECT_EQ(
      Call("checkBotIp.do", "", "198.51.100.1", {{"Origin", "https://shop.example.com"}}).result(),
      http::status::forbidden);
}

// A store whose rooms stop answering while `failing` is set, as a shared store does while it
// cannot be reached: every call that needs the store fails with kUnavailable, while the figures
// the node published before (StatusCached, Figures) stay as they were.
class FailingRoom final : public store::RoomState {
 public:
  FailingRoom(store::RoomState& inner, const bool& failing, bool fail_open)
      : inner_(inner), failing_(failing), fail_open_(fail_open) {}

  const std::string& id() const override { return inner_.id(); }
  std::uint64_t incarnation() const override { return inner_.incarnation(); }
  const core::Policy& policy() const override { return inner_.policy(); }
  bool fail_open() const override { return fail_open_; }
  bool PeekWaiting(std::uint64_t ticket, store::TicketAnswer& answer) const override {
    return inner_.PeekWaiting(ticket, answer);
  }
  bool StatusCached(std::uint64_t ticket, std::uint64_t frontier_at_join,
                    store::TicketAnswer& answer) override {
    return inner_.StatusCached(ticket, frontier_at_join, answer);
  }
  void Join(std::string identity, store::Done<store::TicketAnswer> done) override {
    if (Unreachable(done)) return;
    inner_.Join(std::move(identity), std::move(done));
  }
  void Status(std::uint64_t ticket, std::uint64_t frontier_at_join,
              store::Done<store::TicketAnswer> done) override {
    if (Unreachable(done)) return;
    inner_.Status(ticket, frontier_at_join, std::move(done));
  }
  void Heartbeat(std::uint64_t session_ticket, store::Done<bool> done) override {
    if (Unreachable(done)) return;
    inner_.Heartbeat(session_ticket, std::move(done));
  }
  void Leave(std::uint64_t session_ticket, store::Done<bool> done) override {
    if (Unreachable(done)) return;
    inner_.Leave(session_ticket, std::move(done));
  }
  void LeaveAll(store::Done<std::uint64_t> done) override {
    if (Unreachable(done)) return;
    inner_.LeaveAll(std::move(done));
  }
  void Withdraw(std::uint64_t ticket, store::Done<bool> done) override {
    if (Unreachable(done)) return;
    inner_.Withdraw(ticket, std::move(done));
  }
  void LeaveIdentity(std::string identity, store::Done<bool> done) override {
    if (Unreachable(done)) return;
    inner_.LeaveIdentity(std::move(identity), std::move(done));
  }
  void SetPolicy(const core::Policy& policy, store::Done<void> done) override {
    if (Unreachable(done)) return;
    inner_.SetPolicy(policy, std::move(done));
  }
  store::RoomFigures Figures() override { return inner_.Figures(); }
  void Admit(std::string identity, store::Done<store::TicketAnswer> done) override {
    if (Unreachable(done)) return;
    inner_.Admit(std::move(identity), std::move(done));
  }
  bool SessionEnded(std::uint64_t session_ticket) override {
    return inner_.SessionEnded(session_ticket);
  }
  void ConsumeOnce(std::string key, std::chrono::milliseconds keep,
                   store::Done<bool> done) override {
    if (Unreachable(done)) return;
    inner_.ConsumeOnce(std::move(key), keep, std::move(done));
  }
  void Draw(std::uint64_t first, std::vector<std::uint64_t> order,
            store::Done<bool> done) override {
    if (Unreachable(done)) return;
    inner_.Draw(first, std::move(order), std::move(done));
  }

 private:
  template <typename T>
  bool Unreachable(store::Done<T>& done) {
    if (!failing_) return false;
    done(boost::system::result<T>(boost::system::in_place_error,
                                  make_error_code(store::StoreError::kUnavailable)));
    return true;
  }

  store::RoomState& inner_;
  const bool& failing_;
  const bool fail_open_;
};

class FailingStore final : public store::Store {
 public:
  // The rooms of `inner`; those named in `fail_open` let people through on a failure.
  FailingStore(store::Store& inner, const std::set<std::string>& fail_open) : inner_(inner) {
    for (store::RoomState* room : inner.Rooms()) {
      rooms_.push_back(
          std::make_unique<FailingRoom>(*room, failing, fail_open.contains(room->id())));
      list_.push_back(rooms_.back().get());
    }
  }

  store::RoomState* Find(std::string_view room_id) override {
    for (store::RoomState* room : list_) {
      if (room->id() == room_id) return room;
    }
    return nullptr;
  }
  const std::vector<store::RoomState*>& Rooms() override { return list_; }
  store::ReconfigureReport Reconfigure(const std::vector<store::RoomSpec>&) override { return {}; }
  void Tick() override { inner_.Tick(); }
  bool Ready() const override { return !failing; }

  bool failing = false;  // the store cannot be reached

 private:
  store::Store& inner_;
  std::vector<std::unique_ptr<FailingRoom>> rooms_;
  std::vector<store::RoomState*> list_;
};

// "closed" fails closed (the default), "open" fails open; both admit one at a time.
class TracerStoreFailureTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  TracerStoreFailureTest() {
    MakeRooms({"closed", "open"}, OneAtATime());
    failing_ = std::make_unique<FailingStore>(*store_, std::set<std::string>{"open"});
    rooms_ = std::make_unique<http::RoomDirectory>(*failing_);
    api_ = std::make_unique<TracerApi>(*rooms_, clock_, metrics_, pseudonyms_, TracerOptions{});
    api_->SetRoutes(
        {{"closed", {{"closed.example.com", "/"}}}, {"open", {{"open.example.com", "/"}}}});
  }

  // The answer's fields, as legacy clients read them, of a call to `endpoint` by `login_id`.
  std::map<std::string, std::string> Answer(const std::string& endpoint, const std::string& host,
                                            const std::string& login_id) {
    http::Response res = Send(*api_, http::verb::post, "/TRACERAPI/" + endpoint,
                              "host=" + host + "&loginId=" + login_id,
                              {{"Content-Type", "application/x-www-form-urlencoded"}},
                              http::ConnectionInfo{boost::asio::ip::make_address("198.51.100.1")});
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    std::map<std::string, std::string> out;
    static const std::regex parameter(R"re(<Parameter\s+id="([^"]+)"[^>]*>(.*?)</Parameter>)re");
    const std::string& text = res.body();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), parameter);
         it != std::sregex_iterator(); ++it) {
      out[(*it)[1]] = (*it)[2];
    }
    return out;
  }
  std::map<std::string, std::string> Closed(const std::string& login_id,
                                            const std::string& endpoint = "inputQueue.do") {
    return Answer(endpoint, "closed.example.com", login_id);
  }
  std::map<std::string, std::string> Open(const std::string& login_id,
                                          const std::string& endpoint = "inputQueue.do") {
    return Answer(endpoint, "open.example.com", login_id);
  }
  // Whether `login_id` of the closed room is admitted and checks out, letting the next one in.
  void EnterAndCheckOut(const std::string& login_id) {
    EXPECT_EQ(Closed(login_id)["isWait"], "F") << login_id;
    EXPECT_EQ(Closed(login_id, "outQueue.do")["isWait"], "F") << login_id;
    Tick(std::chrono::milliseconds(200));
  }

  std::unique_ptr<FailingStore> failing_;
  std::unique_ptr<TracerApi> api_;
};

TEST_F(TracerStoreFailureTest, AFailClosedRoomKeepsTheCallerAtTheLastPlaceItWasTold) {
  EXPECT_EQ(Closed("a")["isWait"], "F");
  for (const std::string id : {"b", "c"}) EXPECT_EQ(Closed(id)["isWait"], "T") << id;
  auto d = Closed("d");
  EXPECT_EQ(d["waitCnt"], "3");
  EXPECT_EQ(d["waitMyCnt"], "3");
  EXPECT_EQ(Closed("a", "outQueue.do")["isWait"], "F");
  Tick(milliseconds(200));  // b is called
  d = Closed("d");          // answered from the published figures
  EXPECT_EQ(d["waitCnt"], "2");
  EXPECT_EQ(d["waitQueueSize"], "2");
  EXPECT_EQ(Closed("e")["isWait"], "T");
  EnterAndCheckOut("b");
  EnterAndCheckOut("c");  // d is called now; it has not polled since it was told 2 and 2

  failing_->failing = true;
  d = Closed("d");  // a called ticket needs the store to be claimed
  EXPECT_EQ(d["isWait"], "T") << "nobody enters while the store is gone";
  EXPECT_EQ(d["waitCnt"], "2") << "the place last answered, not the place it joined at";
  EXPECT_EQ(d["waitMyCnt"], "3");
  EXPECT_EQ(d["waitQueueSize"], "2") << "the queue last answered, not 0";
  // A caller this node has never answered: no place of its own, the room's last known queue.
  auto z = Closed("z");
  EXPECT_EQ(z["isWait"], "T");
  EXPECT_EQ(z["waitCnt"], "0");
  EXPECT_EQ(z["waitQueueSize"], std::to_string(store_->Find("closed")->Figures().queue_size));
  EXPECT_NE(z["waitQueueSize"], "0");

  failing_->failing = false;
  d = Closed("d");
  EXPECT_EQ(d["isWait"], "F") << "the store is back: d claims the place it kept";
  EXPECT_EQ(d["waitMyCnt"], "3");
}

TEST_F(TracerStoreFailureTest, CheckOutOnAStoreFailureAnswersEInEveryRoom) {
  EXPECT_EQ(Closed("a")["isWait"], "F");
  EXPECT_EQ(Closed("w")["isWait"], "T");
  EXPECT_EQ(Open("a")["isWait"], "F");
  failing_->failing = true;
  // The check-out did not happen: E says so. T would put a leaving user back on the waiting
  // screen; F would claim a session ended that still holds its slot.
  auto closed = Closed("a", "outQueue.do");
  EXPECT_EQ(closed["isWait"], "E");
  EXPECT_EQ(closed["waitCnt"], "0");
  EXPECT_EQ(Open("a", "outputQueue.do")["isWait"], "E");
  EXPECT_EQ(store_->Find("closed")->Figures().active, 1) << "the session still holds its slot";
  // A waiting caller's place is given back through the store: not done either, E says so.
  EXPECT_EQ(Closed("w", "outQueue.do")["isWait"], "E");
  EXPECT_EQ(store_->Find("closed")->Figures().queue_size, 1u) << "its place is still in line";
  // inputQueue.do: the open room lets its newcomer through (E), the closed one keeps it waiting.
  EXPECT_EQ(Open("n")["isWait"], "E");
  EXPECT_EQ(Closed("n")["isWait"], "T");

  failing_->failing = false;
  EXPECT_EQ(Closed("a", "outQueue.do")["isWait"], "F");
  EXPECT_EQ(store_->Find("closed")->Figures().active, 0) << "checked out once the store is back";
  EXPECT_EQ(Closed("w", "outQueue.do")["isWait"], "F");
  EXPECT_EQ(store_->Find("closed")->Figures().queue_size, 0u) << "and the place given back";
}

}  // namespace
}  // namespace vwr::tracer
