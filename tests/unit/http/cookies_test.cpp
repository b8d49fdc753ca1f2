#include "http/cookies.hpp"

#include <gtest/gtest.h>

namespace vwr::http {
namespace {

TEST(Cookies, SetCookieCarriesTheDocumentedAttributes) {
  EXPECT_EQ(SetCookieValue(kAdmissionCookiePrefix, "sale", "a.b.c", 600, {}),
            "vwr_sale=a.b.c; Path=/; Max-Age=600; HttpOnly; SameSite=Lax");
  EXPECT_EQ(SetCookieValue(kEntryPassCookiePrefix, "sale", "p.q.r", 3600,
                           CookieOptions{.secure = true, .domain = "example.com"}),
            "vwr_pass_sale=p.q.r; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure; "
            "Domain=example.com");
  EXPECT_EQ(SetCookieValue(kAdmissionCookiePrefix, "a", "x", 1,
                           CookieOptions{.secure = true, .domain = ""}),
            "vwr_a=x; Path=/; Max-Age=1; HttpOnly; SameSite=Lax; Secure");
}

TEST(Cookies, ClearingSetsMaxAgeZero) {
  EXPECT_EQ(SetCookieValue(kAdmissionCookiePrefix, "sale", "", 0, {}),
            "vwr_sale=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
  EXPECT_EQ(SetCookieValue(kAdmissionCookiePrefix, "sale", "", -5, {}),
            "vwr_sale=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
      << "a negative age is sent as 0";
}

TEST(Cookies, FindsTheRoomsCookieAmongOthers) {
  const std::string_view header = "a=1; vwr_pass_sale=PASS;vwr_sale=TOKEN ; vwr_sale2=OTHER";
  EXPECT_EQ(CookieValue(header, kAdmissionCookiePrefix, "sale"), "TOKEN");
  EXPECT_EQ(CookieValue(header, kEntryPassCookiePrefix, "sale"), "PASS");
  EXPECT_EQ(CookieValue(header, kAdmissionCookiePrefix, "sale2"), "OTHER");
  EXPECT_EQ(CookieValue(header, kAdmissionCookiePrefix, "sal"), "");
  EXPECT_EQ(CookieValue(header, kAdmissionCookiePrefix, "pass_sale"), "PASS")
      << "the name is the name: what the configuration forbids (a room pass_sale beside sale)";
  EXPECT_EQ(CookieValue(R"(vwr_a="quoted")", kAdmissionCookiePrefix, "a"), "quoted");
  EXPECT_EQ(CookieValue("vwr_a", kAdmissionCookiePrefix, "a"), "") << "no value";
  EXPECT_EQ(CookieValue("", kAdmissionCookiePrefix, "a"), "");
  EXPECT_EQ(CookieValue(";;; ;", kAdmissionCookiePrefix, "a"), "");
  EXPECT_EQ(CookieValue("VWR_A=x", kAdmissionCookiePrefix, "a"), "") << "names are case-sensitive";
}

TEST(Cookies, LooksInEveryCookieHeader) {
  Request req{http::verb::get, "/", 11};
  req.insert(http::field::cookie, "other=1");
  req.insert(http::field::cookie, "vwr_sale=TOKEN");
  EXPECT_EQ(FindCookie(req, kAdmissionCookiePrefix, "sale"), "TOKEN");
  EXPECT_EQ(FindCookie(req, kAdmissionCookiePrefix, "other"), "");
  EXPECT_EQ(FindCookie(Request{}, kAdmissionCookiePrefix, "sale"), "");
}

}  // namespace
}  // namespace vwr::http
