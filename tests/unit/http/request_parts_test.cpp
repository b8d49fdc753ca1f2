#include "http/request_parts.hpp"

#include <gtest/gtest.h>

namespace vwr::http {
namespace {

TEST(RequestParts, SplitsTargetIntoPathAndQuery) {
  EXPECT_EQ(PathOf("/a/b?x=1"), "/a/b");
  EXPECT_EQ(QueryOf("/a/b?x=1"), "x=1");
  EXPECT_EQ(PathOf("/a"), "/a");
  EXPECT_EQ(QueryOf("/a"), "");
}

TEST(RequestParts, QueryParamDecodes) {
  EXPECT_EQ(QueryParam("a=1&ticket=ab%2Dc+d", "ticket"), "ab-c d");
  EXPECT_EQ(QueryParam("ticket=", "ticket"), "");
  EXPECT_EQ(QueryParam("tickets=1", "ticket"), std::nullopt);
  EXPECT_EQ(QueryParam("ticket=%zz", "ticket"), std::nullopt);
  EXPECT_EQ(QueryParam("ticket=%4", "ticket"), std::nullopt);
  EXPECT_EQ(QueryParam("ticket=%", "ticket"), std::nullopt);
}

std::vector<std::string_view> Segments(std::string_view path) {
  const PathSegments s = SplitPath(path);
  return {s.begin(), s.end()};
}

TEST(RequestParts, SplitPathKeepsEmptySegments) {
  EXPECT_EQ(Segments("/api/v1/rooms/x"),
            (std::vector<std::string_view>{"api", "v1", "rooms", "x"}));
  EXPECT_EQ(Segments("/api//x"), (std::vector<std::string_view>{"api", "", "x"}));
  EXPECT_EQ(Segments("/"), (std::vector<std::string_view>{""}));
  EXPECT_TRUE(SplitPath("relative").empty());
}

TEST(RequestParts, SplitPathMarksOverlongPaths) {
  EXPECT_EQ(SplitPath("/1/2/3/4/5/6/7/8").size(), 8u);
  const PathSegments long_path = SplitPath("/1/2/3/4/5/6/7/8/9/10");
  EXPECT_EQ(long_path.size(), PathSegments::kMax + 1);
  EXPECT_EQ(Segments("/1/2/3/4/5/6/7/8/9/10").size(), PathSegments::kMax);
}

TEST(RequestParts, BearerToken) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
}

}  // namespace
}  // namespace vwr::http
