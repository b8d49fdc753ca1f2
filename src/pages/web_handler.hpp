#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/room_messages.hpp"
#include "config/config.hpp"
#include "http/api_metrics.hpp"
#include "http/http.hpp"
#include "http/request_context.hpp"
#include "http/room_directory.hpp"
#include "http/session_standing.hpp"
#include "pages/texts.hpp"
#include "token/admission_token.hpp"
#include "token/session_id.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/text_template.hpp"

namespace vwr::pages {

struct WebOptions {
  // The demo pages: GET / (a page with a protected "book now" button), GET /demo/inside (where
  // the waiting page returns to) and POST /demo/book (the protected action). Off: not found.
  bool demo = false;
  std::string demo_room;  // the room the demo goes through (the first configured one)
};

// The pages people see, on the public listener next to the API (app::PublicRouter routes
// WebHandler::Owns here):
//   GET /wait/{room}?return=URL&lang=ko|en  the waiting page (rooms[].page, or the built-in one)
//   GET /wait/{room}/message                the operator's message line, for open pages
//   GET /sdk/vwr.js, GET /assets/...        the SDK and the pages' files (web/, compiled in)
//   GET /, GET /demo/inside, POST /demo/book  the demo (WebOptions::demo)
// Pages are answered "no-store" with a strict Content-Security-Policy; files by version and ETag
// (see ServeEmbedded). Every value put into a page is HTML-escaped, and the return URL is
// checked by http::SafeReturnUrl against the room's match hosts.
//
// Thread-safe: Serve runs on every worker at once; SetRooms (a reload) publishes a new version
// of the rooms' pages without stopping them.
class WebHandler final : public http::Handler {
 public:
  // `metrics`: its answers are counted under the endpoint "other".
  WebHandler(http::RoomDirectory& rooms, admin::RoomMessages& messages,
             const token::AdmissionTokenSigner& tokens, const util::Clock& clock,
             http::ApiMetrics& metrics, WebOptions options);

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

  // This handler's URL space on the public listener: "/", and /wait/, /sdk/, /demo/, /assets/.
  static bool Owns(std::string_view path);

  // The rooms' names, match hosts and page templates, and their configured messages (into
  // `messages`). At start and on every reload, from one thread at a time.
  void SetRooms(const std::vector<config::RoomConfig>& rooms);

 private:
  struct RoomPage {
    std::string name;
    std::vector<std::string> match_hosts;
    std::shared_ptr<const util::TextTemplate> page;
  };
  using Pages = std::map<std::string, RoomPage, std::less<>>;

  http::Response Route(http::RequestContext& ctx);
  http::Response WaitPage(std::string_view room, http::RequestContext& ctx);
  http::Response WaitMessage(std::string_view room, http::RequestContext& ctx);
  http::Response DemoPage(const util::TextTemplate& page, const http::RequestContext& ctx,
                          std::string_view self_path);
  http::Response Book(const http::RequestContext& ctx);
  http::Response NotFoundPage(const http::RequestContext& ctx, Lang lang);
  // A page: text/html, no-store, the security headers.
  static http::Response Html(http::status status, std::string body,
                             const http::RequestContext& ctx);
  // True when the request carries a valid admission token for `room` in its vwr_<room> cookie.
  // The standing of the session a verified admission token names (http::StandingOf): what a
  // protected service next to VWR checks after the signature, room and expiry.
  http::SessionStanding StandingOfSession(std::string_view room, std::string_view jti);
  bool HasAdmissionCookie(const http::Request& request, std::string_view room);

  http::RoomDirectory& rooms_;
  admin::RoomMessages& messages_;
  const token::AdmissionTokenSigner& tokens_;
  const util::Clock& clock_;
  http::RequestPipeline pipeline_;
  const WebOptions options_;
  const Texts& texts_;
  util::Published<Pages> pages_;
  std::shared_ptr<const util::TextTemplate> default_wait_;
  util::TextTemplate demo_;
  util::TextTemplate inside_;
  util::TextTemplate not_found_;
};

// A built-in page template (web/templates/<name>); an empty page when it does not parse, which
// the unit tests rule out.
util::TextTemplate BuiltinTemplate(std::string_view name);

}  // namespace vwr::pages
