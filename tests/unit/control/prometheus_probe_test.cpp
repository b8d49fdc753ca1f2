// The Prometheus probe against a real Prometheus (Debian's prometheus) started by the test:
// scraping its own /metrics (a counter into a rate, a histogram into a quantile) and asking it
// PromQL over what it has scraped.

#include <gtest/gtest.h>

#include <thread>

#include "control/signal_spec.hpp"
#include "support/database_servers.hpp"

namespace vwr::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using vwr::testing::Eventually;

class PrometheusServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!vwr::testing::PrometheusServer::Installed()) {
      GTEST_SKIP() << "Prometheus is not installed (apt-get install prometheus): skipped";
    }
    server_ = std::make_unique<vwr::testing::PrometheusServer>();
    ASSERT_TRUE(server_->running());
  }

  SignalSpec Spec() const {
    SignalSpec spec;
    spec.name = "prom";
    spec.kind = SignalKind::kPrometheus;
    spec.timeout = seconds(2);
    spec.prometheus.url = server_->url();
    return spec;
  }

  std::unique_ptr<Probe> Make(const SignalSpec& spec) const {
    EXPECT_TRUE(ValidateSignalSpec(spec).empty());
    std::string error;
    auto probe = MakeProbe(spec, util::SystemClock::Instance(), &error);
    EXPECT_NE(probe, nullptr) << error;
    return probe;
  }

  std::unique_ptr<vwr::testing::PrometheusServer> server_;
};

TEST_F(PrometheusServerTest, ScrapesCountersAndHistogramsFromMetrics) {
  SignalSpec rate = Spec();
  rate.prometheus.url = server_->url("/metrics");
  rate.prometheus.metric = "prometheus_http_requests_total{handler=\"/metrics\"}";
  rate.prometheus.reading = PromReading::kRate;
  auto rate_probe = Make(rate);
  SignalSpec quantile = rate;
  quantile.prometheus.metric = "prometheus_http_request_duration_seconds{handler=\"/metrics\"}";
  quantile.prometheus.reading = PromReading::kQuantile;
  quantile.prometheus.quantile = 0.9;
  quantile.prometheus.scale = 1000;  // ms
  auto quantile_probe = Make(quantile);
  // Each probe's own scrape and Prometheus's scrape of itself are requests to /metrics; the
  // series exist once one of them has been answered.
  SignalSpec gauge = rate;
  gauge.prometheus.reading = PromReading::kGauge;
  auto gauge_probe = Make(gauge);
  ASSERT_TRUE(Eventually([&] { return gauge_probe->Run().value.has_value(); }, seconds(20)));
  EXPECT_TRUE(rate_probe->Run().no_value_yet);
  EXPECT_TRUE(quantile_probe->Run().no_value_yet);
  std::optional<double> per_second, p90;
  ASSERT_TRUE(Eventually(
      [&] {
        std::this_thread::sleep_for(milliseconds(500));
        auto r = rate_probe->Run();
        auto q = quantile_probe->Run();
        EXPECT_TRUE(r.error.empty()) << r.error;
        EXPECT_TRUE(q.error.empty()) << q.error;
        if (r.value && *r.value > 0) per_second = r.value;
        if (q.value) p90 = q.value;
        return per_second && p90;
      },
      seconds(20)));
  EXPECT_LT(*per_second, 100.0);
  EXPECT_GT(*p90, 0.0);
  EXPECT_LT(*p90, 10'000.0);

  SignalSpec missing = rate;
  missing.prometheus.metric = "no_such_metric_anywhere";
  missing.prometheus.reading = PromReading::kGauge;
  EXPECT_NE(Make(missing)->Run().error.find("no series matches no_such_metric_anywhere"),
            std::string::npos);
}

TEST_F(PrometheusServerTest, AsksPromQL) {
  SignalSpec up = Spec();
  up.prometheus.query = "sum(up{job=\"self\"})";
  auto probe = Make(up);
  ASSERT_TRUE(Eventually(
      [&] {
        auto out = probe->Run();
        return out.value == 1.0;
      },
      seconds(30)))
      << "Prometheus scrapes itself every second";
  SignalSpec many = Spec();
  many.prometheus.query = "prometheus_build_info or up";
  auto out = Make(many)->Run();
  EXPECT_NE(out.error.find("aggregate it to one"), std::string::npos) << out.error;
  SignalSpec bad = Spec();
  bad.prometheus.query = "sum(";
  out = Make(bad)->Run();
  EXPECT_FALSE(out.value.has_value());
  EXPECT_NE(out.error.find("status 400"), std::string::npos) << out.error;
}

}  // namespace
}  // namespace vwr::control
