#include "control/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace vwr::control {
namespace {

constexpr std::string_view kScrape = R"(# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",route="/api"} 1000
http_requests_total{code="503",route="/api"} 10 1700000000000
http_requests_total{code="500",route="/static"} 5
node_load1 0.75
weird{label="a \"quoted\" \\ value\nx"} +Inf
broken{ 12
also broken 1 2 3
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 100
latency_seconds_bucket{le="0.25"} 150
latency_seconds_bucket{le="0.5"} 190
latency_seconds_bucket{le="+Inf"} 200
latency_seconds_sum 30
latency_seconds_count 200
)";

PromSelector Selector(std::string_view text) {
  std::string error;
  auto s = PromSelector::Parse(text, &error);
  EXPECT_TRUE(s.has_value()) << error;
  return *s;
}

TEST(PrometheusText, ParsesSamplesLabelsAndSkipsBadLines) {
  std::size_t bad = 0;
  const auto samples = ParsePrometheusText(kScrape, &bad);
  EXPECT_EQ(bad, 2u);
  ASSERT_EQ(samples.size(), 11u);
  EXPECT_EQ(samples[0].name, "http_requests_total");
  EXPECT_EQ(*samples[0].Label("route"), "/api");
  EXPECT_EQ(samples[1].value, 10);
  EXPECT_EQ(*samples[4].Label("label"), "a \"quoted\" \\ value\nx");
  EXPECT_TRUE(std::isinf(samples[4].value));
  EXPECT_EQ(ParsePrometheusText(kScrape, nullptr, 3).size(), 3u) << "bounded";
}

TEST(PrometheusText, SelectorsMatchByEqualityAndRegex) {
  const auto samples = ParsePrometheusText(kScrape);
  auto count = [&](std::string_view selector) {
    const PromSelector s = Selector(selector);
    return std::count_if(samples.begin(), samples.end(),
                         [&](const PromSample& x) { return s.Matches(x); });
  };
  EXPECT_EQ(count("http_requests_total"), 3);
  EXPECT_EQ(count("http_requests_total{code=~\"5..\"}"), 2);
  EXPECT_EQ(count("http_requests_total{code=~\"5..\", route!=\"/static\"}"), 1);
  EXPECT_EQ(count("http_requests_total{code!~\"5..\"}"), 1);
  EXPECT_EQ(count("http_requests_total{missing=\"\"}"), 3) << "a missing label is empty";
  std::string error;
  EXPECT_FALSE(PromSelector::Parse("http{code=~\"(\"}", &error));
  EXPECT_NE(error.find("not a regular expression"), std::string::npos);
  EXPECT_FALSE(PromSelector::Parse("{code=\"1\"}", &error));
  EXPECT_FALSE(PromSelector::Parse("a{code=1}", &error));
  EXPECT_FALSE(PromSelector::Parse("a b", &error));
}

TEST(PrometheusText, GaugeIsTheSumOfTheMatchingSeries) {
  PromAggregator gauge(Selector("http_requests_total{route=\"/api\"}"), PromReading::kGauge);
  std::string why;
  EXPECT_EQ(gauge.Update(ParsePrometheusText(kScrape), 1.0, &why), 1010.0);
  PromAggregator none(Selector("nothing_here"), PromReading::kGauge);
  EXPECT_FALSE(none.Update(ParsePrometheusText(kScrape), 1.0, &why));
  EXPECT_EQ(why, "no series matches nothing_here");
}

TEST(PrometheusText, CounterBecomesARateAndSurvivesResets) {
  PromAggregator rate(Selector("c"), PromReading::kRate);
  std::string why;
  EXPECT_FALSE(rate.Update(ParsePrometheusText("c 100\n"), 10.0, &why));
  EXPECT_EQ(why, "first scrape: a rate needs two");
  EXPECT_DOUBLE_EQ(*rate.Update(ParsePrometheusText("c{a=\"1\"} 150\nc{a=\"2\"} 10\n"), 15.0, &why),
                   12.0);
  EXPECT_FALSE(rate.Update(ParsePrometheusText("c 3\n"), 20.0, &why)) << "restarted service";
  EXPECT_EQ(why, "the counter was reset");
  EXPECT_DOUBLE_EQ(*rate.Update(ParsePrometheusText("c 13\n"), 25.0, &why), 2.0);
}

TEST(PrometheusText, HistogramQuantileOfWhatWasObservedSinceTheLastScrape) {
  PromAggregator q(Selector("latency_seconds"), PromReading::kQuantile, 0.95);
  std::string why;
  EXPECT_FALSE(q.Update(ParsePrometheusText(kScrape), 1.0, &why));
  // 100 more observations, all between 0.25 and 0.5: the window's p95 is inside that bucket.
  const std::string later = R"(latency_seconds_bucket{le="0.1"} 100
latency_seconds_bucket{le="0.25"} 150
latency_seconds_bucket{le="0.5"} 290
latency_seconds_bucket{le="+Inf"} 300
)";
  auto value = q.Update(ParsePrometheusText(later), 2.0, &why);
  ASSERT_TRUE(value.has_value()) << why;
  // Rank 95 of the window's 100, all in (0.25, 0.5]: 95 % of the way through that bucket.
  EXPECT_DOUBLE_EQ(*value, 0.25 + 0.25 * 0.95);
  EXPECT_FALSE(q.Update(ParsePrometheusText(later), 3.0, &why));
  EXPECT_EQ(why, "nothing observed since the last scrape");
  std::map<double, double> h = {{0.1, 50}, {0.2, 100}, {INFINITY, 100}};
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.5, h), 0.1);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.75, h), 0.15);
  EXPECT_FALSE(HistogramQuantile(0.5, {}).has_value());
}

}  // namespace
}  // namespace vwr::control
