#include "http/request_parts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// What QueryPairs yields, as "key=value@offset" lines.
std::vector<std::string> Walk(std::string_view text) {
  std::vector<std::string> out;
  QueryPairs pairs(text);
  while (const std::optional<QueryPairs::Pair> pair = pairs.Next()) {
    out.push_back(std::string(pair->key) + "=" + std::string(pair->value) + "@" +
                  std::to_string(pair->offset));
  }
  return out;
}

TEST(QueryPairs, SplitsAtAmpersandsAndTheFirstEquals) {
  EXPECT_EQ(Walk("a=1&b=2"), (std::vector<std::string>{"a=1@0", "b=2@4"}));
  EXPECT_EQ(Walk("a=1=2"), (std::vector<std::string>{"a=1=2@0"}));
  EXPECT_EQ(Walk("flag&=v&k="), (std::vector<std::string>{"flag=@0", "=v@5", "k=@8"}));
  // Not decoded: the views are the text as sent.
  EXPECT_EQ(Walk("a%3D=b+c%26"), (std::vector<std::string>{"a%3D=b+c%26@0"}));
}

TEST(QueryPairs, SkipsEmptyPairsAndKeepsOffsets) {
  EXPECT_EQ(Walk(""), std::vector<std::string>{});
  EXPECT_EQ(Walk("&&&"), std::vector<std::string>{});
  EXPECT_EQ(Walk("&a=1&&b&"), (std::vector<std::string>{"a=1@1", "b=@6"}));
}

TEST(RequestParts, RawQueryParamAnswersWithTheFirstAsSent) {
  EXPECT_EQ(RawQueryParam("room=a%20b&room=c", "room"), "a%20b");
  EXPECT_EQ(RawQueryParam("&&room", "room"), "");
  EXPECT_EQ(RawQueryParam("rooms=1&x=room", "room"), std::nullopt);
  // A bad escape in the first copy is not cured by a second one.
  EXPECT_EQ(QueryParam("ticket=%zz&ticket=ok", "ticket"), std::nullopt);
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
