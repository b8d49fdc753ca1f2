#include "app/public_router.hpp"

#include <gtest/gtest.h>

#include <string>

#include "http/errors.hpp"
#include "pages/web_handler.hpp"
#include "store/embedded_store.hpp"
#include "token/es256.hpp"
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
  PublicRouterTest() {
    ring_.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
    config::RoomConfig sale;
    sale.id = "sale";
    sale.name = "Sale";
    sale.match = {{"*", "/"}};
    web_.SetRooms({sale});
  }

  std::string Who(std::string target, http::Handler* router = nullptr) {
    http::Request req{http::verb::get, target, 11};
    return (router != nullptr ? *router : router_).Handle(req, http::ConnectionInfo{}).body();
  }

  util::FakeClock clock_;
  http::ApiMetrics metrics_;
  Named api_{"api"};
  Named pages_{"pages"};
  Named tracer_{"tracer"};
  PublicRouter router_{api_,
                       {{&pages::WebHandler::Owns, &pages_}, {&tracer::TracerApi::Owns, &tracer_}}};

  // The real pages behind a router, for what they count.
  token::KeyRing ring_{clock_, std::chrono::seconds(600)};
  token::AdmissionTokenSigner tokens_{ring_, clock_};
  store::EmbeddedStore store_{{{"sale", core::Policy{}}}, clock_};
  http::RoomDirectory rooms_{store_};
  admin::RoomMessages messages_;
  pages::WebHandler web_{rooms_, messages_, tokens_, clock_, metrics_, pages::WebOptions{}};
  PublicRouter pages_router_{
      api_, {{&pages::WebHandler::Owns, &web_}, {&tracer::TracerApi::Owns, &tracer_}}};
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

TEST_F(PublicRouterTest, ThePagesAnswersAreCountedAsOther) {
  // Every handler counts its own answers (http::RequestContext::Finish); the router, none.
  Who("/wait/sale", &pages_router_);
  Who("/wait/missing", &pages_router_);
  Who("/TRACERAPI/checkBotIp.do", &pages_router_);  // counted by the TRACER API itself
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
