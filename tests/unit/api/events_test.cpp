// A ticket's event stream (GET /api/v1/rooms/{room}/events) on a fake clock: the pacing of its
// events, the checks at opening (as for a status poll), positions that never grow, the
// admission at once, the end of a place given back, and a block that holds for streams too.
// Also the heartbeat's X-VWR-Session-Ends-At (the cap on time inside, as the policy says now).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "api/event_pacer.hpp"
#include "api/public_api.hpp"
#include "guard/guard.hpp"
#include "support/api_fixture.hpp"

namespace vwr::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- EventPacer ----

TEST(EventPacer, SendsTheFirstStandingThenOnlyChangesAtMostOncePerGap) {
  util::FakeClock clock;
  const util::TimePoint t0 = clock.Now();
  EventPacer pacer(seconds(1), seconds(15), t0);
  const EventPacer::Standing fifth{.position = 5, .eta_seconds = 10};
  ASSERT_TRUE(pacer.ShouldSend(fifth, t0));
  pacer.Sent(fifth, t0);
  EXPECT_FALSE(pacer.ShouldSend(fifth, t0 + seconds(5))) << "nothing changed";
  const EventPacer::Standing fourth{.position = 4, .eta_seconds = 8};
  EXPECT_FALSE(pacer.ShouldSend(fourth, t0 + milliseconds(999))) << "within the gap";
  EXPECT_TRUE(pacer.ShouldSend(fourth, t0 + seconds(1)));
  // The estimate alone changing is news too, and so is its range.
  pacer.Sent(fourth, t0 + seconds(1));
  EXPECT_TRUE(pacer.ShouldSend({.position = 4, .eta_seconds = 9}, t0 + seconds(2)));
  EXPECT_TRUE(pacer.ShouldSend(
      {.position = 4, .eta_seconds = 8, .eta_low_seconds = 6, .eta_high_seconds = 12},
      t0 + seconds(2)));
}

TEST(EventPacer, AfterForgetTheSameStandingGoesOutAgainAtOnce) {
  util::FakeClock clock;
  const util::TimePoint t0 = clock.Now();
  EventPacer pacer(seconds(1), seconds(15), t0);
  const EventPacer::Standing second{.position = 2, .eta_seconds = 4};
  pacer.Sent(second, t0);
  pacer.Forget();  // the room closed, and the client was told so
  EXPECT_TRUE(pacer.ShouldSend(second, t0 + milliseconds(250)));
}

TEST(EventPacer, AKeepAliveIsDueAfterSilenceOnly) {
  util::FakeClock clock;
  const util::TimePoint t0 = clock.Now();
  EventPacer pacer(seconds(1), seconds(15), t0);
  EXPECT_FALSE(pacer.KeepAliveDue(t0 + seconds(14)));
  EXPECT_TRUE(pacer.KeepAliveDue(t0 + seconds(15)));
  pacer.Sent({.position = 3}, t0 + seconds(15));
  EXPECT_FALSE(pacer.KeepAliveDue(t0 + seconds(29)));
  pacer.Wrote(t0 + seconds(29));
  EXPECT_FALSE(pacer.KeepAliveDue(t0 + seconds(43)));
  EXPECT_TRUE(pacer.KeepAliveDue(t0 + seconds(44)));
}

// ---- the endpoint ----

// The server's side of a stream, as the handler sees it: keeps the source it is given, up to
// `room_for` of them.
class KeptStreams final : public http::StreamOpener {
 public:
  bool Open(std::shared_ptr<http::StreamSource> source, milliseconds period) override {
    if (sources.size() >= room_for) return false;
    sources.push_back(std::move(source));
    periods.push_back(period);
    return true;
  }
  std::size_t room_for = 1;
  std::vector<std::shared_ptr<http::StreamSource>> sources;
  std::vector<milliseconds> periods;
};

// A guard whose verdict on an address is set by the test.
class SwitchedGuard final : public guard::Guard {
 public:
  guard::GuardVerdict Check(const guard::GuardRequest& request) override {
    checked.push_back(std::string(request.identity));
    return blocked ? guard::GuardVerdict{.action = guard::GuardAction::kBlock,
                                         .retry_after = seconds(60),
                                         .reason = "temporary_block"}
                   : guard::GuardVerdict{};
  }
  bool IsBlocked(std::string_view, const boost::asio::ip::address&) override { return blocked; }
  bool blocked = false;
  std::vector<std::string> checked;
};

struct Event {
  std::string name;
  boost::json::object data;
};

// What one pull of a stream gave: its events, whether comments came, and whether it goes on.
struct Pull {
  std::vector<Event> events;
  std::string text;
  bool more = true;
};

class EventsTest : public ::vwr::testing::EmbeddedApiFixture {
 protected:
  EventsTest() {
    MakeRooms({"a", "b"}, OneAtATime());
    PublicApiOptions options;
    options.guard = &guard_;
    api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_,
                                       std::move(options));
    connection_.streams = &streams_;
  }

  boost::json::object Join(std::string room = "a") {
    http::Response res = Send(*api_, http::verb::post, "/api/v1/rooms/" + room + "/join");
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return Json(res);
  }

  http::Response Open(const std::string& target, const testing::Headers& headers = {}) {
    return Send(*api_, http::verb::get, target, "", headers, connection_);
  }

  http::Response OpenFor(const std::string& ticket, const std::string& room = "a") {
    return Open("/api/v1/rooms/" + room + "/events", {{"X-VWR-Ticket", ticket}});
  }

  // One pull of the latest stream, as the server makes every period.
  Pull Next() {
    Pull pull;
    pull.more = streams_.sources.back()->Next(pull.text);
    std::size_t at = 0;
    while (at < pull.text.size()) {
      const std::size_t end = pull.text.find("\n\n", at);
      EXPECT_NE(end, std::string::npos) << "every message ends with a blank line";
      if (end == std::string::npos) break;
      const std::string message = pull.text.substr(at, end - at);
      at = end + 2;
      if (!message.starts_with("event: ")) continue;
      const std::size_t line = message.find('\n');
      Event e{message.substr(7, line - 7), {}};
      const std::string data = message.substr(line + 1);
      EXPECT_TRUE(data.starts_with("data: ")) << data;
      EXPECT_EQ(data.find('\n'), std::string::npos) << "one line of JSON";
      e.data = boost::json::parse(data.substr(6)).as_object();
      pull.events.push_back(std::move(e));
    }
    return pull;
  }

  // Pulls every period for `d`, ticking the store as the node does; every event that came,
  // stopping at the stream's end.
  std::vector<Event> Run(util::Duration d, bool* ended = nullptr) {
    std::vector<Event> all;
    for (util::Duration t{0}; t < d; t += milliseconds(250)) {
      Tick(milliseconds(250));
      Pull pull = Next();
      for (Event& e : pull.events) all.push_back(std::move(e));
      if (!pull.more) {
        if (ended != nullptr) *ended = true;
        return all;
      }
    }
    if (ended != nullptr) *ended = false;
    return all;
  }

  void LeaveSession(const boost::json::object& admitted) {
    http::Response res =
        Send(*api_, http::verb::post, "/api/v1/rooms/a/leave", "",
             {{"Authorization", "Bearer " + std::string(admitted.at("token").as_string())}});
    ASSERT_EQ(res.result(), http::status::no_content) << res.body();
  }

  SwitchedGuard guard_;
  KeptStreams streams_;
  http::ConnectionInfo connection_;
  std::unique_ptr<PublicApi> api_;
};

TEST_F(EventsTest, TheHeadSaysEventStreamUnbufferedAndTheFirstPullGivesRetryAndPosition) {
  Join();
  const std::string ticket(Join()["ticket"].as_string());
  http::Response head = OpenFor(ticket);
  ASSERT_EQ(head.result(), http::status::ok) << head.body();
  EXPECT_EQ(head[http::field::content_type], "text/event-stream; charset=utf-8");
  EXPECT_EQ(head[http::field::cache_control], "no-store");
  EXPECT_EQ(head["X-Accel-Buffering"], "no");
  EXPECT_TRUE(head.body().empty());
  ASSERT_EQ(streams_.sources.size(), 1u);
  EXPECT_EQ(streams_.periods.front(), PublicApi::kEventsPeriod);
  ASSERT_FALSE(guard_.checked.empty());
  EXPECT_EQ(guard_.checked.back(), ticket) << "counted as the ticket's";

  Pull first = Next();
  EXPECT_TRUE(first.more);
  EXPECT_TRUE(first.text.starts_with("retry: 3000\n\n")) << first.text;
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].name, "position");
  EXPECT_EQ(first.events[0].data["status"], "waiting");
  EXPECT_EQ(first.events[0].data["position"], 1);
  EXPECT_EQ(first.events[0].data["ticket"].as_string(), ticket);
  EXPECT_TRUE(first.events[0].data["etaRange"].is_array());
  // Nothing changed: nothing more, and no second retry hint.
  EXPECT_EQ(Next().text, "");
}

TEST_F(EventsTest, TheTicketMayComeInTheQueryForEventSource) {
  Join();
  const std::string ticket(Join()["ticket"].as_string());
  std::string encoded;
  for (char c : ticket) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      encoded += c;
    } else {
      encoded += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  http::Response head = Open("/api/v1/rooms/a/events?ticket=" + encoded);
  ASSERT_EQ(head.result(), http::status::ok) << head.body();
  EXPECT_EQ(Next().events.at(0).data["ticket"].as_string(), ticket);
}

TEST_F(EventsTest, PositionsNeverGrowAndTheAdmissionComesAtOnce) {
  auto first = Join();  // admitted: the only slot
  std::vector<boost::json::object> line;
  for (int i = 0; i < 4; ++i) line.push_back(Join());
  const std::string last(line.back()["ticket"].as_string());
  ASSERT_EQ(line.back()["position"], 4);
  ASSERT_EQ(OpenFor(last).result(), http::status::ok);
  std::vector<Event> events = Run(seconds(1));

  // The people ahead go in one after another: each claims (a poll), stays a moment, leaves.
  LeaveSession(first);
  for (int i = 0; i < 3; ++i) {
    Tick(milliseconds(100));
    http::Response claimed = Send(
        *api_, http::verb::get, "/api/v1/rooms/a/status", "",
        {{"X-VWR-Ticket", std::string(line[static_cast<std::size_t>(i)]["ticket"].as_string())}});
    auto answer = Json(claimed);
    ASSERT_EQ(answer["status"], "admitted") << claimed.body();
    for (Event& e : Run(seconds(2))) events.push_back(std::move(e));
    LeaveSession(answer);
  }
  bool ended = false;
  // Its turn: called at the next tick, claimed by the stream, told within a period or two.
  const util::TimePoint called = clock_.Now();
  for (Event& e : Run(seconds(2), &ended)) events.push_back(std::move(e));
  ASSERT_TRUE(ended) << "the stream ends with the admission";
  EXPECT_LE(clock_.Now() - called, milliseconds(500));

  ASSERT_GE(events.size(), 5u);
  std::int64_t previous = 5;
  std::vector<std::int64_t> positions;  // each position once (an estimate may change alone)
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i].name, "position");
    const std::int64_t position = events[i].data["position"].as_int64();
    EXPECT_LE(position, previous) << "positions never grow";
    if (position != previous) positions.push_back(position);
    previous = position;
  }
  EXPECT_EQ(positions, (std::vector<std::int64_t>{4, 3, 2, 1}));
  const Event& admitted = events.back();
  EXPECT_EQ(admitted.name, "admitted");
  EXPECT_EQ(admitted.data.at("status"), "admitted");
  EXPECT_EQ(admitted.data.at("ticket").as_string(), last);
  const auto verified = tokens_.Verify(std::string(admitted.data.at("token").as_string()));
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->aud, "a");
  EXPECT_TRUE(admitted.data.contains("sessionEndsAt"));
  // The session is real: the status poll the page makes for its cookie finds it.
  http::Response again =
      Send(*api_, http::verb::get, "/api/v1/rooms/a/status", "", {{"X-VWR-Ticket", last}});
  EXPECT_EQ(Json(again)["status"], "admitted");
  EXPECT_EQ(store_->Find("a")->Figures().active, 1);
}

TEST_F(EventsTest, PositionEventsComeAtMostOnceASecond) {
  auto first = Join();
  std::vector<std::string> tickets;
  for (int i = 0; i < 6; ++i) tickets.push_back(std::string(Join()["ticket"].as_string()));
  ASSERT_EQ(OpenFor(tickets.back()).result(), http::status::ok);
  ASSERT_EQ(Next().events.size(), 1u);
  // Two places given back at once, 100 ms apart: one event for both, a second later.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Send(*api_, http::verb::post, "/api/v1/rooms/a/leave", "",
                   {{"X-VWR-Ticket", tickets[static_cast<std::size_t>(i)]}})
                  .result(),
              http::status::no_content);
  }
  std::vector<Event> events = Run(milliseconds(500));
  EXPECT_TRUE(events.empty()) << "within a second of the last";
  events = Run(milliseconds(750));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["queueSize"], 4);
}

TEST_F(EventsTest, AClosedRoomIsToldOnceAndItsReopeningAtOnce) {
  Join();
  const std::string ticket(Join()["ticket"].as_string());
  ASSERT_EQ(OpenFor(ticket).result(), http::status::ok);
  Pull first = Next();
  ASSERT_EQ(first.events.at(0).data["status"], "waiting");
  core::Policy p = OneAtATime();
  const auto set_mode = [&](core::Mode mode) {
    p.mode = mode;
    store_->Find("a")->SetPolicy(p, [](boost::system::result<void>) {});
  };
  const auto pull = [&] {
    clock_.Advance(milliseconds(250));  // no tick: the line and its estimate stay as they are
    return Next();
  };
  set_mode(core::Mode::kReject);
  Pull closed = pull();
  ASSERT_EQ(closed.events.size(), 1u);
  EXPECT_EQ(closed.events[0].data["status"], "rejected");
  EXPECT_TRUE(pull().events.empty()) << "told once";
  set_mode(core::Mode::kFifo);
  Pull reopened = pull();
  ASSERT_EQ(reopened.events.size(), 1u) << "reopened: told at once, though its place is the same";
  EXPECT_EQ(reopened.events[0].data["status"], "waiting");
  EXPECT_EQ(reopened.events[0].data["position"], first.events[0].data["position"]);
}

TEST_F(EventsTest, AKeepAliveCommentComesWhenNothingChanges) {
  Join();
  ASSERT_EQ(OpenFor(std::string(Join()["ticket"].as_string())).result(), http::status::ok);
  Next();
  std::string comments;
  for (int i = 0; i < 61; ++i) {
    clock_.Advance(milliseconds(250));
    Pull pull = Next();
    EXPECT_TRUE(pull.events.empty());
    comments += pull.text;
  }
  EXPECT_EQ(comments, ": keep-alive\n\n") << "one after 15 s of silence";
}

TEST_F(EventsTest, AForgedMissingOrOtherRoomsTicketOpensNoStream) {
  Join("b");
  const std::string of_b(Join("b")["ticket"].as_string());
  http::Response res = OpenFor(of_b, "a");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(Json(res)["error"].as_object()["code"], "invalid_ticket");

  std::string forged = of_b;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(OpenFor(forged, "b").result(), http::status::unauthorized);

  res = Open("/api/v1/rooms/a/events");
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(Open("/api/v1/rooms/nope/events", {{"X-VWR-Ticket", of_b}}).result(),
            http::status::not_found);
  EXPECT_TRUE(streams_.sources.empty()) << "nothing was opened";
  // Only GET (and HEAD) read a stream.
  res = Send(*api_, http::verb::post, "/api/v1/rooms/b/events", "", {{"X-VWR-Ticket", of_b}},
             connection_);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
}

TEST_F(EventsTest, AFullListenerAnswers503AndTheClientPolls) {
  Join();
  const std::string ticket(Join()["ticket"].as_string());
  streams_.room_for = 1;
  ASSERT_EQ(OpenFor(ticket).result(), http::status::ok);
  http::Response refused = OpenFor(ticket);
  EXPECT_EQ(refused.result(), http::status::service_unavailable);
  EXPECT_EQ(Json(refused)["error"].as_object()["code"], "unavailable");
  EXPECT_NE(std::string(Json(refused)["error"].as_object()["message"].as_string())
                .find("server.limits.max_event_streams"),
            std::string::npos);
  EXPECT_EQ(refused[http::field::retry_after], "30");
  // A connection that cannot stream at all (no opener) is refused the same way.
  http::Response none =
      Send(*api_, http::verb::get, "/api/v1/rooms/a/events", "", {{"X-VWR-Ticket", ticket}});
  EXPECT_EQ(none.result(), http::status::service_unavailable);
}

TEST_F(EventsTest, AGuardBlockRefusesTheStreamAndEndsOneOpenAlready) {
  Join();
  const std::string ticket(Join()["ticket"].as_string());
  guard_.blocked = true;
  EXPECT_EQ(OpenFor(ticket).result(), http::status::too_many_requests);
  EXPECT_TRUE(streams_.sources.empty());

  guard_.blocked = false;
  ASSERT_EQ(OpenFor(ticket).result(), http::status::ok);
  ASSERT_EQ(Next().events.size(), 1u);
  guard_.blocked = true;  // an operator blocks the address while it listens
  bool ended = false;
  std::vector<Event> events = Run(seconds(2), &ended);
  EXPECT_TRUE(ended);
  EXPECT_TRUE(events.empty());
}

TEST_F(EventsTest, ABlockedAddressIsNotAdmittedThroughItsStream) {
  auto first = Join();
  const std::string ticket(Join()["ticket"].as_string());
  ASSERT_EQ(OpenFor(ticket).result(), http::status::ok);
  Next();
  LeaveSession(first);
  guard_.blocked = true;    // an operator blocks the address
  Tick(milliseconds(100));  // called now; the stream's next pull would claim it
  Pull pull = Next();
  EXPECT_FALSE(pull.more);
  EXPECT_TRUE(pull.events.empty());
  EXPECT_EQ(store_->Find("a")->Figures().active, 0) << "no session was made";
}

TEST_F(EventsTest, APlaceGivenBackEndsItsStream) {
  Join();
  const std::string ticket(Join()["ticket"].as_string());
  ASSERT_EQ(OpenFor(ticket).result(), http::status::ok);
  ASSERT_EQ(Next().events.size(), 1u);
  ASSERT_EQ(Send(*api_, http::verb::post, "/api/v1/rooms/a/leave", "", {{"X-VWR-Ticket", ticket}})
                .result(),
            http::status::no_content);
  Pull pull = Next();
  EXPECT_FALSE(pull.more);
  ASSERT_EQ(pull.events.size(), 1u);
  EXPECT_EQ(pull.events[0].name, "expired");
  EXPECT_EQ(pull.events[0].data["status"], "expired");
}

TEST_F(EventsTest, AStreamThatCountsAsPollsKeepsItsTicketsRoomCounting) {
  Join();
  ASSERT_EQ(OpenFor(std::string(Join()["ticket"].as_string())).result(), http::status::ok);
  const std::uint64_t before = rooms_->Find("a")->traffic.polls.Value();
  Next();
  EXPECT_EQ(rooms_->Find("a")->traffic.polls.Value(), before + 1) << "an event is a poll";
}

// ---- the heartbeat's session end ----

TEST_F(EventsTest, AHeartbeatSaysWhenTheSessionEndsUnderThePolicyNow) {
  core::Policy p = OneAtATime();
  p.session_max = seconds(600);
  api_.reset();
  MakeRooms({"a"}, p);
  api_ = std::make_unique<PublicApi>(*rooms_, tickets_, tokens_, key_, clock_, metrics_);
  auto admitted = Join();
  const std::int64_t ends = admitted["sessionEndsAt"].as_int64();
  EXPECT_EQ(admitted["sessionMaxSeconds"], 600);
  const auto beat = [&] {
    return Send(*api_, http::verb::post, "/api/v1/rooms/a/heartbeat", "",
                {{"Authorization", "Bearer " + std::string(admitted["token"].as_string())}});
  };
  Tick(seconds(5));
  http::Response res = beat();
  ASSERT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res["X-VWR-Session-Ends-At"], std::to_string(ends));

  // An operator shortens the cap: the next heartbeat tells the new end.
  p.session_max = seconds(300);
  bool done = false;
  store_->Find("a")->SetPolicy(p, [&](boost::system::result<void> r) { done = r.has_value(); });
  ASSERT_TRUE(done);
  res = beat();
  ASSERT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res["X-VWR-Session-Ends-At"], std::to_string(ends - 300));

  // No cap: no header.
  p.session_max = seconds(0);
  store_->Find("a")->SetPolicy(p, [](boost::system::result<void>) {});
  res = beat();
  ASSERT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res.find("X-VWR-Session-Ends-At"), res.end());
}

}  // namespace
}  // namespace vwr::api
