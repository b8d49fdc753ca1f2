// The automatic controller against a simulated origin, on simulated time.
//
// The origin has capacity C concurrent users. Its request latency is base × (1 + (n/C)^8) with
// a log-normal spread (σ = 0.15): flat at first, steep past C (×1.0 at C/2, ×2 at C, ×5.3 at
// 1.2 C, ×27 at 1.5 C); past 1.5 C it fails a growing share of requests (all of them at 2 C).
// Users wait in an endless line, are admitted whenever the limit leaves room, and stay 5 to 15 s
// (uniformly). Each active user makes 2 requests a second. Every second the controller sees the
// p95 latency and the error rate of the last second, and sets max_active.
//
// The latency target (p95 ≤ 250 ms with base 100 ms) is the origin's p95 at C: an operator who
// knows the origin's capacity latency writes it as the target, and the limit should settle at C.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <random>
#include <vector>

#include "control/controller.hpp"

namespace vwr::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr double kBaseMs = 100.0;
constexpr double kTargetMs = 250.0;

class SimulatedOrigin {
 public:
  SimulatedOrigin(double capacity, std::uint64_t seed) : capacity_(capacity), random_(seed) {}
  void set_capacity(double c) { capacity_ = c; }
  double capacity() const { return capacity_; }

  // One 100 ms step with `active` users: records their requests' latencies and errors.
  void Step(double active) {
    const double u = active / capacity_;
    const double mean = kBaseMs * (1.0 + std::pow(u, 8));
    const double error_share = std::clamp((u - 1.5) / 0.5, 0.0, 1.0);
    // 2 requests per user per second; at most 500 sampled per step (the figures are quantiles
    // and shares, so a sample of them is enough).
    const double requests = active * 0.2;
    const int samples = static_cast<int>(std::min(500.0, std::ceil(requests)));
    for (int i = 0; i < samples; ++i) {
      latencies_.push_back(mean * std::exp(0.15 * normal_(random_)));
      if (uniform_(random_) < error_share) ++errors_;
      ++requests_;
    }
  }

  // The last second's p95, p99 and error share; starts a new second.
  struct Second {
    double p95 = 0, p99 = 0, error_rate = 0;
  };
  Second Collect() {
    Second s;
    if (!latencies_.empty()) {
      std::sort(latencies_.begin(), latencies_.end());
      auto q = [&](double p) {
        return latencies_[static_cast<std::size_t>(p * static_cast<double>(latencies_.size() - 1))];
      };
      s.p95 = q(0.95);
      s.p99 = q(0.99);
      s.error_rate = static_cast<double>(errors_) / static_cast<double>(requests_);
    }
    latencies_.clear();
    errors_ = 0;
    requests_ = 0;
    return s;
  }

 private:
  double capacity_;
  std::mt19937_64 random_;
  std::normal_distribution<double> normal_;
  std::uniform_real_distribution<double> uniform_;
  std::vector<double> latencies_;
  std::int64_t errors_ = 0, requests_ = 0;
};

struct Trace {
  std::vector<double> limit;  // per second, after the controller's step
  std::vector<double> p99;
  std::vector<double> active;
};

// Runs `seconds_total` simulated seconds; capacity becomes `later_capacity` at `change_at`.
Trace Simulate(Algorithm algorithm, double capacity, double start_limit, int seconds_total,
               int change_at = -1, double later_capacity = 0) {
  SimulatedOrigin origin(capacity, 42);
  std::mt19937_64 stays(7);
  std::uniform_int_distribution<int> stay_steps(50, 150);  // 5 to 15 s in 100 ms steps

  ControlSpec spec;
  spec.algorithm = algorithm;
  spec.interval = seconds(1);
  spec.max_active = Bounds{5, 100'000};
  spec.targets = {{"origin_latency_ms", kTargetMs}, {"origin_error_rate", 0.01}};
  EXPECT_TRUE(ValidateControlSpec(spec, {"origin_latency_ms", "origin_error_rate"}).empty());
  Controller controller("shop", spec, {0, 1});

  util::FakeClock clock;
  core::Policy policy;
  policy.max_active = static_cast<std::int64_t>(start_limit);
  std::map<int, int> leaving;  // step -> users leaving then
  double active = 0;
  std::vector<SignalReading> signals(2);
  Trace trace;
  for (int step = 0; step < seconds_total * 10; ++step) {
    if (step == change_at * 10) origin.set_capacity(later_capacity);
    if (auto it = leaving.find(step); it != leaving.end()) {
      active -= it->second;
      leaving.erase(it);
    }
    // Admit up to the limit (the line never runs dry).
    const int admit =
        static_cast<int>(std::max(0.0, static_cast<double>(policy.max_active) - active));
    for (int i = 0; i < admit; ++i) ++leaving[step + stay_steps(stays)];
    active += admit;
    origin.Step(active);
    clock.Advance(milliseconds(100));
    if (step % 10 == 9) {
      const auto second = origin.Collect();
      signals[0] = SignalReading{second.p95, SignalState::kOk, seconds(0), {}};
      signals[1] = SignalReading{second.error_rate, SignalState::kOk, seconds(0), {}};
      RoomFigures figures;
      figures.active = active;
      figures.waiting = 1e6;
      auto decision = controller.Tick(clock.Now(), clock.WallNow(), signals, figures, policy);
      if (decision) {
        EXPECT_FALSE(decision->reason.empty());
        EXPECT_EQ(decision->before.max_active, policy.max_active);
        policy = decision->change.AppliedTo(policy);
      }
      trace.limit.push_back(static_cast<double>(policy.max_active));
      trace.p99.push_back(second.p99);
      trace.active.push_back(active);
    }
  }
  return trace;
}

// The first second from which the limit (and, with `load`, the active users too) stays within
// ±10 % of `capacity` up to `until` (exclusive); -1 if never.
int SettledAt(const Trace& t, double capacity, int from, int until, bool load) {
  int settled = -1;
  for (int s = from; s < until; ++s) {
    const bool inside = std::fabs(t.limit[s] - capacity) <= 0.10 * capacity &&
                        (!load || std::fabs(t.active[s] - capacity) <= 0.10 * capacity);
    if (inside && settled < 0) settled = s;
    if (!inside) settled = -1;
  }
  return settled;
}

struct Figures {
  int settle_s = -1;       // the limit
  int load_settle_s = -1;  // the limit and the load it lets in
  // From the moment the load has settled:
  double worst_p99_ratio = 0;  // p99 / target
  double swing = 0;            // max |limit − mean| / mean
};

Figures Measure(const Trace& t, double capacity, int from, int until) {
  Figures f;
  f.settle_s = SettledAt(t, capacity, from, until, false);
  const int load = SettledAt(t, capacity, from, until, true);
  if (f.settle_s < 0 || load < 0) return f;
  // A second's p99 comes from the load during that second: start with the first second that
  // began with the load settled.
  const int steady = load + 1;
  double sum = 0;
  for (int s = steady; s < until; ++s) sum += t.limit[s];
  const double mean = sum / (until - steady);
  for (int s = steady; s < until; ++s) {
    f.worst_p99_ratio = std::max(f.worst_p99_ratio, t.p99[s] / kTargetMs);
    f.swing = std::max(f.swing, std::fabs(t.limit[s] - mean) / mean);
  }
  f.settle_s -= from;
  f.load_settle_s = load - from;
  return f;
}

struct Case {
  Algorithm algorithm;
  double capacity;
  double start_factor;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << AlgorithmName(c.algorithm) << " C=" << c.capacity
      << " start=" << c.capacity * c.start_factor;
}

class ControllerConvergence : public ::testing::TestWithParam<Case> {};

TEST_P(ControllerConvergence, SettlesNearCapacityThenFollowsItDown) {
  const Case c = GetParam();
  const double start = c.capacity * c.start_factor;
  const Trace t = Simulate(c.algorithm, c.capacity, start, 240, 120, c.capacity / 2);

  const Figures first = Measure(t, c.capacity, 0, 120);
  const Figures halved = Measure(t, c.capacity / 2, 120, 240);
  std::printf(
      "[ figures  ] %s C=%.0f start=%.0f: limit settled in %d s (load %d s), p99 <= "
      "%.2fx target, swing ±%.1f%%; C halved: limit followed in %d s (load %d s), p99 <= "
      "%.2fx, swing ±%.1f%%\n",
      std::string(AlgorithmName(c.algorithm)).c_str(), c.capacity, start, first.settle_s,
      first.load_settle_s, first.worst_p99_ratio, first.swing * 100, halved.settle_s,
      halved.load_settle_s, halved.worst_p99_ratio, halved.swing * 100);

  ASSERT_GE(first.load_settle_s, 0) << "never settled within 10 % of C";
  EXPECT_LE(first.settle_s, 60);
  EXPECT_LE(first.load_settle_s, 60);
  EXPECT_LE(first.worst_p99_ratio, 1.5);
  EXPECT_LE(first.swing, 0.15);
  ASSERT_GE(halved.load_settle_s, 0) << "never settled within 10 % of C/2";
  EXPECT_LE(halved.settle_s, 30);
  EXPECT_LE(halved.load_settle_s, 30);
  EXPECT_LE(halved.worst_p99_ratio, 1.5);
  EXPECT_LE(halved.swing, 0.15);
}

INSTANTIATE_TEST_SUITE_P(
    SimulatedOrigin, ControllerConvergence,
    ::testing::Values(Case{Algorithm::kAimd, 200, 0.2}, Case{Algorithm::kAimd, 200, 5},
                      Case{Algorithm::kAimd, 2000, 0.2}, Case{Algorithm::kAimd, 2000, 5},
                      Case{Algorithm::kGradient, 200, 0.2}, Case{Algorithm::kGradient, 200, 5},
                      Case{Algorithm::kGradient, 2000, 0.2}, Case{Algorithm::kGradient, 2000, 5}),
    [](const ::testing::TestParamInfo<Case>& param) {
      return std::string(AlgorithmName(param.param.algorithm)) + "_C" +
             std::to_string(static_cast<int>(param.param.capacity)) +
             (param.param.start_factor < 1 ? "_fromFifth" : "_fromFiveTimes");
    });

}  // namespace
}  // namespace vwr::control
