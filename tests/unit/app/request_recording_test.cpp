#include "app/request_recording.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

#include "analytics/recorder.hpp"
#include "api/public_api.hpp"
#include "guard/abuse_guard.hpp"
#include "store/embedded_store.hpp"
#include "token/es256.hpp"

namespace vwr::app {
namespace {

using analytics::Dimension;
using std::chrono::seconds;

// The native API as a node serves it, its answers recorded in the traffic analysis.
class RequestRecordingTest : public ::testing::Test {
 protected:
  RequestRecordingTest()
      : store_({{"sale", Policy()}}, clock_),
        rooms_(store_),
        tickets_(key_),
        ring_(clock_, seconds(600)),
        tokens_(ring_, clock_),
        guard_(clock_),
        recording_(recorder_) {
    spdlog::set_level(spdlog::level::warn);
    ring_.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
    guard::GuardSettings settings;
    settings.mode = guard::GuardMode::kEnforce;
    settings.limit_per_ip = 1000;
    settings.limit_per_identity = 1000;
    settings.joins_per_ip = 0;
    guard_.Configure({{"sale", settings}});
    guard_.Add("sale", guard::GuardList::kDeny,
               guard::GuardEntry{.is_ip = true, .value = "198.51.100.66", .source = "admin"});
    metrics_.SetObserver(&recording_);
    api::PublicApiOptions options;
    options.guard = &guard_;
    api_ = std::make_unique<api::PublicApi>(rooms_, tickets_, tokens_, key_, clock_, metrics_,
                                            options);
  }

  static core::Policy Policy() {
    core::Policy p;
    p.max_active = 1;  // the first join takes it: the next ones wait
    return p;
  }

  http::Response Send(http::verb verb, const std::string& target, const std::string& from,
                      const std::string& body = "", const std::string& ticket = "") {
    http::Request req{verb, target, 11};
    req.set(http::field::host, "shop.example.com");
    req.set(http::field::user_agent, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120");
    if (!ticket.empty()) req.set("X-VWR-Ticket", ticket);
    req.body() = body;
    req.prepare_payload();
    return api_->Handle(req, {boost::asio::ip::make_address(from)});
  }

  analytics::Recorder::Collected Collect() {
    std::vector<analytics::Recorder::Collected> out;
    recorder_.Collect(out);
    for (auto& c : out) {
      if (c.room == "sale") return std::move(c);
    }
    ADD_FAILURE() << "the room was not collected";
    return std::move(out.at(0));
  }

  util::FakeClock clock_;
  token::SecretKey key_{{1, 2, 3}};
  store::EmbeddedStore store_;
  http::RoomDirectory rooms_;
  token::TicketCodec tickets_;
  token::KeyRing ring_;
  token::AdmissionTokenSigner tokens_;
  guard::AbuseGuard guard_;
  analytics::Recorder recorder_;
  RequestRecording recording_;
  http::ApiMetrics metrics_;
  std::unique_ptr<api::PublicApi> api_;
};

TEST_F(RequestRecordingTest, EveryAnswerOfARoomIsCountedWithItsVisitor) {
  // Three joins from one page, one from another; the second join waits and polls 16 times.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send(http::verb::post, "/api/v1/rooms/sale/join", "203.0.113.7",
                   R"({"pageUrl":"https://shop.example.com/sale","userId":"alice"})")
                  .result_int(),
              200u);
  }
  const std::string waiting = Send(http::verb::post, "/api/v1/rooms/sale/join", "192.0.2.1",
                                   R"({"pageUrl":"https://shop.example.com/other"})")
                                  .body();
  const std::size_t at = waiting.find(R"("ticket":")") + 10;
  const std::string ticket = waiting.substr(at, waiting.find('"', at) - at);
  for (int i = 0; i < 16; ++i) {
    ASSERT_EQ(
        Send(http::verb::get, "/api/v1/rooms/sale/status", "192.0.2.1", "", ticket).result_int(),
        200u);
  }
  // Refused by the guard (the deny list), a bad body, an unknown room, a file.
  EXPECT_EQ(
      Send(http::verb::get, "/api/v1/rooms/sale/status", "198.51.100.66", "", ticket).result_int(),
      429u);
  EXPECT_EQ(Send(http::verb::post, "/api/v1/rooms/sale/join", "192.0.2.1", "[1]").result_int(),
            400u);
  EXPECT_EQ(Send(http::verb::get, "/api/v1/rooms/nope/status", "192.0.2.1").result_int(), 404u);
  EXPECT_EQ(Send(http::verb::get, "/.well-known/jwks.json", "192.0.2.1").result_int(), 200u);

  const analytics::Recorder::Collected c = Collect();
  namespace f = analytics::field;
  EXPECT_EQ(c.frame[f::kRequests], 4u + 16u + 1u + 1u) << "no room's requests are not counted";
  EXPECT_EQ(c.frame[f::kRequestsJoin], 5u);
  EXPECT_EQ(c.frame[f::kRequestsStatus], 17u);
  EXPECT_EQ(c.frame[f::kBlocked], 1u);
  EXPECT_EQ(c.frame[f::kClientError], 1u);
  EXPECT_EQ(c.frame[f::kSuccess], 20u);
  // Polls go into the breakdowns one in 8, with weight 8; joins always.
  const std::vector<analytics::TopEntry> pages =
      c.tops[static_cast<std::size_t>(Dimension::kPageUrl)].Top(5);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].key, "https://shop.example.com/sale");
  EXPECT_EQ(pages[0].count, 3u);
  EXPECT_EQ(pages[1].key, "https://shop.example.com/other");
  const std::vector<analytics::TopEntry> ips =
      c.tops[static_cast<std::size_t>(Dimension::kIp)].Top(5);
  ASSERT_FALSE(ips.empty());
  EXPECT_EQ(ips[0].key, "192.0.2.1");
  EXPECT_EQ(ips[0].count, 1u + 16u + 1u) << "the join, 2 sampled polls of weight 8, the bad join";
  const std::vector<analytics::TopEntry> users =
      c.tops[static_cast<std::size_t>(Dimension::kUser)].Top(5);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].key, "alice");
  EXPECT_EQ(users[0].count, 3u);
  EXPECT_EQ(c.tops[static_cast<std::size_t>(Dimension::kHost)].Top(1)[0].key, "shop.example.com");
  EXPECT_GT(c.frame[f::kUaBrowser], 0u);
}

TEST(RequestRecording, EndpointsMapToTheAnalysisOnes) {
  EXPECT_EQ(RequestRecording::EndpointOf(http::Endpoint::kStatus), analytics::Endpoint::kStatus);
  EXPECT_EQ(RequestRecording::EndpointOf(http::Endpoint::kTracerInput),
            analytics::Endpoint::kTracerInput);
  EXPECT_EQ(RequestRecording::EndpointOf(http::Endpoint::kOther), analytics::Endpoint::kPages);
  EXPECT_EQ(RequestRecording::EndpointOf(http::Endpoint::kRoomInfo), analytics::Endpoint::kOther);
}

}  // namespace
}  // namespace vwr::app
