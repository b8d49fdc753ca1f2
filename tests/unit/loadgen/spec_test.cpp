#include "loadgen/spec.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace vwr::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Spec, DurationsInEveryUnit) {
  EXPECT_EQ(*ParseDuration("250ms").value, milliseconds(250));
  EXPECT_EQ(*ParseDuration("5s").value, seconds(5));
  EXPECT_EQ(*ParseDuration("1.5s").value, milliseconds(1500));
  EXPECT_EQ(*ParseDuration("2m").value, seconds(120));
  EXPECT_EQ(*ParseDuration("1h").value, seconds(3600));
  EXPECT_EQ(*ParseDuration("3").value, seconds(3));
  EXPECT_FALSE(ParseDuration("soon"));
  EXPECT_FALSE(ParseDuration("-1s"));
  EXPECT_FALSE(ParseDuration(""));
}

TEST(Spec, HoldDistributions) {
  const auto fixed = ParseDurationDistribution("5s");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed.value->Draw(0.9), seconds(5));

  const auto uniform = ParseDurationDistribution("uniform:2s:8s");
  ASSERT_TRUE(uniform);
  EXPECT_EQ(uniform.value->Draw(0.0), seconds(2));
  EXPECT_EQ(uniform.value->Draw(0.5), seconds(5));
  EXPECT_EQ(uniform.value->Mean(), seconds(5));

  const auto exp = ParseDurationDistribution("exp:5s");
  ASSERT_TRUE(exp);
  EXPECT_EQ(exp.value->Draw(0.0), seconds(0));
  // The median of an exponential is mean * ln 2.
  EXPECT_NEAR(std::chrono::duration<double>(exp.value->Draw(0.5)).count(), 5 * std::log(2.0), 1e-6);
  EXPECT_EQ(exp.value->ToString(), "exp:5s");

  EXPECT_FALSE(ParseDurationDistribution("uniform:8s:2s"));
  EXPECT_FALSE(ParseDurationDistribution("normal:5s"));
}

TEST(Spec, ArrivalKinds) {
  const auto burst = ParseArrivals("burst:1000");
  ASSERT_TRUE(burst);
  EXPECT_EQ(burst.value->kind, ArrivalSpec::Kind::kBurst);
  EXPECT_EQ(burst.value->burst, 1000u);

  const auto ramp = ParseArrivals("ramp:10:100:30s");
  ASSERT_TRUE(ramp);
  EXPECT_EQ(ramp.value->ramp_from, 10);
  EXPECT_EQ(ramp.value->ramp_to, 100);
  EXPECT_EQ(ramp.value->ramp_over, seconds(30));

  const auto poisson = ParseArrivals("poisson:12.5");
  ASSERT_TRUE(poisson);
  EXPECT_EQ(poisson.value->rate, 12.5);

  EXPECT_FALSE(ParseArrivals("burst:many"));
  EXPECT_FALSE(ParseArrivals("ramp:1:2"));
  EXPECT_FALSE(ParseArrivals("flood:3"));
  EXPECT_FALSE(ParseArrivals("replay:/no/such/file.csv"));
}

TEST(Spec, ReplayCsvTakesTheLastColumnAndSkipsAHeader) {
  const auto rows = ParseReplayCsv("second,arrivals\n0,5\n1,7.5\n# a comment\n\n2,0\n");
  ASSERT_TRUE(rows) << rows.error;
  EXPECT_EQ(*rows.value, (std::vector<double>{5, 7.5, 0}));
  EXPECT_EQ(*ParseReplayCsv("3\n4\n").value, (std::vector<double>{3, 4}));
  EXPECT_FALSE(ParseReplayCsv("1\nabc\n"));
  EXPECT_FALSE(ParseReplayCsv("1\n-2\n"));
  EXPECT_FALSE(ParseReplayCsv("header only\n"));
}

TEST(Spec, ProtocolAbandonSessionEndUserIdsFailOn) {
  EXPECT_EQ(ParseProtocol("native").value->tracer_share, 0);
  EXPECT_EQ(ParseProtocol("tracer").value->tracer_share, 1);
  EXPECT_EQ(ParseProtocol("mix:0.3").value->tracer_share, 0.3);
  EXPECT_FALSE(ParseProtocol("mix:1.5"));

  const auto abandon = ParseAbandon("0.1:30s:leave");
  ASSERT_TRUE(abandon);
  EXPECT_EQ(abandon.value->share, 0.1);
  EXPECT_EQ(abandon.value->after, seconds(30));
  EXPECT_TRUE(abandon.value->leave);
  EXPECT_FALSE(ParseAbandon("0.1:30s").value->leave);
  EXPECT_FALSE(ParseAbandon("2:30s"));
  EXPECT_FALSE(ParseAbandon("0.1:30s:shout"));

  EXPECT_EQ(*ParseSessionEnd("leave").value, 1.0);
  EXPECT_EQ(*ParseSessionEnd("idle").value, 0.0);
  EXPECT_EQ(*ParseSessionEnd("mix:0.7").value, 0.7);
  EXPECT_FALSE(ParseSessionEnd("vanish"));

  EXPECT_EQ(ParseUserIds("pool:50").value->pool, 50u);
  EXPECT_EQ(ParseUserIds("none").value->kind, UserIds::Kind::kNone);
  EXPECT_FALSE(ParseUserIds("pool:0"));

  const auto fail = ParseFailOn("fifo,positions");
  ASSERT_TRUE(fail);
  EXPECT_TRUE(fail.value->fifo);
  EXPECT_TRUE(fail.value->positions);
  EXPECT_FALSE(fail.value->errors);
  EXPECT_TRUE(ParseFailOn("fairness").value->positions);
  EXPECT_FALSE(ParseFailOn("fifo,nonsense"));
}

}  // namespace
}  // namespace vwr::loadgen
