#include "http/room_routes.hpp"

#include <gtest/gtest.h>

namespace vwr::http {
namespace {

// The room id a request is routed to, or "" for none.
std::string RoomOf(const RoomRoutes& routes, std::string_view host, std::string_view target) {
  const std::string* room = routes.Find(host, target);
  return room == nullptr ? "" : *room;
}

TEST(RoomRoutes, LongestPathPrefixWins) {
  const RoomRoutes routes(
      {{"everything", {{"*", "/"}}}, {"sale", {{"*", "/sale"}}}, {"vip", {{"*", "/sale/vip"}}}});
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/"), "everything");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/cart"), "everything");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/sale"), "sale");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/sale/shoes?size=9"), "sale");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/sale/vip/1"), "vip");
  // Plain text: "/sale" is the start of "/salesman" too, as documented.
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/salesman"), "sale");
  // The query is no part of the path.
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/x?next=/sale/vip"), "everything");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/x#/sale"), "everything");
}

TEST(RoomRoutes, ExactHostBeatsWildcardSuffixWhichBeatsAnyHost) {
  const RoomRoutes routes({{"any", {{"*", "/sale"}}},
                           {"suffix", {{"*.example.com", "/sale"}}},
                           {"exact", {{"shop.example.com", "/sale"}}}});
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/sale"), "exact");
  EXPECT_EQ(RoomOf(routes, "tickets.example.com", "/sale"), "suffix");
  EXPECT_EQ(RoomOf(routes, "a.b.example.com", "/sale"), "suffix");
  // "*.example.com" is every host under example.com, not example.com itself.
  EXPECT_EQ(RoomOf(routes, "example.com", "/sale"), "any");
  EXPECT_EQ(RoomOf(routes, "notexample.com", "/sale"), "any");
  EXPECT_EQ(RoomOf(routes, "other.org", "/sale"), "any");
}

TEST(RoomRoutes, ALongerPrefixBeatsAMoreSpecificHost) {
  const RoomRoutes routes({{"exact", {{"shop.example.com", "/"}}}, {"deep", {{"*", "/sale"}}}});
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/sale/1"), "deep");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/cart"), "exact");
  EXPECT_EQ(RoomOf(routes, "other.org", "/cart"), "");
}

TEST(RoomRoutes, ConfigurationOrderBreaksTies) {
  const RoomRoutes routes({{"first", {{"*.example.com", "/a"}, {"*", "/b"}}},
                           {"second", {{"*.shop.example.com", "/a"}, {"*", "/b"}}}});
  EXPECT_EQ(RoomOf(routes, "x.shop.example.com", "/a"), "first");
  EXPECT_EQ(RoomOf(routes, "any.host", "/b"), "first");
  const RoomRoutes swapped({{"second", {{"*", "/b"}}}, {"first", {{"*", "/b"}}}});
  EXPECT_EQ(RoomOf(swapped, "any.host", "/b"), "second");
}

TEST(RoomRoutes, HostsCompareWithoutCaseAndPort) {
  const RoomRoutes routes(
      {{"shop", {{"shop.example.com", "/"}}}, {"wild", {{"*.tickets.example.com", "/"}}}});
  EXPECT_EQ(RoomOf(routes, "SHOP.Example.COM", "/"), "shop");
  EXPECT_EQ(RoomOf(routes, "shop.example.com:8443", "/"), "shop");
  EXPECT_EQ(RoomOf(routes, "shop.example.com.", "/"), "shop") << "a fully qualified name";
  EXPECT_EQ(RoomOf(routes, "A.Tickets.Example.com:80", "/"), "wild");
  EXPECT_EQ(RoomOf(routes, "shop.example.com.evil.org", "/"), "");
  EXPECT_EQ(RoomOf(routes, "", "/"), "");
  EXPECT_EQ(RoomOf(routes, "[::1]:8080", "/"), "");
  EXPECT_EQ(RoomRoutes::HostOf("[::1]:8080"), "::1");
  EXPECT_EQ(RoomRoutes::HostOf("Shop.example.com:443"), "Shop.example.com");
  EXPECT_EQ(RoomRoutes::HostOf("[::1"), "[::1") << "broken brackets stay as they are";
}

TEST(RoomRoutes, NothingMatchesWithoutRulesForTheHostOrPath) {
  EXPECT_EQ(RoomOf(RoomRoutes(), "shop.example.com", "/"), "");
  const RoomRoutes routes({{"sale", {{"shop.example.com", "/sale"}}}});
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "/"), "");
  EXPECT_EQ(RoomOf(routes, "shop.example.com", "sale"), "") << "not a path from the root";
  EXPECT_EQ(RoomOf(routes, "other.example.com", "/sale"), "");
}

TEST(RoomRoutes, KnowsEachRoomsMatchHosts) {
  const RoomRoutes routes(
      {{"sale", {{"shop.example.com", "/sale"}, {"*.example.org", "/"}}}, {"all", {{"*", "/"}}}});
  EXPECT_EQ(routes.MatchHosts("sale"),
            (std::vector<std::string>{"shop.example.com", "*.example.org"}));
  EXPECT_EQ(routes.MatchHosts("all"), (std::vector<std::string>{"*"}));
  EXPECT_TRUE(routes.MatchHosts("nope").empty());
}

}  // namespace
}  // namespace vwr::http
