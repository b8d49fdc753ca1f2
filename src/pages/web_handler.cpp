#include "pages/web_handler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <variant>

#include "http/cookies.hpp"
#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "http/return_url.hpp"
#include "pages/embedded.hpp"
#include "pages/html.hpp"
#include "util/random.hpp"

namespace vwr::pages {
namespace {

// A client-supplied value made fit for one log line.
std::string ForLog(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  if (text.size() > 200) out += "...";
  return out;
}

http::Response MethodNotAllowed(const http::RequestContext& ctx, std::string_view allow) {
  http::Response res =
      ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, fmt::format("use {}", allow));
  res.set(http::field::allow, allow);
  return res;
}

}  // namespace

bool WebHandler::Owns(std::string_view path) {
  return path == "/" || path.starts_with("/wait/") || path.starts_with("/sdk/") ||
         path.starts_with("/demo/") || path.starts_with("/assets/");
}

util::TextTemplate BuiltinTemplate(std::string_view name) {
  const std::string file = "templates/" + std::string(name);
  auto parsed = util::TextTemplate::Parse(EmbeddedText(file));
  if (auto* error = std::get_if<util::TextTemplate::Error>(&parsed)) {
    spdlog::error("web: built-in page {} line {}: {}", file, error->line, error->message);
    return std::get<util::TextTemplate>(util::TextTemplate::Parse(""));
  }
  return std::get<util::TextTemplate>(std::move(parsed));
}

WebHandler::WebHandler(http::RoomDirectory& rooms, admin::RoomMessages& messages,
                       const token::AdmissionTokenSigner& tokens, const util::Clock& clock,
                       http::ApiMetrics& metrics, WebOptions options)
    : rooms_(rooms),
      messages_(messages),
      tokens_(tokens),
      clock_(clock),
      pipeline_(clock, metrics),
      options_(std::move(options)),
      texts_(Texts::Builtin()),
      default_wait_(std::make_shared<const util::TextTemplate>(BuiltinTemplate("wait.html"))),
      demo_(BuiltinTemplate("demo.html")),
      inside_(BuiltinTemplate("inside.html")),
      not_found_(BuiltinTemplate("not_found.html")) {}

void WebHandler::SetRooms(const std::vector<config::RoomConfig>& rooms) {
  Pages pages;
  std::map<std::string, std::string, std::less<>> configured;
  for (const config::RoomConfig& room : rooms) {
    RoomPage page;
    page.name = room.name;
    for (const config::RoomMatch& match : room.match) page.match_hosts.push_back(match.host);
    page.page = default_wait_;
    if (!room.page.template_html.empty()) {
      auto parsed = util::TextTemplate::Parse(room.page.template_html);
      if (auto* custom = std::get_if<util::TextTemplate>(&parsed)) {
        page.page = std::make_shared<const util::TextTemplate>(std::move(*custom));
        for (std::string_view name : page.page->Names()) {
          if (name.starts_with("t.") && !texts_.Has(Lang::kEn, name.substr(2))) {
            spdlog::warn(
                "room {}: page template {} uses {{{{{}}}}}, which is no built-in text; "
                "it shows nothing",
                room.id, room.page.template_file, name);
          }
        }
      } else {
        // Loading the configuration checked the template; this would be a bug.
        spdlog::error("room {}: page template {} does not parse; the built-in page is used",
                      room.id, room.page.template_file);
      }
    }
    configured.emplace(room.id, room.page.message);
    pages.emplace(room.id, std::move(page));
  }
  messages_.SetConfigured(std::move(configured));
  pages_.Publish(std::move(pages));
}

void WebHandler::Serve(const http::Request& request, const http::ConnectionInfo& connection,
                       http::Respond respond) {
  http::RequestContext ctx = pipeline_.Begin(request, connection, std::move(respond));
  ctx.Finish(Route(ctx));
}

http::Response WebHandler::Route(http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  const std::string_view path = http::PathOf(req.target());
  auto not_found = [&] { return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint"); };

  if (path.starts_with("/assets/") || path.starts_with("/sdk/")) {
    const EmbeddedFile* file = FindEmbedded(path.substr(1));
    if (file == nullptr) return not_found();
    if (!http::IsRead(req)) return MethodNotAllowed(ctx, "GET, HEAD");
    return ServeEmbedded(*file, req);
  }
  const http::PathSegments parts = http::SplitPath(path);
  if (parts.size() >= 2 && parts[0] == "wait" && !parts[1].empty()) {
    if (parts.size() == 2) {
      if (!http::IsRead(req)) return MethodNotAllowed(ctx, "GET, HEAD");
      return WaitPage(parts[1], ctx);
    }
    if (parts.size() == 3 && parts[2] == "message") {
      if (!http::IsRead(req)) return MethodNotAllowed(ctx, "GET, HEAD");
      return WaitMessage(parts[1], ctx);
    }
    return not_found();
  }
  if (!options_.demo) return not_found();
  if (path == "/") {
    if (!http::IsRead(req)) return MethodNotAllowed(ctx, "GET, HEAD");
    return DemoPage(demo_, ctx, "/");
  }
  if (path == "/demo/inside") {
    if (!http::IsRead(req)) return MethodNotAllowed(ctx, "GET, HEAD");
    return DemoPage(inside_, ctx, "/demo/inside");
  }
  if (path == "/demo/book") {
    if (req.method() != http::verb::post) return MethodNotAllowed(ctx, "POST");
    return Book(ctx);
  }
  return not_found();
}

http::Response WebHandler::Html(http::status status, std::string body,
                                const http::RequestContext& ctx) {
  http::Response res = ctx.EmptyResponse(status);
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  SetSecurityHeaders(res, true);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http::Response WebHandler::NotFoundPage(const http::RequestContext& ctx, Lang lang) {
  PageValues values;
  values.texts = &texts_;
  values.lang = lang;
  values.values = {{"lang", std::string(LangCode(lang))},
                   {"asset_version", std::string(AssetVersion())}};
  return Html(http::status::not_found, RenderPage(not_found_, values), ctx);
}

http::Response WebHandler::WaitPage(std::string_view room, http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  const std::string_view query = http::QueryOf(req.target());
  const Lang lang =
      ChooseLang(http::QueryParam(query, "lang").value_or(""), req[http::field::accept_language]);
  const Pages& pages = pages_.Get();
  const auto page = pages.find(room);
  http::RoomEntry* entry = rooms_.Find(room);
  if (page == pages.end() || entry == nullptr) return NotFoundPage(ctx, lang);
  ctx.set_room(entry->state->id());  // a page load of the room's traffic

  const std::optional<std::string> requested = http::QueryParam(query, "return");
  std::string return_url = "/";
  if (requested) {
    return_url = http::SafeReturnUrl(*requested, page->second.match_hosts);
    if (return_url != *requested) {
      spdlog::debug(
          "wait page of room {}: return URL \"{}\" refused (not relative, nor on a "
          "host of the room); \"/\" instead",
          room, ForLog(*requested));
    }
  }
  // What a visitor joining now would face; the page's script replaces it with their own place.
  const store::RoomFigures figures = entry->state->Figures();
  const std::string base = "/wait/" + http::PercentEncode(room) + "?lang=";
  const std::string return_query = "&return=" + http::PercentEncode(return_url);

  PageValues values;
  values.texts = &texts_;
  values.lang = lang;
  values.values = {
      {"room_id", std::string(room)},
      {"room_name", page->second.name},
      {"message", messages_.Get(room).text},
      {"position", std::to_string(figures.queue_size + 1)},
      {"people_ahead", std::to_string(figures.queue_size)},
      {"eta", FormatEtaRange(texts_, lang, figures.newcomer_eta_seconds,
                             figures.newcomer_eta_low_seconds, figures.newcomer_eta_high_seconds)},
      {"lang", std::string(LangCode(lang))},
      {"return_url", return_url},
      {"asset_version", std::string(AssetVersion())},
      {"lang_ko_url", base + "ko" + return_query},
      {"lang_en_url", base + "en" + return_query},
  };
  return Html(http::status::ok, RenderPage(*page->second.page, values), ctx);
}

http::Response WebHandler::WaitMessage(std::string_view room, http::RequestContext& ctx) {
  http::RoomEntry* entry = rooms_.Find(room);
  if (entry == nullptr) return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
  ctx.set_room(entry->state->id());
  std::string body = R"({"message":)";
  http::AppendJsonString(body, messages_.Get(room).text);
  body.push_back('}');
  http::Response res = ctx.JsonResponse(http::status::ok, std::move(body));
  SetSecurityHeaders(res, false);
  return res;
}

http::SessionStanding WebHandler::StandingOfSession(std::string_view room, std::string_view jti) {
  http::RoomEntry* entry = rooms_.Find(room);
  return entry == nullptr ? http::SessionStanding::kEnded : http::StandingOf(*entry->state, jti);
}

bool WebHandler::HasAdmissionCookie(const http::Request& req, std::string_view room) {
  const std::string_view token = http::FindCookie(req, "vwr_", room);
  if (token.empty()) return false;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  const auto claims = tokens_.Verify(token, now, room);
  return claims && StandingOfSession(room, claims->jti) == http::SessionStanding::kLive;
}

http::Response WebHandler::DemoPage(const util::TextTemplate& page, const http::RequestContext& ctx,
                                    std::string_view self_path) {
  const http::Request& req = ctx.request();
  const Lang lang = ChooseLang(http::QueryParam(http::QueryOf(req.target()), "lang").value_or(""),
                               req[http::field::accept_language]);
  const std::string& room = options_.demo_room;
  const Pages& pages = pages_.Get();
  const auto found = pages.find(room);
  PageValues values;
  values.texts = &texts_;
  values.lang = lang;
  values.values = {
      {"room_id", room},
      {"room_name", found == pages.end() ? room : found->second.name},
      {"lang", std::string(LangCode(lang))},
      {"asset_version", std::string(AssetVersion())},
      {"lang_ko_url", std::string(self_path) + "?lang=ko"},
      {"lang_en_url", std::string(self_path) + "?lang=en"},
      {"wait_url",
       "/wait/" + http::PercentEncode(room) + "?lang=" + std::string(LangCode(lang)) +
           "&return=" + http::PercentEncode("/demo/inside?lang=" + std::string(LangCode(lang)))},
      {"admission",
       std::string(texts_.Get(
           lang, HasAdmissionCookie(req, room) ? "inside_cookie_ok" : "inside_cookie_none"))},
  };
  return Html(http::status::ok, RenderPage(page, values), ctx);
}

http::Response WebHandler::Book(const http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  const std::string& room = options_.demo_room;
  const std::string_view token = http::BearerToken(req[http::field::authorization]);
  if (token.empty()) {
    return ctx.ErrorResponse(http::ApiError::kInvalidToken,
                             "an admission token is required (Authorization: Bearer)");
  }
  // What a protected service does: check the token offline, for this room, now; then that its
  // session has not ended (a service next to VWR asks /api/v1/verify for that).
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  auto claims = tokens_.Verify(token, now, room);
  if (!claims) {
    return ctx.ErrorResponse(http::ApiError::kInvalidToken,
                             fmt::format("the admission token is not valid for room {} ({})", room,
                                         token::TokenErrorName(claims.error())));
  }
  switch (StandingOfSession(room, claims->jti)) {
    case http::SessionStanding::kLive:
      break;
    case http::SessionStanding::kEnded:
      return ctx.ErrorResponse(http::ApiError::kSessionEnded, "the session has ended");
    case http::SessionStanding::kNotASession:
      return ctx.ErrorResponse(http::ApiError::kInvalidToken,
                               fmt::format("the admission token is not valid for room {}", room));
  }
  const std::string booking =
      fmt::format("VWR-{:06X}", static_cast<std::uint32_t>(util::SecureRandom64() & 0xffffff));
  std::string body = R"({"ok":true,"room":)";
  http::AppendJsonString(body, room);
  body += R"(,"booking":)";
  http::AppendJsonString(body, booking);
  body += R"(,"subject":)";
  http::AppendJsonString(body, claims->sub);
  fmt::format_to(std::back_inserter(body), R"(,"expires":{}}})", claims->exp);
  http::Response res = ctx.JsonResponse(http::status::ok, std::move(body));
  SetSecurityHeaders(res, false);
  return res;
}

}  // namespace vwr::pages
