#pragma once

#include <string_view>

#include "http/http.hpp"

namespace vwr::console {

// The admin listener's router: the operator console's page and files under /console/, every
// other path to the admin API (`api`).
//
//   GET /console           -> 308 to /console/
//   GET /console/          -> the console (web/console/index.html; its scripts, styles and
//                             texts are the files below, linked by asset version)
//   GET /console/<file>    -> web/console/<file>, compiled in (uPlot included: nothing is
//                             fetched from anywhere else at run time)
//
// The page itself holds nothing secret: it asks the admin API who is signed in
// (GET /admin/api/v1/session) and shows the sign-in form when nobody is. Every answer carries a
// strict Content-Security-Policy (own scripts and styles only, no inline script or style, no
// eval, no framing) and is never cached when it is the page.
//
// The public listener never routes here (app::PublicRouter knows no /console/ path), so the
// console adds nothing to the visitors' hot path. Thread-safe (no state of its own).
class ConsoleHandler final : public http::Handler {
 public:
  explicit ConsoleHandler(http::Handler& api) : api_(api) {}

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

  static bool Owns(std::string_view path);

 private:
  http::Handler& api_;
};

// The console's Content-Security-Policy.
inline constexpr std::string_view kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

}  // namespace vwr::console
