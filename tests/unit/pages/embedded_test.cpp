#include "pages/embedded.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace vwr::pages {
namespace {

http::Response Get(std::string_view name, std::string query = "",
                   std::vector<std::pair<http::field, std::string>> headers = {}) {
  const EmbeddedFile* file = FindEmbedded(name);
  EXPECT_NE(file, nullptr) << name;
  http::Request req{http::verb::get, "/" + std::string(name) + query, 11};
  for (auto& [field, value] : headers) req.set(field, value);
  return ServeEmbedded(*file, req);
}

TEST(EmbeddedFiles, HoldTheWebFolder) {
  std::set<std::string_view> names;
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    names.insert(file.name);
    EXPECT_FALSE(file.bytes.empty()) << file.name;
    EXPECT_EQ(file.etag.size(), 22u) << file.name;  // a quoted 20-digit hash
    EXPECT_EQ(file.etag.front(), '"');
  }
  for (const char* name : {"sdk/vwr.js", "assets/wait.js", "assets/demo.js", "assets/vwr.css",
                           "assets/i18n.js", "i18n.json", "templates/wait.html"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
  EXPECT_EQ(AssetVersion().size(), 12u);
}

TEST(EmbeddedFiles, TheTextsAreAlsoAnEsModule) {
  const std::string_view module = EmbeddedText("assets/i18n.js");
  EXPECT_NE(module.find("export default {"), std::string_view::npos);
  EXPECT_NE(module.find(EmbeddedText("i18n.json").substr(0, 40)), std::string_view::npos);
}

TEST(ContentTypeOf, ByExtension) {
  EXPECT_EQ(ContentTypeOf("sdk/vwr.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("assets/vwr.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("x.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("x.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeOf("x.json"), "application/json");
  EXPECT_EQ(ContentTypeOf("x.bin"), "application/octet-stream");
}

TEST(ServeEmbedded, AnswersWithTypeETagAndSecurityHeaders) {
  const http::Response res = Get("sdk/vwr.js");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(res[http::field::etag], FindEmbedded("sdk/vwr.js")->etag);
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res["Referrer-Policy"], "same-origin");
  EXPECT_EQ(res.body(), FindEmbedded("sdk/vwr.js")->text());
  EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));
}

TEST(ServeEmbedded, UnversionedFilesMustBeRevalidated) {
  EXPECT_EQ(Get("assets/vwr.css")[http::field::cache_control], "no-cache");
  EXPECT_EQ(Get("assets/vwr.css", "?v=old")[http::field::cache_control], "no-cache");
}

TEST(ServeEmbedded, TheCurrentVersionIsImmutable) {
  EXPECT_EQ(Get("assets/vwr.css", "?v=" + std::string(AssetVersion()))[http::field::cache_control],
            "public, max-age=31536000, immutable");
}

TEST(ServeEmbedded, AMatchingETagIsNotModified) {
  const std::string etag(FindEmbedded("assets/wait.js")->etag);
  for (const std::string& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const http::Response res = Get("assets/wait.js", "", {{http::field::if_none_match, header}});
    EXPECT_EQ(res.result(), http::status::not_modified) << header;
    EXPECT_TRUE(res.body().empty());
    EXPECT_EQ(res[http::field::etag], etag);
  }
  EXPECT_EQ(Get("assets/wait.js", "", {{http::field::if_none_match, "\"other\""}}).result(),
            http::status::ok);
}

TEST(SetSecurityHeaders, PagesGetAStrictPolicy) {
  http::Response res;
  SetSecurityHeaders(res, true);
  const std::string_view csp = res["Content-Security-Policy"];
  EXPECT_NE(csp.find("script-src 'self'"), std::string_view::npos);
  EXPECT_NE(csp.find("default-src 'none'"), std::string_view::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string_view::npos);
  EXPECT_EQ(res[http::field::x_frame_options], "DENY");
}

}  // namespace
}  // namespace vwr::pages
