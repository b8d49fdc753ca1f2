#include "app/public_router.hpp"

#include <gtest/gtest.h>

#include <string>

#include "http/errors.hpp"
#include "pages/web_handler.hpp"
#include "tracer/tracer_api.hpp"

namespace vwr::app {
namespace {

// Answers every request with its own name, so that a test sees who answered.
class Named final : public http::Handler {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  void Serve(const http::Request& request, const http::ConnectionInfo&,
             http::Respond respond) override {
    http::Response res = http::MakeJson(http::status::ok, "\"" + name_ + "\"", request.version(),
                                        request.keep_alive());
    if (request.target() == "/wait/missing") res.result(http::status::not_found);
    respond(std::move(res));
  }

 private:
  std::string name_;
};

class PublicRouterTest : public ::testing::Test {
 protected:
  std::string Who(std::string target) {
    http::Request req{http::verb::get, target, 11};
    return router_.Handle(req, http::ConnectionInfo{}).body();
  }

  util::FakeClock clock_;
  http::ApiMetrics metrics_;
  Named api_{"api"};
  Named pages_{"pages"};
  Named tracer_{"tracer"};
  PublicRouter router_{
      api_,
      {{&pages::WebHandler::Owns, &pages_, true}, {&tracer::TracerApi::Owns, &tracer_, false}},
      metrics_,
      clock_};
};

TEST_F(PublicRouterTest, EachHandlerAnswersItsOwnUrlSpaceAndTheApiTheRest) {
  EXPECT_EQ(Who("/"), "\"pages\"");
  EXPECT_EQ(Who("/wait/sale?return=%2F"), "\"pages\"");
  EXPECT_EQ(Who("/sdk/vwr.js"), "\"pages\"");
  EXPECT_EQ(Who("/assets/vwr.css"), "\"pages\"");
  EXPECT_EQ(Who("/TRACERAPI/inputQueue.do?host=x"), "\"tracer\"");
  EXPECT_EQ(Who("/api/v1/rooms/sale/join"), "\"api\"");
  EXPECT_EQ(Who("/.well-known/jwks.json"), "\"api\"");
  EXPECT_EQ(Who("/nope"), "\"api\"") << "the API answers what nobody owns (its 404)";
}

TEST_F(PublicRouterTest, ThePagesAnswersAreCountedHere) {
  Who("/wait/sale");
  Who("/wait/missing");
  Who("/TRACERAPI/checkBotIp.do");  // counted by the TRACER API itself
  std::string text;
  metrics_.Render(text);
  EXPECT_NE(text.find(R"(vwr_http_requests_total{endpoint="other",code="200"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(vwr_http_requests_total{endpoint="other",code="404"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace vwr::app
