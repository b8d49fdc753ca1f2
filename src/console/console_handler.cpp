#include "console/console_handler.hpp"

#include <string>

#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "loadgen/report_assets.hpp"
#include "pages/embedded.hpp"

namespace vwr::console {
namespace {

void SetHeaders(http::Response& res) {
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy", kConsoleContentSecurityPolicy);
  res.set(http::field::x_frame_options, "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
}

http::Response Page(const http::Request& req) {
  // The asset version makes every file URL of the page change with the build (cached a year).
  std::string html(pages::EmbeddedText("console/index.html"));
  const std::string_view mark = "{{v}}";
  for (std::size_t at = html.find(mark); at != std::string::npos; at = html.find(mark, at)) {
    html.replace(at, mark.size(), pages::AssetVersion());
  }
  http::Response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  SetHeaders(res);
  res.body() = std::move(html);
  res.prepare_payload();
  return res;
}

}  // namespace

bool ConsoleHandler::Owns(std::string_view path) {
  return path == "/console" || path.starts_with("/console/");
}

void ConsoleHandler::Serve(const http::Request& req, const http::ConnectionInfo& connection,
                           http::Respond respond) {
  const std::string_view path = http::PathOf(req.target());
  if (!Owns(path)) return api_.Serve(req, connection, std::move(respond));
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    http::Response res = http::MakeError(http::ApiError::kMethodNotAllowed, "use GET", v, ka);
    res.set(http::field::allow, "GET, HEAD");
    return respond(std::move(res));
  }
  if (path == "/console") {
    http::Response res{http::status::permanent_redirect, v};
    res.keep_alive(ka);
    res.set(http::field::location, "/console/");
    res.prepare_payload();
    return respond(std::move(res));
  }
  if (path == "/console/" || path == "/console/index.html") return respond(Page(req));
  if (path == "/console/uplot.js" || path == "/console/uplot.css") {
    // uPlot (npm), compiled in once for the loadgen report and the console alike.
    const bool js = path.ends_with(".js");
    http::Response res{http::status::ok, v};
    res.keep_alive(ka);
    res.set(http::field::content_type,
            js ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
    res.set(http::field::cache_control, "public, max-age=31536000, immutable");
    SetHeaders(res);
    if (req.method() != http::verb::head) {
      res.body() = std::string(js ? loadgen::UplotJs() : loadgen::UplotCss());
    }
    res.prepare_payload();
    return respond(std::move(res));
  }
  const pages::EmbeddedFile* file = pages::FindEmbedded(path.substr(1));
  if (file == nullptr) {
    return respond(http::MakeError(http::ApiError::kNotFound, "no such endpoint", v, ka));
  }
  http::Response res = pages::ServeEmbedded(*file, req);
  SetHeaders(res);
  respond(std::move(res));
}

}  // namespace vwr::console
