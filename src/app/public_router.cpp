#include "app/public_router.hpp"

#include "http/request_parts.hpp"

namespace vwr::app {

PublicRouter::PublicRouter(http::Handler& fallback, std::vector<Route> routes,
                           http::ApiMetrics& metrics, const util::Clock& clock)
    : fallback_(fallback),
      routes_(std::move(routes)),
      metrics_(metrics),
      clock_(clock),
      error_log_(clock) {}

void PublicRouter::Serve(const http::Request& request, const http::ConnectionInfo& connection,
                         http::Respond respond) {
  const std::string_view path = http::PathOf(request.target());
  for (const Route& route : routes_) {
    if (!route.owns(path)) continue;
    if (!route.count_here) return route.handler->Serve(request, connection, std::move(respond));
    const util::TimePoint start = clock_.Now();
    return route.handler->Serve(request, connection,
                                [this, &request, &connection, start,
                                 respond = std::move(respond)](http::Response response) mutable {
                                  metrics_.Record(http::Endpoint::kOther, response.result_int(),
                                                  util::ToSeconds(clock_.Now() - start));
                                  error_log_.Record(request, connection, response);
                                  respond(std::move(response));
                                });
  }
  fallback_.Serve(request, connection, std::move(respond));
}

}  // namespace vwr::app
