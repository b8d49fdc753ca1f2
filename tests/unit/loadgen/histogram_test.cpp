#include "loadgen/histogram.hpp"

#include <gtest/gtest.h>

#include <random>

namespace vwr::loadgen {
namespace {

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.Quantile(0.5), 49);
  EXPECT_EQ(h.Quantile(1.0), 99);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 99u);
  EXPECT_DOUBLE_EQ(h.mean(), 49.5);
}

TEST(Histogram, BucketsCoverEveryValueOnceAndInOrder) {
  for (std::uint64_t v = 1; v < (1u << 20); v = v * 3 / 2 + 1) {
    const std::size_t i = Histogram::IndexOf(v);
    EXPECT_LE(Histogram::LowerBound(i), v);
    EXPECT_GT(Histogram::LowerBound(i + 1), v);
  }
}

TEST(Histogram, QuantilesWithinTheStatedPrecisionOverSixDecades) {
  // Log-uniform values from 1 µs to 10 s: every quantile within 1.6 % of the exact one.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> exponent(0, 7);
  std::vector<std::uint64_t> values;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<std::uint64_t>(std::pow(10.0, exponent(rng)));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = static_cast<double>(values[static_cast<std::size_t>(q * 100000) - 1]);
    EXPECT_NEAR(h.Quantile(q), exact, exact * 0.016 + 1) << q;
  }
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a, b;
  a.Record(10, 3);
  b.Record(1'000'000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.max(), 1'000'000u);
  EXPECT_EQ(a.Quantile(0.75), 10);
  EXPECT_NEAR(a.Quantile(1.0), 1'000'000, 1'000'000 * 0.016);
}

TEST(Histogram, EmptyIsZero) {
  CoarseHistogram h;
  EXPECT_EQ(h.Quantile(0.99), 0);
  EXPECT_EQ(h.max(), 0u);
}

}  // namespace
}  // namespace vwr::loadgen
