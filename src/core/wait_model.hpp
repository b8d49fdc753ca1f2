#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/policy.hpp"
#include "core/room_counters.hpp"
#include "util/clock.hpp"

namespace vwr::core {

// A room's figures as every store knows them at a tick: the embedded store from its own
// core::Room, a shared store from what the tick brings back (store::RoomFigures). Nothing here is
// per ticket or per session.
struct RoomShape {
  std::uint64_t frontier = 0;
  std::uint64_t last_issued = 0;
  std::uint64_t waiting = 0;  // people in line: last_issued - frontier less the places given back
  std::int64_t active = 0;
  std::int64_t called_unclaimed = 0;
  RoomCounters counters;
};

// A wait as a waiting user is told it: the estimate and a range that holds the real wait about
// eight times in ten (its 10th and 90th percentiles), in whole seconds.
struct WaitEstimate {
  std::int64_t eta_seconds = 0;
  std::int64_t low_seconds = 0;
  std::int64_t high_seconds = 0;

  bool operator==(const WaitEstimate&) const = default;
};

// What an estimate rests on.
enum class WaitBasis : std::uint8_t {
  kPolicy,    // no session has ended yet: the policy's limits and a guess at session length,
              // with a wide range
  kObserved,  // sessions were seen to end: the model of the room's pace, calibrated
};

// When the room will make its next calls, as one tick's model foresees them: the few numbers a
// waiting poll needs, published by the store once per tick and read without a lock.
//
// The c-th call from now (c = 1 is the next) is made `seconds` after the tick, read off a
// piecewise-linear curve through kKnots + 1 knots, knot i at i * calls_per_knot calls, and
// straight on beyond the last knot at `seconds_per_call`. `low_*` and `high_*` are the same for
// the range. A ticket `position` places back needs 1 + (position - 1) * people_per_position
// calls (places given back are passed over without a call), and once called its holder claims
// at their next poll: claim_lag_* on top.
struct WaitCurve {
  static constexpr std::size_t kKnots = 16;

  WaitBasis basis = WaitBasis::kPolicy;
  double calls_per_knot = 1.0;
  double people_per_position = 1.0;
  std::array<double, kKnots + 1> seconds{};
  std::array<double, kKnots + 1> low_seconds{};
  std::array<double, kKnots + 1> high_seconds{};
  double seconds_per_call = 0.0;
  double low_seconds_per_call = 0.0;
  double high_seconds_per_call = 0.0;
  double claim_lag_seconds = 0.0;
  double claim_lag_low_seconds = 0.0;
  double claim_lag_high_seconds = 0.0;
};

// The wait of a ticket `position` places behind the frontier, from a published curve: a dozen
// loads and a little arithmetic, no allocation, no lock. `curve` is a WaitCurve, or anything with
// its members by the same names whose values convert to double and WaitBasis:
// store::PublishedFigures keeps them as atomics, each read once, so that a poll on any worker
// reads the curve while the tick rewrites it. nullopt when nobody can tell (paused, closed, or
// nothing moves); 0 when the room lets everyone in. Defined below.
template <typename Curve>
std::optional<WaitEstimate> EstimateWait(const Curve& curve, std::uint64_t position, Mode mode);

// Estimates how long the people in line will wait, from what limits the room's pace.
//
// The frontier moves when the rate budget (admit_rate, burst) and a free slot (max_active) both
// allow. Slots free when sessions end (leave, idle timeout), when calls are not claimed (no-
// shows, after claim_grace) and when calls are given back; so when max_active binds, the pace is
// set by how long a slot stays taken. The model learns that from a room's cumulative figures
// alone, which every store has at every tick, and foresees the calls to come:
//
//   occupants   occupancy = active + called_unclaimed; every tick's growth of exits + occupancy
//               is a cohort of new occupants (its calls, admissions at once, bypass admissions)
//   holding     a life table: time spent and ends per age (from the call), decayed over a few
//               minutes. Which occupants ended is not reported, only how many: the ends are
//               shared among the cohorts by the table's own hazard at each one's age (an online
//               expectation step; before any end, the oldest end first), so a table that says
//               "sessions end at 5 s" keeps saying so, and one that says "at any time" stays so.
//               A no-show's age is known (claim_grace) and is recorded as such. Slots still
//               taken count as survivors: an early run of short sessions does not read as "all
//               sessions are short"
//   forecast    on a grid up to a few holding times ahead, the tick's rule as a fluid:
//                 freed(t) = max_active - occupancy - bypass_rate * t
//                            + occupants' ends by t (each by its age) + ends of calls to come
//                 calls(t) = min(rate budget by t, freed(t))
//               then straight on at min(admit_rate, max_active / mean holding)
//   range       the model remembers what it foresaw for frontier positions a while ago and
//               compares with when the frontier really got there (a few predictions per
//               horizon band; nothing per ticket). The spread of ln(actual / foreseen) per band,
//               over a prior (calls are renewals: relative spread ~ 1 / sqrt(calls), plus the
//               holding estimate's own error), gives the 10th and 90th percentile factors
//
// Before any session has ended (a cold start) nothing says how long sessions last: the model
// assumes twice the age of the oldest (and no less than max_active / admit_rate, the length at
// which the policy's two limits balance), says so (WaitBasis::kPolicy), and widens the range.
// When the rate budget binds none of this matters: calls come at admit_rate. A policy change
// applies at the next tick: what was learned does not depend on the limits.
// Pure logic, no clock of its own, no I/O, no allocation after construction. Not thread-safe:
// owned by its Room (or its shared store's tick), which publishes curve() for the workers.
class WaitModel {
 public:
  WaitModel(const Policy& policy, util::TimePoint now);

  // One tick's figures. A few microseconds.
  void Observe(util::TimePoint now, const Policy& policy, const RoomShape& shape);

  // The next Observe() takes its figures as where the room stands, not as one tick's change:
  // for a room whose state was restored or adopted.
  void Restart() { started_ = false; }

  const WaitCurve& curve() const { return curve_; }
  // Raised whenever curve() changes.
  std::uint64_t version() const { return version_; }
  std::optional<WaitEstimate> Estimate(std::uint64_t position, Mode mode) const {
    return EstimateWait(curve_, position, mode);
  }
  // The mean time a slot stays taken (from its call or admission to its end), as last estimated.
  double mean_holding_seconds() const { return mean_holding_; }

  // How far back the life table remembers (at least; more when slots turn over slowly).
  static constexpr double kMemorySeconds = 120.0;

 private:
  static constexpr std::size_t kAgeBins = 80;
  static constexpr std::size_t kCohorts = 512;
  static constexpr std::size_t kGrid = 64;
  static constexpr std::size_t kGroups = 32;
  static constexpr std::size_t kBands = 24;
  static constexpr std::size_t kPending = 16;
  static constexpr std::size_t kTable = 1024;

  // The slots taken at one tick, and how many of them are still taken.
  struct Cohort {
    double t = 0;
    double calls = 0;  // of them from the line (only those can be no-shows)
    double left = 0;
    std::size_t bin = 0;  // its age bin, as of the last tick
  };
  // A prediction waiting for the frontier to reach `target`.
  struct Pending {
    double t0 = 0;
    std::uint64_t target = 0;
    double predicted = 0;
  };
  struct Band {
    std::array<Pending, kPending> pending{};
    std::size_t head = 0;
    std::size_t size = 0;
    double next_sample = 0;
    double count = 0;    // resolved predictions, capped (the averages' weight)
    double mean = 0;     // of ln(actual / predicted)
    double mean_sq = 0;  // of its square
  };

  double Seconds(util::TimePoint t) const { return util::ToSeconds(t - epoch_); }
  void Reset(double t, const RoomShape& shape);
  Cohort& CohortAt(std::size_t i) { return cohorts_[(cohorts_head_ + i) % kCohorts]; }
  const Cohort& CohortAt(std::size_t i) const { return cohorts_[(cohorts_head_ + i) % kCohorts]; }
  void AddCohort(double t, double count, double calls);
  // The occupants of `c` expected to be no-shows still (unclaimed calls younger than the grace).
  double NoShowsIn(const Cohort& c, double t) const;
  void CountNoShows(double t, double no_shows);
  // Shares `ends` among the occupants of the last tick; returns those left over (more ended than
  // were there: some came and went within the tick).
  double LearnSessions(double t, double dt, double ends);
  // Ends `ends` in the cohort added at this tick, at half a tick of age.
  void EndYoung(double t, double dt, double ends);
  void EndNoShows(double t, double no_shows);
  void BuildSurvival(double t, const Policy& policy);
  double Survival(double age) const;
  double SurvivalFromTable(double age) const;
  void Forecast(double t, const Policy& policy, const RoomShape& shape);
  void Resolve(double t, const RoomShape& shape);
  void Sample(double t, const RoomShape& shape);
  double CallTime(double calls) const;   // raw model, seconds from the tick
  double CallsBy(double seconds) const;  // raw model, calls made by then
  static std::size_t BandOf(double seconds);
  void Publish(const Policy& policy);

  util::TimePoint epoch_;
  bool started_ = false;
  double last_t_ = 0;
  Policy policy_;      // as at the last tick: a change makes pending predictions meaningless
  double grace_ = 20;  // claim_grace, seconds

  // What the counters said at the last tick.
  double exits_ = 0;      // cumulative ends of slots, including those no counter names
  double entries_ = 0;    // exits_ + occupancy
  double raw_exits_ = 0;  // leaves + idle expiries + no-shows, as counted
  double no_shows_ = 0;
  double immediate_ = 0;
  double unexplained_ = 0;  // ends no counter names (a call given back)
  double bypass_ = 0;
  double bypass_rate_ = 0;  // bypass admissions per second (they take slots, not calls)
  double tokens_ = 0;       // the rate budget, as the tick's rule would leave it

  // The occupants, oldest first from cohorts_head_.
  std::vector<Cohort> cohorts_;
  std::size_t cohorts_head_ = 0;
  std::size_t cohorts_size_ = 0;

  // No-shows counted, against the calls made a grace before them (both decayed): their share.
  double no_shows_seen_ = 0;
  double calls_matured_ = 0;
  double no_show_share_ = 0;

  // The life table, per age bin, decayed: occupants that reached the bin, time spent in it and
  // ends in it (with their ages summed); and, for the moment, the occupants inside it.
  std::vector<double> entered_, exposure_, exits_at_, exit_age_sum_;
  // Its survival: S at each bin's start, across the bin, and where within the bin ends fall.
  std::vector<double> survival_at_, survival_across_, exit_age_;
  std::vector<double> inside_;  // occupants in each bin now
  std::vector<double> hazard_;  // per bin, for sharing out the ends
  std::size_t last_bin_ = 0;    // the oldest bin with data; beyond it, tail_hazard_
  double tail_hazard_ = 0;
  double exits_seen_ = 0;  // decayed ends behind the table
  bool cold_ = true;
  double cold_mean_ = 1;
  double mean_holding_ = 1;
  double holding_cv2_ = 1;     // the holding's squared coefficient of variation
  std::vector<double> table_;  // survival at i * table_step_
  double table_step_ = 1;

  // The forecast: calls made by grid time k * grid_step_, and those of them the slots limited.
  std::array<double, kGrid + 1> calls_{};
  std::array<double, kGrid + 1> slot_bound_{};
  std::array<double, kGrid + 1> renewal_{};  // P(a call's slot is free again m + 1/2 steps on)
  double grid_step_ = 1;
  double pace_ = 1;  // calls per second beyond the grid
  double people_per_position_ = 1;
  double budget_floor_tokens_ = 0;  // tokens at the tick: no call comes sooner than the budget
  double admit_rate_ = 1;

  std::array<Band, kBands> bands_{};

  WaitCurve curve_;
  std::uint64_t version_ = 0;
};

// ---- the hot path ----

template <typename Curve>
std::optional<WaitEstimate> EstimateWait(const Curve& curve, std::uint64_t position, Mode mode) {
  if (mode == Mode::kPause || mode == Mode::kReject) return std::nullopt;
  if (position == 0 || mode == Mode::kPassthrough) return WaitEstimate{};
  constexpr std::size_t kKnots = WaitCurve::kKnots;
  const double people_per_position = curve.people_per_position;
  const double step = curve.calls_per_knot;
  const double calls = 1.0 + static_cast<double>(position - 1) * people_per_position;
  const double x = step > 0 ? calls / step : static_cast<double>(kKnots);
  double mid, low, high;
  if (!(x < static_cast<double>(kKnots))) {
    const double beyond = calls - static_cast<double>(kKnots) * step;
    const double mid_per_call = curve.seconds_per_call;
    const double low_per_call = curve.low_seconds_per_call;
    const double high_per_call = curve.high_seconds_per_call;
    mid = static_cast<double>(curve.seconds[kKnots]) + beyond * mid_per_call;
    low = static_cast<double>(curve.low_seconds[kKnots]) + beyond * low_per_call;
    high = static_cast<double>(curve.high_seconds[kKnots]) + beyond * high_per_call;
  } else {
    const auto i = static_cast<std::size_t>(x);
    const double f = x - static_cast<double>(i);
    const double mid0 = curve.seconds[i], mid1 = curve.seconds[i + 1];
    const double low0 = curve.low_seconds[i], low1 = curve.low_seconds[i + 1];
    const double high0 = curve.high_seconds[i], high1 = curve.high_seconds[i + 1];
    mid = mid0 + f * (mid1 - mid0);
    low = low0 + f * (low1 - low0);
    high = high0 + f * (high1 - high0);
  }
  mid += static_cast<double>(curve.claim_lag_seconds);
  low += static_cast<double>(curve.claim_lag_low_seconds);
  high += static_cast<double>(curve.claim_lag_high_seconds);
  if (!(mid < 1e9)) return std::nullopt;  // nothing is moving: no honest number
  // Somebody is ahead or being called: never "0 s" while waiting. Figures read while a tick
  // publishes may mix two ticks; the order low <= eta <= high holds whatever was read.
  WaitEstimate e;
  e.eta_seconds = mid < 1.5 ? 1 : static_cast<std::int64_t>(mid + 0.5);
  e.low_seconds = low < 1.0 ? 0 : static_cast<std::int64_t>(low);
  if (!(high < 1e9)) {
    e.high_seconds = 1'000'000'000;
  } else {
    e.high_seconds = static_cast<std::int64_t>(high);
    if (static_cast<double>(e.high_seconds) < high) ++e.high_seconds;  // rounded up
  }
  if (e.low_seconds > e.eta_seconds) e.low_seconds = e.eta_seconds;
  if (e.high_seconds < e.eta_seconds) e.high_seconds = e.eta_seconds;
  return e;
}

}  // namespace vwr::core
