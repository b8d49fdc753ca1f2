#include "http/request_context.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace vwr::http {
namespace {

// What the server holds for a request (Begin keeps a reference to it): a peer of no address.
const ConnectionInfo kNoConnection{};

using std::chrono::milliseconds;

// Captures what the default logger writes while the test runs.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> Lines() {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A guard that remembers what it was asked and answers what the test sets.
class RecordingGuard final : public guard::Guard {
 public:
  guard::GuardVerdict Check(const guard::GuardRequest& request) override {
    ++checks;
    room = request.room;
    client_ip = request.client_ip;
    identity = request.identity;
    verified = request.identity_verified;
    kind = request.kind;
    return verdict;
  }
  bool IsBlocked(std::string_view, const boost::asio::ip::address&) override { return false; }

  guard::GuardVerdict verdict;
  int checks = 0;
  std::string room;
  boost::asio::ip::address client_ip;
  std::string identity;
  bool verified = false;
  guard::GuardRequestKind kind = guard::GuardRequestKind::kOther;
};

// Every answer a test's context hands over.
struct Answers {
  std::vector<Response> responses;
  Respond Collect() {
    return [this](Response response) { responses.push_back(std::move(response)); };
  }
};

std::string Rendered(const ApiMetrics& metrics) {
  std::string out;
  metrics.Render(out);
  return out;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(RequestContext, FinishCountsTheAnswerOnceAndHandsItOverOnce) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics);
  Answers answers;
  const Request req{verb::get, "/api/v1/rooms/a/status", 11};
  const ConnectionInfo connection;
  RequestContext ctx = pipeline.Begin(req, connection, answers.Collect());
  ctx.set_endpoint(Endpoint::kStatus);
  EXPECT_FALSE(ctx.finished());
  clock.Advance(milliseconds(250));
  ctx.Json(status::ok, "{}");
  EXPECT_TRUE(ctx.finished());
  ctx.Error(ApiError::kInternal, "a bug: a second answer");  // dropped, and logged

  ASSERT_EQ(answers.responses.size(), 1u);
  EXPECT_EQ(answers.responses[0].result(), status::ok);
  const std::string text = Rendered(metrics);
  EXPECT_TRUE(Has(text, R"(vwr_http_requests_total{endpoint="status",code="200"} 1)")) << text;
  EXPECT_FALSE(Has(text, R"(code="500")")) << "the dropped answer is not counted";
  EXPECT_TRUE(Has(text, R"(vwr_http_request_duration_seconds_sum{endpoint="status"} 0.25)"))
      << "the latency runs from Begin to Finish on the handler's clock:\n"
      << text;
}

TEST(RequestContext, AnswersTakeTheRequestsVersionAndKeepAlive) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics);
  Answers answers;
  Request old{verb::get, "/", 10};  // HTTP/1.0 without keep-alive
  Request kept{verb::get, "/", 11};
  for (const Request* req : {&old, &kept}) {
    RequestContext ctx = pipeline.Begin(*req, kNoConnection, answers.Collect());
    EXPECT_EQ(ctx.version(), req->version());
    EXPECT_EQ(ctx.keep_alive(), req->keep_alive());
    const Response error = ctx.ErrorResponse(ApiError::kRoomNotFound, "no such room");
    EXPECT_EQ(error.result(), status::not_found);
    EXPECT_EQ(error.body(), R"({"error":{"code":"room_not_found","message":"no such room"}})");
    const Response empty = ctx.EmptyResponse(status::no_content);
    for (const Response* res : {&error, &empty}) {
      EXPECT_EQ(res->version(), req->version());
      EXPECT_EQ(res->keep_alive(), req->keep_alive());
    }
    ctx.Json(status::ok, R"({"ok":true})");
  }
  ASSERT_EQ(answers.responses.size(), 2u);
  EXPECT_EQ(answers.responses[0].version(), 10u);
  EXPECT_FALSE(answers.responses[0].keep_alive());
  EXPECT_EQ(answers.responses[1].version(), 11u);
  EXPECT_TRUE(answers.responses[1].keep_alive());
  EXPECT_EQ(answers.responses[1][field::content_type], "application/json");
  EXPECT_EQ(answers.responses[1][field::cache_control], "no-store");
}

TEST(RequestContext, TheClientAddressIsTheOneATrustedProxyForwardedFor) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics,
                           {.trusted_proxies = {*util::IpRange::Parse("10.0.0.0/8")}});
  Request req{verb::get, "/", 11};
  req.set("X-Forwarded-For", "203.0.113.7, 10.0.0.2");
  Answers answers;

  const ConnectionInfo proxy{boost::asio::ip::make_address("10.0.0.1")};
  RequestContext behind = pipeline.Begin(req, proxy, answers.Collect());
  EXPECT_EQ(behind.client_ip().to_string(), "203.0.113.7");
  behind.set_client_ip(boost::asio::ip::make_address("198.51.100.1"));
  EXPECT_EQ(behind.client_ip().to_string(), "198.51.100.1") << "a TRACER caller's own ip";

  const ConnectionInfo stranger{boost::asio::ip::make_address("192.0.2.9")};
  RequestContext direct = pipeline.Begin(req, stranger, answers.Collect());
  EXPECT_EQ(direct.client_ip().to_string(), "192.0.2.9") << "only a trusted proxy forwards";
}

TEST(RequestContext, TheGuardStepCountsWhatTheActionNamed) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RecordingGuard guard;
  RequestPipeline pipeline(
      clock, metrics, {.trusted_proxies = {*util::IpRange::Parse("10.0.0.1")}, .guard = &guard});
  Request req{verb::post, "/api/v1/rooms/sale/join", 11};
  req.set("X-Forwarded-For", "203.0.113.7");
  Answers answers;
  const ConnectionInfo proxy{boost::asio::ip::make_address("10.0.0.1")};
  RequestContext ctx = pipeline.Begin(req, proxy, answers.Collect());
  EXPECT_TRUE(ctx.guarded());

  const guard::GuardVerdict verdict =
      ctx.Guard("sale", "alice", /*verified=*/true, guard::GuardRequestKind::kJoin);
  EXPECT_EQ(verdict.action, guard::GuardAction::kPass);
  EXPECT_EQ(guard.checks, 1);
  EXPECT_EQ(guard.room, "sale");
  EXPECT_EQ(guard.client_ip.to_string(), "203.0.113.7") << "the client, not the proxy";
  EXPECT_EQ(guard.identity, "alice");
  EXPECT_TRUE(guard.verified);
  EXPECT_EQ(guard.kind, guard::GuardRequestKind::kJoin);

  guard.verdict = {guard::GuardAction::kBlock, std::chrono::seconds(42), "rate_limit"};
  EXPECT_EQ(ctx.Guard("sale", "", false, guard::GuardRequestKind::kOther).action,
            guard::GuardAction::kBlock);
  EXPECT_FALSE(guard.verified);
  EXPECT_EQ(guard.kind, guard::GuardRequestKind::kOther);
}

TEST(RequestContext, WithoutAGuardEveryRequestPasses) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics);
  const Request req{verb::get, "/", 11};
  Answers answers;
  RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
  EXPECT_FALSE(ctx.guarded());
  EXPECT_EQ(ctx.Guard("sale", "t", true, guard::GuardRequestKind::kOther).action,
            guard::GuardAction::kPass);
}

TEST(RequestContext, ABlockedRequestGets429WithRetryAfter) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics);
  const Request req{verb::get, "/", 11};
  Answers answers;
  RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());

  const Response limited =
      ctx.BlockedResponse({guard::GuardAction::kBlock, std::chrono::seconds(42), "rate_limit_ip"});
  EXPECT_EQ(limited.result(), status::too_many_requests);
  EXPECT_EQ(limited[field::retry_after], "42");
  EXPECT_NE(limited.body().find(R"("code":"blocked")"), std::string::npos);
  EXPECT_NE(limited.body().find("try again later"), std::string::npos);

  const Response denied =
      ctx.BlockedResponse({guard::GuardAction::kBlock, std::chrono::seconds(0), "deny"});
  EXPECT_EQ(denied[field::retry_after], "3600") << "a permanent block: come back in an hour";
  EXPECT_NE(denied.body().find("blocked in this room"), std::string::npos);
}

TEST(RequestContext, ErrorsAreLoggedAndAnEndpointSetApartHasItsOwnRate) {
  CapturedLog log;
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics,
                           {.trusted_proxies = {}, .guard = nullptr, .error_lines_per_second = 3});
  pipeline.SetErrorLinesPerSecond(Endpoint::kVerify, 1);
  const Request req{verb::get, "/api/v1/verify?room=a", 11};
  Answers answers;
  for (int i = 0; i < 5; ++i) {
    RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
    ctx.set_endpoint(Endpoint::kVerify);
    ctx.Error(ApiError::kInvalidToken, "not admitted");
  }
  for (int i = 0; i < 5; ++i) {
    RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
    ctx.set_endpoint(Endpoint::kStatus);
    ctx.Error(ApiError::kInvalidTicket, "forged");
  }
  RequestContext fine = pipeline.Begin(req, kNoConnection, answers.Collect());
  fine.Json(status::ok, "{}");

  const std::vector<std::string> lines = log.Lines();
  std::size_t verify_lines = 0;
  std::size_t status_lines = 0;
  for (const std::string& line : lines) {
    verify_lines += line.find("invalid_token") != std::string::npos;
    status_lines += line.find("invalid_ticket") != std::string::npos;
  }
  EXPECT_EQ(verify_lines, 1u) << "verify's own rate: 1 a second";
  EXPECT_EQ(status_lines, 3u) << "the others' rate, not used up by verify's";
  EXPECT_EQ(lines.size(), 4u) << "a 200 is not logged";
  EXPECT_EQ(answers.responses.size(), 11u);
}

TEST(RequestContext, AContinuationSharesTheContextOnce) {
  util::FakeClock clock;
  ApiMetrics metrics;
  RequestPipeline pipeline(clock, metrics);
  const Request req{verb::post, "/api/v1/rooms/a/join", 11};
  Answers answers;
  RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
  ctx.set_endpoint(Endpoint::kJoin);

  std::shared_ptr<RequestContext> shared = std::move(ctx).Share();
  EXPECT_TRUE(ctx.finished()) << "the moved-from context can answer nothing";  // NOLINT
  EXPECT_EQ(shared->endpoint(), Endpoint::kJoin);
  EXPECT_EQ(&shared->request(), &req);
  // A second wait on the store shares the same context, no copy.
  std::shared_ptr<RequestContext> again = std::move(*shared).Share();
  EXPECT_EQ(again.get(), shared.get());
  EXPECT_FALSE(again->finished());

  again->Json(status::ok, "{}");
  ASSERT_EQ(answers.responses.size(), 1u);
  EXPECT_TRUE(Has(Rendered(metrics), R"(vwr_http_requests_total{endpoint="join",code="200"} 1)"));
}

// What an observer of finished requests is told.
struct SeenRequest {
  std::string room;
  Endpoint endpoint = Endpoint::kOther;
  unsigned status = 0;
  bool blocked = false;
  bool tracer_poll = false;
  std::string page_url, user, host, user_agent;
  util::Duration latency{};
};

class SeeingObserver final : public RequestObserver {
 public:
  void Finished(RequestContext& ctx, unsigned status, util::Duration latency) noexcept override {
    const RequestContext::Visitor v = ctx.visitor();
    seen.push_back({std::string(ctx.room()), ctx.endpoint(), status, ctx.blocked(),
                    ctx.tracer_poll(), std::string(v.page_url), std::string(v.user),
                    std::string(v.host), std::string(v.user_agent), latency});
  }
  std::vector<SeenRequest> seen;
};

TEST(RequestContext, FinishTellsTheObserverWhatTheHandlerNoted) {
  util::FakeClock clock;
  ApiMetrics metrics;
  SeeingObserver observer;
  metrics.SetObserver(&observer);
  RecordingGuard guard;
  RequestPipeline pipeline(clock, metrics, {.trusted_proxies = {}, .guard = &guard});
  Request req{verb::post, "/api/v1/rooms/sale/join", 11};
  req.set(field::host, "shop.example.com");
  req.set(field::user_agent, "Mozilla/5.0 Chrome/120");
  Answers answers;
  {
    RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
    ctx.set_endpoint(Endpoint::kJoin);
    ctx.KeepVisitor("https://shop.example.com/sale", "alice");
    // The guard names the room; a continuation moves the context (what was kept moves along).
    ctx.Guard("sale", "", false, guard::GuardRequestKind::kJoin);
    std::shared_ptr<RequestContext> later = std::move(ctx).Share();
    clock.Advance(milliseconds(3));
    later->Json(status::ok, "{}");
  }
  {
    RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
    ctx.set_endpoint(Endpoint::kTracerInput);
    ctx.set_room("sale");
    ctx.set_tracer_poll(true);
    ctx.set_visitor({.page_url = "/p", .user = "bob", .host = "form-host", .user_agent = "App/1"});
    guard.verdict = {guard::GuardAction::kBlock, std::chrono::seconds(1), "rate_limit"};
    ASSERT_EQ(ctx.Guard("sale", "", false, guard::GuardRequestKind::kOther).action,
              guard::GuardAction::kBlock);
    ctx.Json(status::ok, "NE");  // TRACER answers a blocked caller 200 NE: still blocked
  }
  {
    RequestContext ctx = pipeline.Begin(req, kNoConnection, answers.Collect());
    ctx.Error(ApiError::kNotFound, "no such endpoint");  // no room: nobody's traffic
  }
  ASSERT_EQ(observer.seen.size(), 3u);
  const SeenRequest& join = observer.seen[0];
  EXPECT_EQ(join.room, "sale");
  EXPECT_EQ(join.endpoint, Endpoint::kJoin);
  EXPECT_EQ(join.status, 200u);
  EXPECT_FALSE(join.blocked);
  EXPECT_EQ(join.page_url, "https://shop.example.com/sale");
  EXPECT_EQ(join.user, "alice");
  EXPECT_EQ(join.host, "shop.example.com") << "the Host header when nothing else was noted";
  EXPECT_EQ(join.user_agent, "Mozilla/5.0 Chrome/120");
  EXPECT_EQ(join.latency, milliseconds(3));
  const SeenRequest& poll = observer.seen[1];
  EXPECT_TRUE(poll.blocked);
  EXPECT_TRUE(poll.tracer_poll);
  EXPECT_EQ(poll.host, "form-host");
  EXPECT_EQ(poll.user_agent, "App/1");
  EXPECT_EQ(poll.user, "bob");
  EXPECT_EQ(observer.seen[2].room, "");
  EXPECT_EQ(observer.seen[2].status, 404u);
}

}  // namespace
}  // namespace vwr::http
