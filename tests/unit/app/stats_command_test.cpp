#include "app/stats_command.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vwr::app {
namespace {

TEST(StatsTable, SeriesIsOneRowPerStepWithUtcTimesAndRightAlignedNumbers) {
  const auto table = FormatStatsTable(
      StatsQuery::kSeries,
      R"({"room":"shop","step":"1m","from":1800000000,"to":1800000120,
          "series":{"requests":[[1800000000,5210],[1800000060,6]],
                    "wait_time_p95":[[1800000000,12.5],[1800000060,0]]}})");
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(*table,
            "room shop, step 1m, 2027-01-15 08:00:00 to 2027-01-15 08:02:00 UTC\n"
            "time (UTC)           requests  wait_time_p95\n"
            "2027-01-15 08:00:00      5210           12.5\n"
            "2027-01-15 08:01:00         6              0\n");
}

TEST(StatsTable, TopShowsSharesAsPercentagesAndTheClassWhenThereIsOne) {
  const auto table = FormatStatsTable(
      StatsQuery::kTop,
      R"({"room":"shop","dim":"userAgent","from":1800000000,"to":1800003600,"total":15000,
          "top":[{"key":"curl/8.0","count":3000,"share":0.2,"class":"bot"},
                 {"key":"Mozilla/5.0","count":410,"share":0.0273,"class":"browser"}]})");
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(*table,
            "room shop, top userAgent by count, 2027-01-15 08:00:00 to 2027-01-15 09:00:00 UTC, "
            "total 15000\n"
            "#  key          count   share  class\n"
            "1  curl/8.0      3000  20.0 %  bot\n"
            "2  Mozilla/5.0    410   2.7 %  browser\n");
}

TEST(StatsTable, AKeyAClientChoseCannotWriteToTheTerminal) {
  // An escape sequence (clear the screen), a newline that would fake a row, a C1 control
  // (U+009B, CSI on some terminals), and a key far longer than a column.
  const std::string long_key(500, 'a');
  const auto table = FormatStatsTable(
      StatsQuery::kTop,
      R"({"room":"shop","dim":"pageUrl","from":0,"to":60,"total":3,"top":[)"
      R"({"key":"\u001b[2J/x\nfake 1 100.0 %","count":1,"share":0.33},)"
      R"({"key":"\u009b31m","count":1,"share":0.33},)"
      R"({"key":")" + long_key + R"(","count":1,"share":0.33}]})");
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(table->find('\x1b'), std::string::npos);
  EXPECT_EQ(table->find("\xc2\x9b"), std::string::npos);
  EXPECT_NE(table->find("\\x1b[2J/x\\x0afake"), std::string::npos) << *table;
  EXPECT_NE(table->find("\\u009b31m"), std::string::npos) << *table;
  EXPECT_EQ(table->find(long_key.substr(0, 61)), std::string::npos) << "cut at 60 characters";
  EXPECT_NE(table->find(long_key.substr(0, 60) + "…"), std::string::npos);
  // Title, header and three rows: the newline in a key made no row of its own.
  EXPECT_EQ(std::count(table->begin(), table->end(), '\n'), 5);
}

TEST(StatsTable, PeaksRankThePeriodsWithTheirOtherFigures) {
  const auto table = FormatStatsTable(
      StatsQuery::kPeaks,
      R"({"room":"shop","period":"hour","from":1799913600,"to":1800000000,"metric":"requests",
          "peaks":[{"start":1799978400,"end":1799982000,"value":912004,"requests":912004,
                    "joins":48211,"wait_time_p95":1740.25},
                   {"start":1799982000,"end":1799985600,"value":10,"requests":10,
                    "joins":1,"wait_time_p95":0}]})");
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(*table,
            "room shop, busiest hours by requests, 2027-01-14 08:00:00 to 2027-01-15 08:00:00 "
            "UTC\n"
            "#  start (UTC)          requests  joins  wait_time_p95\n"
            "1  2027-01-15 02:00:00    912004  48211        1740.25\n"
            "2  2027-01-15 03:00:00        10      1              0\n");
}

TEST(StatsTable, AnEmptyRangeSaysSo) {
  const auto top = FormatStatsTable(
      StatsQuery::kTop, R"({"room":"r","dim":"ip","from":0,"to":60,"total":0,"top":[]})");
  ASSERT_TRUE(top);
  EXPECT_NE(top->find("nothing recorded"), std::string::npos);
}

TEST(StatsTable, AnAnswerThatIsNotOneIsAnError) {
  EXPECT_FALSE(FormatStatsTable(StatsQuery::kSeries, "not json"));
  EXPECT_FALSE(FormatStatsTable(StatsQuery::kSeries, "[1,2]"));
  EXPECT_FALSE(FormatStatsTable(StatsQuery::kSeries, R"({"series":{"a":[[1,2]],"b":[]}})"));
  EXPECT_FALSE(FormatStatsTable(StatsQuery::kTop, R"({"top":3})"));
  EXPECT_FALSE(FormatStatsTable(StatsQuery::kPeaks, R"({"room":"r"})"));
}

TEST(StatsTarget, AsksTheAdminApiWithEveryOptionEncoded) {
  StatsOptions o;
  o.room = "a b&c";
  o.from = "1800000000";
  o.to = "1800003600";
  o.metrics = "requests,joins";
  auto target = StatsTarget(o, 0);
  ASSERT_TRUE(target) << target.error();
  EXPECT_EQ(*target,
            "/admin/api/v1/stats?room=a%20b%26c&to=1800003600&from=1800000000&step=1m&"
            "metrics=requests%2Cjoins");
  o.format = "csv";
  EXPECT_TRUE(StatsTarget(o, 0)->ends_with("&format=csv"));

  StatsOptions top;
  top.query = StatsQuery::kTop;
  top.dim = "pageUrl";
  top.k = "5";
  top.last = "1h";
  EXPECT_EQ(*StatsTarget(top, 1800003600),
            "/admin/api/v1/stats/top?room=default&from=1800000000&dim=pageUrl&k=5");

  StatsOptions peaks;
  peaks.query = StatsQuery::kPeaks;
  peaks.last = "7d";
  peaks.to = "1800604800";
  peaks.metric = "blocked";
  EXPECT_EQ(*StatsTarget(peaks, 0),
            "/admin/api/v1/stats/peaks?room=default&to=1800604800&from=1800000000&period=hour&"
            "metric=blocked");
}

TEST(StatsTarget, WrongOptionsAreNamed) {
  StatsOptions o;
  o.from = "yesterday";
  EXPECT_EQ(StatsTarget(o, 0).error(), "--from: unix seconds expected");
  o.from = "";
  o.to = "-5";
  EXPECT_EQ(StatsTarget(o, 0).error(), "--to: unix seconds expected");
  o.to = "";
  for (const char* last : {"1w", "h", "0m", "-1h", "99999999999d"}) {
    o.last = last;
    EXPECT_TRUE(StatsTarget(o, 0).error().starts_with("--last")) << last;
  }
  o.last = "1h";
  o.from = "1";
  EXPECT_EQ(StatsTarget(o, 0).error(), "give --from or --last, not both");
}

}  // namespace
}  // namespace vwr::app
