#include "http/return_url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vwr::http {
namespace {

const std::vector<std::string> kShop = {"shop.example.com", "*.tickets.example.com"};
const std::vector<std::string> kAnyHost = {"*"};

TEST(ReturnUrl, RelativePathsAreSafe) {
  for (const char* url : {"/", "/shop", "/shop/item?id=3&x=%2F", "/a#frag", "/%5Cevil.example"}) {
    EXPECT_TRUE(IsSafeReturnUrl(url, kShop)) << url;
    EXPECT_TRUE(IsSafeReturnUrl(url, kAnyHost)) << url;
  }
}

TEST(ReturnUrl, ProtocolRelativeAndBackslashTricksAreRefused) {
  for (const char* url : {"//evil.example/", "//evil.example", "/\\evil.example",
                          "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
                          "/ /evil.example", "/shop\\..\\..", "///evil.example"}) {
    EXPECT_FALSE(IsSafeReturnUrl(url, kShop)) << url;
    EXPECT_EQ(SafeReturnUrl(url, kShop), "/") << url;
  }
}

TEST(ReturnUrl, OtherSchemesAndShapesAreRefused) {
  for (const char* url :
       {"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "ftp://shop.example.com/",
        "shop.example.com/x", "evil", "", "https:shop.example.com", "https:/shop.example.com/",
        "mailto:a@b.example", "?x=1", "#top"}) {
    EXPECT_FALSE(IsSafeReturnUrl(url, kShop)) << url;
  }
}

TEST(ReturnUrl, AbsoluteUrlsMustNameAMatchHost) {
  EXPECT_TRUE(IsSafeReturnUrl("https://shop.example.com/cart", kShop));
  EXPECT_TRUE(IsSafeReturnUrl("http://shop.example.com", kShop));
  EXPECT_TRUE(IsSafeReturnUrl("HTTPS://Shop.Example.COM:8443/x?y#z", kShop));
  EXPECT_TRUE(IsSafeReturnUrl("https://a.tickets.example.com/", kShop));
  EXPECT_TRUE(IsSafeReturnUrl("https://b.a.tickets.example.com/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://tickets.example.com/", kShop));  // "*." means under it
  EXPECT_FALSE(IsSafeReturnUrl("https://evil.example/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://shop.example.com.evil.example/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://evilshop.example.com/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://eviltickets.example.com/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://shop.example.com@evil.example/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://user:pw@shop.example.com/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://shop.example.com:/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://shop.example.com:99999x/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://shop.example.com./", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https://[::1]/", kShop));
  EXPECT_FALSE(IsSafeReturnUrl("https:///shop.example.com", kShop));
}

TEST(ReturnUrl, ARoomForEveryHostAcceptsOnlyRelativeUrls) {
  EXPECT_FALSE(IsSafeReturnUrl("https://shop.example.com/", kAnyHost));
  EXPECT_FALSE(IsSafeReturnUrl("https://evil.example/", kAnyHost));
  const std::vector<std::string> mixed = {"*", "shop.example.com"};
  EXPECT_TRUE(IsSafeReturnUrl("https://shop.example.com/", mixed));
  EXPECT_FALSE(IsSafeReturnUrl("https://evil.example/", mixed));
}

TEST(ReturnUrl, OverlongUrlsAreRefused) {
  const std::string ok = "/" + std::string(kMaxReturnUrlBytes - 1, 'a');
  EXPECT_TRUE(IsSafeReturnUrl(ok, kShop));
  EXPECT_FALSE(IsSafeReturnUrl(ok + "a", kShop));
}

TEST(ReturnUrl, SafeReturnUrlKeepsWhatIsSafe) {
  EXPECT_EQ(SafeReturnUrl("/demo/inside", kShop), "/demo/inside");
  EXPECT_EQ(SafeReturnUrl("https://shop.example.com/x", kShop), "https://shop.example.com/x");
  EXPECT_EQ(SafeReturnUrl("https://evil.example/", kShop), "/");
}

}  // namespace
}  // namespace vwr::http
