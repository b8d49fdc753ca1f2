#pragma once

#include <string_view>
#include <vector>

#include "http/http.hpp"

namespace vwr::app {

// The public listener's front door: which handler answers a request, by its path. Each handler
// names its own URL space (pages::WebHandler::Owns, tracer::TracerApi::Owns); the native API
// (api::PublicApi) answers everything else. Above the handlers, so that none of them knows the
// others. Every handler counts and logs its own answers (http::RequestContext::Finish): the
// router only chooses. Thread-safe once built.
class PublicRouter final : public http::Handler {
 public:
  struct Route {
    bool (*owns)(std::string_view path);
    http::Handler* handler;
  };

  PublicRouter(http::Handler& fallback, std::vector<Route> routes);

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

 private:
  http::Handler& fallback_;
  const std::vector<Route> routes_;
};

}  // namespace vwr::app
