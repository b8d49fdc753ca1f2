#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace vwr::loadgen {

// A log-linear histogram of non-negative integers (latencies in microseconds, waits in
// milliseconds), in the manner of HdrHistogram: values below 2^SubBits are counted exactly, larger
// ones in buckets whose width is at most 1/2^(SubBits-1) of their value. So a percentile is exact
// to that relative precision (SubBits 7: 1.6 %) whatever the spread of the values, in a fixed
// amount of memory, and two histograms merge by adding their counts. Recording is two
// instructions and an increment; nothing is sorted.
//
// Not thread-safe: each worker records into its own and they are merged at the end.
template <int SubBits>
class LogLinearHistogram {
  static_assert(SubBits >= 2 && SubBits <= 12);

 public:
  static constexpr int kMaxBits = 44;  // values up to 2^44 - 1 (over 200 days in µs)
  static constexpr std::uint64_t kSub = std::uint64_t{1} << SubBits;
  static constexpr std::uint64_t kHalf = kSub / 2;
  static constexpr std::size_t kBuckets = kSub + (kMaxBits - SubBits + 1) * kHalf;

  LogLinearHistogram() : counts_(kBuckets, 0) {}

  void Record(std::uint64_t value, std::uint64_t times = 1) {
    value = std::min(value, (std::uint64_t{1} << kMaxBits) - 1);
    counts_[IndexOf(value)] += times;
    count_ += times;
    sum_ += value * times;
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
  }

  void Merge(const LogLinearHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return count_ ? max_ : 0; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
  }

  // The value at quantile q (0..1): the middle of the bucket that holds the ceil(q * count)-th
  // smallest value, within the recorded minimum and maximum. 0 when empty.
  double Quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const double lo = static_cast<double>(LowerBound(i));
        const double width = static_cast<double>(LowerBound(i + 1) - LowerBound(i));
        const double mid = lo + (width - 1) / 2;
        return std::clamp(mid, static_cast<double>(min_), static_cast<double>(max_));
      }
    }
    return static_cast<double>(max_);
  }

  // For tests: the bucket of a value and the smallest value of a bucket.
  static std::size_t IndexOf(std::uint64_t v) {
    if (v < kSub) return static_cast<std::size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - (SubBits - 1);
    return static_cast<std::size_t>(kSub + static_cast<std::uint64_t>(shift - 1) * kHalf +
                                    ((v >> shift) - kHalf));
  }
  static std::uint64_t LowerBound(std::size_t index) {
    if (index < kSub) return index;
    const std::uint64_t above = index - kSub;
    const std::uint64_t shift = above / kHalf + 1;
    return (kHalf + above % kHalf) << shift;
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
};

// Latencies per endpoint and waits: 1.6 % precision.
using Histogram = LogLinearHistogram<7>;
// One per second of the run, for the charts: 12.5 % precision, 1/16 of the memory.
using CoarseHistogram = LogLinearHistogram<4>;

}  // namespace vwr::loadgen
