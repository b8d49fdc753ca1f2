#include "admin/room_messages.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "admin/admin_api.hpp"
#include "store/embedded_store.hpp"

namespace vwr::admin {
namespace {

TEST(RoomMessages, AReplacementWinsUntilReset) {
  RoomMessages messages;
  messages.SetConfigured({{"a", "configured"}});
  EXPECT_EQ(messages.Get("a").text, "configured");
  EXPECT_FALSE(messages.Get("a").replaced);
  messages.Replace("a", "now");
  EXPECT_EQ(messages.Get("a").text, "now");
  EXPECT_TRUE(messages.Get("a").replaced);
  messages.SetConfigured({{"a", "reloaded"}});
  EXPECT_EQ(messages.Get("a").text, "now");
  messages.Replace("a", std::nullopt);
  EXPECT_EQ(messages.Get("a").text, "reloaded");
  messages.Replace("a", "");  // an empty replacement hides the configured line
  EXPECT_EQ(messages.Get("a").text, "");
  EXPECT_TRUE(messages.Get("a").replaced);
  EXPECT_EQ(messages.Get("nope").text, "");
}

class AdminMessageTest : public ::testing::Test {
 protected:
  AdminMessageTest()
      : store_({{"a", core::Policy{}}}, clock_),
        rooms_(store_),
        admin_(rooms_, store_, kToken, clock_, metrics_, &messages_) {
    messages_.SetConfigured({{"a", "from the file"}});
  }

  http::Response Call(http::verb method, std::string body = "", std::string room = "a",
                      std::string token = kToken) {
    http::Request req{method, "/admin/api/v1/rooms/" + room + "/message", 11};
    req.set(http::field::authorization, "Bearer " + token);
    req.body() = std::move(body);
    req.prepare_payload();
    return admin_.Handle(req, http::ConnectionInfo{});
  }

  static constexpr const char* kToken = "admin-token-0123456789";
  util::FakeClock clock_;
  store::EmbeddedStore store_;
  http::RoomDirectory rooms_;
  http::ApiMetrics metrics_;
  RoomMessages messages_;
  AdminApi admin_;
};

TEST_F(AdminMessageTest, GetPutDelete) {
  http::Response res = Call(http::verb::get);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(res.body()),
            boost::json::parse(R"({"room":"a","message":"from the file","replaced":false})"));
  res = Call(http::verb::put, R"({"message":"오후 2시 재개 <b>"})");
  EXPECT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(boost::json::parse(res.body()).at("message"), "오후 2시 재개 <b>");
  EXPECT_EQ(messages_.Get("a").text, "오후 2시 재개 <b>");
  res = Call(http::verb::delete_);
  EXPECT_EQ(boost::json::parse(res.body()).at("message"), "from the file");
  Call(http::verb::put, R"({"message":"x"})");
  res = Call(http::verb::put, R"({"message":null})");
  EXPECT_EQ(boost::json::parse(res.body()).at("replaced"), false);
}

TEST_F(AdminMessageTest, BadChangesAreRefusedAndChangeNothing) {
  for (const char* body : {"", "[]", "{}", R"({"message":1})", R"({"message":"a","x":1})",
                           R"({"message":"two\nlines"})"}) {
    const http::Response res = Call(http::verb::put, body);
    EXPECT_EQ(res.result(), http::status::bad_request) << body;
  }
  // Every control character, not only a line break: a carriage return or a terminal escape
  // would reach the waiting page's text and the audit trail just as well.
  for (const char* body : {R"({"message":"back\rsoon"})", R"({"message":"tab\there"})",
                           R"({"message":"\u001b[2Jcleared"})", R"({"message":"nul\u0000x"})",
                           R"({"message":"del\u007f"})"}) {
    const http::Response res = Call(http::verb::put, body);
    EXPECT_EQ(res.result(), http::status::bad_request) << body;
    EXPECT_NE(res.body().find("control characters"), std::string::npos) << res.body();
  }
  EXPECT_EQ(Call(http::verb::put, R"({"message":")" + std::string(1001, 'x') + R"("})").result(),
            http::status::bad_request);
  EXPECT_EQ(messages_.Get("a").text, "from the file");
  EXPECT_EQ(Call(http::verb::post, "{}").result(), http::status::method_not_allowed);
  EXPECT_EQ(Call(http::verb::get, "", "nope").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "", "a", "wrong-token-0123456789").result(),
            http::status::unauthorized);
}

}  // namespace
}  // namespace vwr::admin
