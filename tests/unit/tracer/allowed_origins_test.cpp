#include "tracer/allowed_origins.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vwr::tracer {
namespace {

TEST(AllowedOrigins, TheRoomsHostsOverHttpAndHttpsOnAnyPort) {
  const AllowedOrigins allowed = AllowedOrigins::FromRoomHosts(
      {{"sale", {{"shop.example.com", "/sale"}, {"*.example.org", "/"}}},
       {"anywhere", {{"*", "/"}}},
       {"again", {{"shop.example.com", "/other"}}}});
  for (const char* origin :
       {"https://shop.example.com", "http://shop.example.com", "https://shop.example.com:8443",
        "HTTPS://SHOP.EXAMPLE.COM", "https://a.example.org", "http://a.b.example.org:8080"}) {
    EXPECT_TRUE(allowed.Allows(origin)) << origin;
  }
  for (const char* origin :
       {"https://example.org", "https://evil.example", "https://shop.example.com.evil.example",
        "https://evilshop.example.com", "https://xexample.org", "null", "", "shop.example.com",
        "ftp://shop.example.com", "https://shop.example.com/", "https://shop.example.com/a",
        "https://user@shop.example.com", "https://shop.example.com:", "https://shop.example.com:x",
        "https://shop.example.com:99999", "https://", "https://:443"}) {
    EXPECT_FALSE(allowed.Allows(origin)) << origin;
  }
  EXPECT_EQ(allowed.patterns().size(), 2u) << "one per host, \"*\" adds none";
  EXPECT_EQ(allowed.Describe(),
            "http(s)://shop.example.com (any port), http(s)://*.example.org (any port)");
  EXPECT_TRUE(AllowedOrigins::FromRoomHosts({{"anywhere", {{"*", "/"}}}}).empty());
}

TEST(AllowedOrigins, AListedOriginIsItsSchemeHostAndPort) {
  std::vector<std::string> rejected;
  const AllowedOrigins allowed =
      AllowedOrigins::FromList({"https://shop.example.com", "http://localhost:8080",
                                "https://*.example.net/", "http://[::1]:3000", "not an origin"},
                               &rejected);
  EXPECT_EQ(rejected, std::vector<std::string>{"not an origin"});
  for (const char* origin :
       {"https://shop.example.com", "https://shop.example.com:443", "http://localhost:8080",
        "https://a.example.net", "http://[::1]:3000"}) {
    EXPECT_TRUE(allowed.Allows(origin)) << origin;
  }
  for (const char* origin :
       {"http://shop.example.com", "https://shop.example.com:8443", "http://localhost",
        "http://localhost:8081", "https://localhost:8080", "https://example.net",
        "http://a.example.net", "http://[::1]:3001", "null"}) {
    EXPECT_FALSE(allowed.Allows(origin)) << origin;
  }
  EXPECT_EQ(allowed.Describe(),
            "https://shop.example.com, http://localhost:8080, https://*.example.net, "
            "http://[::1]:3000");
  EXPECT_FALSE(AllowedOrigins().Allows("https://shop.example.com")) << "empty: none";
}

TEST(AllowedOrigins, SameOriginIsTheRequestsOwnHost) {
  EXPECT_TRUE(IsSameOrigin("https://queue.example.com", "queue.example.com"));
  EXPECT_TRUE(IsSameOrigin("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(IsSameOrigin("https://Queue.Example.com", "queue.example.com"));
  EXPECT_FALSE(IsSameOrigin("https://queue.example.com", "queue.example.com:8443"));
  EXPECT_FALSE(IsSameOrigin("https://evil.example", "queue.example.com"));
  EXPECT_FALSE(IsSameOrigin("null", "null"));
  EXPECT_FALSE(IsSameOrigin("https://queue.example.com", ""));
}

}  // namespace
}  // namespace vwr::tracer
