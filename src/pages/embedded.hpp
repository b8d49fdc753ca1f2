#pragma once

#include <span>
#include <string_view>

#include "http/http.hpp"

// The files under web/, compiled into the binary (src/pages/embed_files.cmake), and how they are
// served: the right Content-Type, caching by version and ETag, and the security headers.
namespace vwr::pages {

struct EmbeddedFile {
  std::string_view name;  // path under web/, e.g. "assets/wait.js", "templates/wait.html"
  std::span<const unsigned char> bytes;
  std::string_view etag;  // quoted, e.g. "\"3f2a...\"": a hash of the bytes

  std::string_view text() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
};

// Every embedded file, sorted by name. Generated.
std::span<const EmbeddedFile> EmbeddedFiles();
// One hash of every file: pages link their assets as "/assets/x.js?v=<version>". Generated.
std::string_view AssetVersion();

// The embedded file with this name, or nullptr.
const EmbeddedFile* FindEmbedded(std::string_view name);
// The text of an embedded file; empty when there is none.
std::string_view EmbeddedText(std::string_view name);

// "text/javascript; charset=utf-8" and so on, by the name's extension.
std::string_view ContentTypeOf(std::string_view name);

// The headers every answer of the web pages carries: nosniff, the referrer policy, and for HTML
// a strict Content-Security-Policy (only this server's own scripts, styles and API; no inline
// script; no framing).
void SetSecurityHeaders(http::Response& response, bool html);
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The answer to GET or HEAD of a public file (assets/..., sdk/...). With ?v= equal to
// AssetVersion() the file may be cached for a year ("immutable": a new build has a new version);
// otherwise caches must revalidate ("no-cache") and get 304 Not Modified when If-None-Match
// names the file's ETag.
http::Response ServeEmbedded(const EmbeddedFile& file, const http::Request& request);

}  // namespace vwr::pages
