#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "http/api_metrics.hpp"
#include "http/error_log.hpp"
#include "http/http.hpp"
#include "util/clock.hpp"

namespace vwr::app {

// The public listener's front door: which handler answers a request, by its path. Each handler
// names its own URL space (pages::WebHandler::Owns, tracer::TracerApi::Owns); the native API
// (api::PublicApi) answers everything else. Above the handlers, so that none of them knows the
// others.
//
// The pages' answers are counted and their errors logged here (endpoint "other"); the APIs count
// and log their own. Thread-safe once built.
class PublicRouter final : public http::Handler {
 public:
  struct Route {
    bool (*owns)(std::string_view path);
    http::Handler* handler;
    bool count_here;  // the handler does not count and log its own answers
  };

  PublicRouter(http::Handler& fallback, std::vector<Route> routes, http::ApiMetrics& metrics,
               const util::Clock& clock);

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

 private:
  http::Handler& fallback_;
  const std::vector<Route> routes_;
  http::ApiMetrics& metrics_;
  const util::Clock& clock_;
  http::ErrorLog error_log_;
};

}  // namespace vwr::app
