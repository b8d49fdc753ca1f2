// What the server does with an exception a handler lets out (a bug: errors on the request path
// are values): the request gets 500 and its connection closes, the exception is counted per
// listener in what /metrics shows, and every other connection is served on.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

#include "http/errors.hpp"
#include "server/http_server.hpp"
#include "unit/server/raw_client.hpp"

namespace vwr::server {
namespace {

// Throws on /throw, answers and then throws on /answer-then-throw, throws something that is no
// std::exception on /throw-int, and answers 200 otherwise.
class Throwing final : public http::Handler {
 public:
  void Serve(const http::Request& request, const http::ConnectionInfo&,
             http::Respond respond) override {
    if (request.target() == "/throw") throw std::runtime_error("a bug");
    if (request.target() == "/throw-int") throw 42;
    respond(http::MakeJson(http::status::ok, "{}", request.version(), request.keep_alive()));
    if (request.target() == "/answer-then-throw") throw std::logic_error("a late bug");
  }
};

std::string Get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

std::string Exceptions(const http::ApiMetrics& metrics) {
  std::string text;
  metrics.Render(text);
  const std::size_t at = text.find("vwr_http_handler_exceptions_total{");
  return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
}

TEST(HandlerExceptions, AreAnswered500CountedPerListenerAndTheServerServesOn) {
  spdlog::set_level(spdlog::level::off);  // the failures' log lines are expected
  util::FakeClock clock;
  http::ApiMetrics metrics;
  Throwing handler;
  HttpServer server(1, clock);
  ListenerOptions options;
  options.name = "public";
  options.endpoint = tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
  options.handler = &handler;
  options.metrics = &metrics;
  const auto bound = server.AddListener(options);
  ASSERT_TRUE(bound) << bound.error().message();
  server.Start();
  EXPECT_EQ(Exceptions(metrics), R"(vwr_http_handler_exceptions_total{listener="public"} 0)")
      << "shown from the start, so that an alert can be written before the first one";

  testing::RawClient thrown(bound->port());
  ASSERT_EQ(thrown.RoundTrip(Get("/throw")), 500u);
  EXPECT_NE(thrown.head().find("Connection: close"), std::string_view::npos);
  EXPECT_NE(thrown.body().find(R"("code":"internal")"), std::string_view::npos);
  EXPECT_TRUE(thrown.Closed());
  EXPECT_EQ(Exceptions(metrics), R"(vwr_http_handler_exceptions_total{listener="public"} 1)");

  testing::RawClient odd(bound->port());
  EXPECT_EQ(odd.RoundTrip(Get("/throw-int")), 500u) << "not only std::exception";
  testing::RawClient late(bound->port());
  EXPECT_EQ(late.RoundTrip(Get("/answer-then-throw")), 200u) << "the answer given stands";
  EXPECT_EQ(late.RoundTrip(Get("/fine")), 200u) << "and its connection goes on";
  EXPECT_EQ(Exceptions(metrics), R"(vwr_http_handler_exceptions_total{listener="public"} 3)");

  testing::RawClient other(bound->port());
  EXPECT_EQ(other.RoundTrip(Get("/fine")), 200u);
  server.Stop(std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace vwr::server
