#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace vwr::analytics {

// Counters are written by every worker thread on every request. Each thread writes its own
// cache line (a shard) and a scrape sums the shards, so counting never makes two cores fight
// over one line.
inline constexpr std::size_t kShards = 16;

// The shard of the calling thread (assigned round-robin on first use).
std::size_t ThreadShard();

class Counter {
 public:
  void Add(std::uint64_t n = 1) {
    shards_[ThreadShard()].value.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t Value() const;

 private:
  struct alignas(64) Shard {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Shard, kShards> shards_;
};

// A latency histogram with fixed buckets (seconds), in Prometheus' cumulative form at scrape.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                     0.0025,  0.005,  0.01,    0.025,  0.05,
                                                     0.1,     0.25,   0.5,     1.0};
  void Observe(double seconds);
  // Appends `<name>_bucket{labels,le=...}`, `_sum` and `_count` lines.
  void Render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts{};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  std::array<Shard, kShards> shards_;
};

// Prometheus text exposition helpers.
void AppendHelp(std::string& out, std::string_view name, std::string_view type,
                std::string_view help);
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value);
void AppendSample(std::string& out, std::string_view name, std::string_view labels,
                  std::uint64_t value);
// Escapes a label value (backslash, quote, newline).
std::string EscapeLabel(std::string_view value);

}  // namespace vwr::analytics
