#include "analytics/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace vwr::analytics {
namespace {

TEST(Counter, SumsEveryThreadsShard) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10'000; ++i) c.Add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 80'000u);
}

TEST(LatencyHistogram, RendersCumulativeBuckets) {
  LatencyHistogram h;
  h.Observe(0.00004);  // first bucket
  h.Observe(0.003);    // le=0.005
  h.Observe(5.0);      // only +Inf
  std::string out;
  h.Render(out, "x_seconds", "endpoint=\"status\"");
  EXPECT_NE(out.find("x_seconds_bucket{endpoint=\"status\",le=\"5e-05\"} 1\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("x_seconds_bucket{endpoint=\"status\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{endpoint=\"status\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{endpoint=\"status\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_count{endpoint=\"status\"} 3\n"), std::string::npos);
}

TEST(EscapeLabel, EscapesQuotesBackslashesNewlines) {
  EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace vwr::analytics
