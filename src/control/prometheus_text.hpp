#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vwr::control {

// One sample of the Prometheus text exposition format.
struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0.0;

  const std::string* Label(std::string_view label) const;
};

// Parses a /metrics answer (text format 0.0.4: comments, `name{label="value",...} value
// [timestamp]`). Malformed lines are skipped and counted in `bad_lines`; at most `max_samples`
// samples are kept, so that a huge answer costs bounded memory.
std::vector<PromSample> ParsePrometheusText(std::string_view text, std::size_t* bad_lines = nullptr,
                                            std::size_t max_samples = 200'000);

// A series selector such as `http_requests_total{code=~"5..", job!="batch"}`, parsed at load.
class PromSelector {
 public:
  static std::optional<PromSelector> Parse(std::string_view text, std::string* error);

  const std::string& name() const { return name_; }
  // Whether `sample` is named `name` (default: the selector's) and its labels match.
  bool Matches(const PromSample& sample, std::string_view name = {}) const;

 private:
  struct Matcher {
    std::string label;
    enum class Op { kEq, kNe, kRe, kNre } op = Op::kEq;
    std::string value;
    std::regex re;
  };
  std::string name_;
  std::vector<Matcher> matchers_;
};

// What a scraped metric becomes as a signal value.
enum class PromReading : std::uint8_t {
  kGauge,     // the sum of the matching series
  kRate,      // a counter: the per-second increase of the sum since the previous scrape
  kQuantile,  // a histogram (`<name>_bucket`): the quantile of what was observed since then
};

// Turns successive scrapes into values; keeps what the rate and the quantile need from the
// previous scrape. Not thread-safe: one per signal, used by the thread probing it.
class PromAggregator {
 public:
  PromAggregator(PromSelector selector, PromReading reading, double quantile = 0.95)
      : selector_(std::move(selector)), reading_(reading), quantile_(quantile) {}

  // The value from a scrape taken at `seconds` (a monotonic time); nullopt with `why` set when
  // there is none yet (the first scrape of a rate, no observation since the last one, no
  // matching series, a counter reset).
  std::optional<double> Update(const std::vector<PromSample>& samples, double seconds,
                               std::string* why);

 private:
  PromSelector selector_;
  PromReading reading_;
  double quantile_;
  std::optional<double> last_seconds_;
  double last_sum_ = 0.0;
  std::map<double, double> last_buckets_;  // le -> cumulative count
};

// The quantile `q` of a cumulative histogram (upper bound → count, +Inf included), by linear
// interpolation within the bucket as Prometheus's histogram_quantile does. Nullopt when empty.
std::optional<double> HistogramQuantile(double q, const std::map<double, double>& cumulative);

}  // namespace vwr::control
