#include "pages/embedded.hpp"

#include <algorithm>

#include "http/request_parts.hpp"

namespace vwr::pages {

const EmbeddedFile* FindEmbedded(std::string_view name) {
  const std::span<const EmbeddedFile> files = EmbeddedFiles();
  for (const EmbeddedFile& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

std::string_view EmbeddedText(std::string_view name) {
  const EmbeddedFile* file = FindEmbedded(name);
  return file == nullptr ? std::string_view{} : file->text();
}

std::string_view ContentTypeOf(std::string_view name) {
  if (name.ends_with(".js") || name.ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".json")) return "application/json";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void SetSecurityHeaders(http::Response& response, bool html) {
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "same-origin");
  if (html) {
    response.set("Content-Security-Policy", kContentSecurityPolicy);
    response.set(http::field::x_frame_options, "DENY");
  }
}

namespace {

// True when an If-None-Match list names `etag` (or is "*"). Weak and strong forms compare alike.
bool NoneMatchHits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
  }
  return false;
}

}  // namespace

http::Response ServeEmbedded(const EmbeddedFile& file, const http::Request& request) {
  const std::optional<std::string> version = http::QueryParam(http::QueryOf(request.target()), "v");
  const bool versioned = version && *version == AssetVersion();
  http::Response res{http::status::ok, request.version()};
  res.keep_alive(request.keep_alive());
  res.set(http::field::etag, file.etag);
  res.set(http::field::cache_control,
          versioned ? "public, max-age=31536000, immutable" : "no-cache");
  SetSecurityHeaders(res, file.name.ends_with(".html"));
  if (NoneMatchHits(request[http::field::if_none_match], file.etag)) {
    res.result(http::status::not_modified);
    return res;  // no body, no Content-Type (RFC 9110 15.4.5)
  }
  res.set(http::field::content_type, ContentTypeOf(file.name));
  res.body().assign(file.text());
  res.prepare_payload();
  return res;
}

}  // namespace vwr::pages
