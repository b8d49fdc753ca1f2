#include "app/public_router.hpp"

#include "http/request_parts.hpp"

namespace vwr::app {

PublicRouter::PublicRouter(http::Handler& fallback, std::vector<Route> routes)
    : fallback_(fallback), routes_(std::move(routes)) {}

void PublicRouter::Serve(const http::Request& request, const http::ConnectionInfo& connection,
                         http::Respond respond) {
  const std::string_view path = http::PathOf(request.target());
  for (const Route& route : routes_) {
    if (route.owns(path)) return route.handler->Serve(request, connection, std::move(respond));
  }
  fallback_.Serve(request, connection, std::move(respond));
}

}  // namespace vwr::app
