#include "core/wait_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>
#include <utility>

namespace vwr::core {
namespace {

// Age bins of the life table: [0, 0.25 s), then each 15 % wider than the one before, up to
// about four hours; the last bin takes every older age.
constexpr std::size_t kBins = 80;
constexpr double kFirstEdge = 0.25;
constexpr double kEdgeRatio = 1.15;
// The 10th and 90th percentiles of a normal, in standard deviations.
constexpr double kZ = 1.2816;
// How many resolved predictions the prior spread weighs as.
constexpr double kPriorWeight = 8.0;
// Relative spread the model has even when everything it assumes holds.
constexpr double kModelSpread = 0.05;
// Relative spread (of the logarithm) before any session has ended: about a factor 3.6 each way.
constexpr double kColdSpread = 1.0;
// Resolved predictions a band's averages weigh at most: recent ones count.
constexpr double kBandMemory = 32.0;

struct AgeEdges {
  std::array<double, kBins + 1> at{};
  double log_ratio = std::log(kEdgeRatio);
  AgeEdges() {
    for (std::size_t b = 1; b <= kBins; ++b) {
      at[b] = kFirstEdge * std::pow(kEdgeRatio, static_cast<double>(b - 1));
    }
  }
};

const AgeEdges& Edges() {
  static const AgeEdges edges;
  return edges;
}

std::size_t BinOf(double age) {
  if (!(age >= kFirstEdge)) return 0;
  const double b = 1.0 + std::floor(std::log(age / kFirstEdge) / Edges().log_ratio);
  return std::min(kBins - 1, static_cast<std::size_t>(b));
}

double SecondsOf(std::chrono::milliseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

WaitModel::WaitModel(const Policy& policy, util::TimePoint now)
    : epoch_(now),
      policy_(policy),
      cohorts_(kCohorts),
      entered_(kAgeBins, 0.0),
      exposure_(kAgeBins, 0.0),
      exits_at_(kAgeBins, 0.0),
      exit_age_sum_(kAgeBins, 0.0),
      survival_at_(kAgeBins + 1, 1.0),
      survival_across_(kAgeBins, 1.0),
      exit_age_(kAgeBins, 0.0),
      inside_(kAgeBins, 0.0),
      hazard_(kAgeBins, 0.0),
      table_(kTable + 1, 1.0) {
  static_assert(kAgeBins == kBins);
  // Until the first tick: an empty room, judged by the policy alone.
  Reset(0.0, RoomShape{});
  BuildSurvival(0.0, policy);
  Forecast(0.0, policy, RoomShape{});
  Publish(policy);
}

void WaitModel::Reset(double t, const RoomShape& shape) {
  const RoomCounters& c = shape.counters;
  raw_exits_ = static_cast<double>(c.leaves + c.expired_sessions + c.no_shows);
  no_shows_ = static_cast<double>(c.no_shows);
  unexplained_ = 0;
  exits_ = raw_exits_;
  const double occupancy =
      static_cast<double>(std::max<std::int64_t>(0, shape.active + shape.called_unclaimed));
  entries_ = exits_ + occupancy;
  immediate_ = static_cast<double>(c.immediate);
  bypass_ = static_cast<double>(c.bypass);
  bypass_rate_ = 0;
  tokens_ = static_cast<double>(policy_.burst);
  // Those in the room now count as having come in now: nothing says when they did.
  cohorts_size_ = 0;
  cohorts_head_ = 0;
  std::fill(entered_.begin(), entered_.end(), 0.0);
  std::fill(exposure_.begin(), exposure_.end(), 0.0);
  std::fill(exits_at_.begin(), exits_at_.end(), 0.0);
  std::fill(exit_age_sum_.begin(), exit_age_sum_.end(), 0.0);
  AddCohort(t, occupancy, static_cast<double>(std::max<std::int64_t>(0, shape.called_unclaimed)));
  exits_seen_ = 0;
  no_shows_seen_ = 0;
  calls_matured_ = 0;
  no_show_share_ = 0;
  for (Band& band : bands_) band = Band{};
  last_t_ = t;
}

void WaitModel::Observe(util::TimePoint now, const Policy& policy, const RoomShape& shape) {
  const double t = Seconds(now);
  const RoomCounters& c = shape.counters;
  const double raw = static_cast<double>(c.leaves + c.expired_sessions + c.no_shows);
  const double no_shows = static_cast<double>(c.no_shows);
  const double bypass = static_cast<double>(c.bypass);
  const double immediate = static_cast<double>(c.immediate);
  grace_ = std::max(SecondsOf(policy.claim_grace), 0.1);
  if (!started_ || raw < raw_exits_ || no_shows < no_shows_ || bypass < bypass_ ||
      immediate < immediate_) {
    // The first figures, or counters that went back (the room's state began anew).
    started_ = true;
    policy_ = policy;
    Reset(t, shape);
  } else {
    const double dt = t - last_t_;
    if (dt <= 0) return;
    const double occupancy =
        static_cast<double>(std::max<std::int64_t>(0, shape.active + shape.called_unclaimed));
    double exits = raw + unexplained_;
    if (exits + occupancy < entries_) {
      // Slots came free that no counter names (a call given back): ends all the same.
      unexplained_ += entries_ - (exits + occupancy);
      exits = entries_ - occupancy;
    }
    const double entries = exits + occupancy;
    const double new_entries = entries - entries_;
    const double new_bypass = bypass - bypass_;
    const double new_calls = std::max(0.0, new_entries - (immediate - immediate_) - new_bypass);
    const double new_no_shows = no_shows - no_shows_;

    // The rate budget pays for calls and immediate admissions, not for bypass admissions.
    const double burst = static_cast<double>(policy.burst);
    tokens_ = shape.waiting > 0 ? std::min(tokens_, burst) + policy.admit_rate * dt
                                : std::min(tokens_ + policy.admit_rate * dt, burst);
    tokens_ = std::max(0.0, tokens_ - std::max(0.0, new_entries - new_bypass));
    if (shape.waiting > 0 && occupancy < static_cast<double>(policy.max_active)) {
      // People wait with a slot free: the budget held them back, so less than one call's worth
      // is left (the tick calls every whole one). This also corrects the guess made at start.
      tokens_ = std::min(tokens_, 0.5);
    }
    bypass_rate_ += (1.0 - std::exp(-dt / 60.0)) * (new_bypass / dt - bypass_rate_);

    const double memory = std::max(kMemorySeconds, 4.0 * mean_holding_);
    const double decay = std::exp(-dt / memory);
    for (std::size_t b = 0; b < kAgeBins; ++b) {
      entered_[b] *= decay;
      exposure_[b] *= decay;
      exits_at_[b] *= decay;
      exit_age_sum_[b] *= decay;
    }
    exits_seen_ *= decay;
    no_shows_seen_ *= decay;
    calls_matured_ *= decay;

    CountNoShows(t, new_no_shows);
    const double unplaced = LearnSessions(t, dt, (exits - exits_) - new_no_shows);
    EndNoShows(t, new_no_shows);
    AddCohort(t, new_entries, new_calls);
    // Ends beyond everyone who was in the room at the last tick: slots taken and given up
    // again between two ticks (let in and gone at once). They end young, in the newest cohort.
    if (unplaced > 1e-9 && cohorts_size_ > 0) EndYoung(t, dt, unplaced);

    exits_ = exits;
    entries_ = entries;
    raw_exits_ = raw;
    no_shows_ = no_shows;
    immediate_ = immediate;
    bypass_ = bypass;

    const bool limits_changed =
        policy.mode != policy_.mode || policy.max_active != policy_.max_active ||
        policy.admit_rate != policy_.admit_rate || policy.burst != policy_.burst;
    if (limits_changed || policy.mode != Mode::kFifo) {
      // What was foreseen under other limits says nothing about this model's errors.
      for (Band& band : bands_) band.size = 0;
    }
    policy_ = policy;
    Resolve(t, shape);
  }
  last_t_ = t;
  BuildSurvival(t, policy);
  Forecast(t, policy, shape);
  Publish(policy);
  if (policy.mode == Mode::kFifo) Sample(t, shape);
}

void WaitModel::AddCohort(double t, double count, double calls) {
  if (count <= 0) return;
  // All gone, and past the grace (until then its calls count for the no-show share).
  while (cohorts_size_ > 0 && CohortAt(0).left <= 1e-9 && t - CohortAt(0).t > grace_ + 1.0) {
    cohorts_head_ = (cohorts_head_ + 1) % kCohorts;
    --cohorts_size_;
  }
  if (cohorts_size_ > 0) {
    // Closer than the ring's resolution: they join the last cohort.
    Cohort& last = CohortAt(cohorts_size_ - 1);
    const double span = std::max(4.0 * mean_holding_, 1.5 * grace_ + 2.0);
    if (t - last.t < span / static_cast<double>(kCohorts)) {
      last.left += count;
      last.calls += calls;
      for (std::size_t b = 0; b <= last.bin; ++b) entered_[b] += count;
      return;
    }
  }
  if (cohorts_size_ == kCohorts) {
    // Full: the two oldest become one, as old as the younger of them.
    const Cohort oldest = CohortAt(0);
    cohorts_head_ = (cohorts_head_ + 1) % kCohorts;
    --cohorts_size_;
    CohortAt(0).left += oldest.left;
    CohortAt(0).calls += oldest.calls;
  }
  CohortAt(cohorts_size_) = Cohort{t, calls, count, 0};
  entered_[0] += count;
  ++cohorts_size_;
}

double WaitModel::NoShowsIn(const Cohort& c, double t) const {
  if (t - c.t >= grace_) return 0;  // those have been counted and ended
  return std::min(c.left, no_show_share_ * c.calls);
}

void WaitModel::CountNoShows(double t, double no_shows) {
  // The figures do not say how long the calls now unclaimed have been so, only how many there
  // are: a slow claimer and a no-show to be look alike until the grace is over. So the share is
  // the no-shows counted against the calls made a grace before them.
  for (std::size_t i = 0; i < cohorts_size_; ++i) {
    const Cohort& c = CohortAt(i);
    if (t - c.t >= grace_ && last_t_ - c.t < grace_) calls_matured_ += c.calls;
  }
  no_shows_seen_ += no_shows;
  no_show_share_ =
      calls_matured_ >= 1.0 ? std::clamp(no_shows_seen_ / calls_matured_, 0.0, 1.0) : 0.0;
}

double WaitModel::LearnSessions(double t, double dt, double ends) {
  const auto& edge = Edges().at;
  // Time in the room during the tick, by age.
  for (std::size_t i = 0; i < cohorts_size_; ++i) {
    Cohort& c = CohortAt(i);
    if (c.left <= 0) continue;
    const double age = t - c.t;
    while (c.bin + 1 < kAgeBins && age >= edge[c.bin + 1]) entered_[++c.bin] += c.left;
    exposure_[c.bin] += dt * c.left;
  }
  if (ends <= 0) return 0;
  // Which slots ended is not known, only how many. Once the table has a hazard per age, the ends
  // are shared among the cohorts by how likely an end is at each one's age (an online
  // expectation step). Before that, the oldest end first: in a burst the first occupants all
  // share one age, so this seeds the table with their true ends.
  double total_exits = 0, total_exposure = 0;
  for (std::size_t b = 0; b < kAgeBins; ++b) {
    total_exits += exits_at_[b];
    total_exposure += exposure_[b];
  }
  double left = ends;
  auto end = [&](Cohort& c, double n) {
    const double age = std::max(0.0, t - c.t);
    c.left -= n;
    if (c.left < 1e-9) c.left = 0;  // no residue that would live on at ever older ages
    exits_at_[c.bin] += n;
    exit_age_sum_[c.bin] += n * age;
    left -= n;
  };
  if (total_exits >= 0.5 && total_exposure > 0) {
    // A small share for every age, so that a change in how long sessions last is learned; and
    // older occupants weigh more: when the table cannot tell who ended, the one in the room
    // longer is the likelier. Without that lean, ends wrongly given to the young leave "phantom"
    // occupants that age past any real session and, where only phantoms are, keep the hazard
    // the phantoms themselves make (the mean holding then drifts up).
    const double floor = 0.02 * total_exits / total_exposure;
    for (std::size_t b = 0; b < kAgeBins; ++b) {
      const double hazard =
          b <= last_bin_ && exposure_[b] > 1e-9 ? exits_at_[b] / exposure_[b] : tail_hazard_;
      const double age = 0.5 * (edge[b] + edge[b + 1]);
      hazard_[b] = (floor + hazard) * (1.0 + age / mean_holding_);
    }
    // Each age bin's share by its hazard; within a bin (where the hazard cannot tell cohorts
    // apart) the oldest end first: shared out evenly, the ends of a bin's older cohorts would
    // go partly to its younger ones, which then linger on after their real end.
    double weight = 0;
    std::fill(inside_.begin(), inside_.end(), 0.0);
    for (std::size_t i = 0; i < cohorts_size_; ++i) {
      const Cohort& c = CohortAt(i);
      const double at_risk = c.left - NoShowsIn(c, t);
      if (at_risk > 0) inside_[c.bin] += at_risk;
    }
    for (std::size_t b = 0; b < kAgeBins; ++b) {
      inside_[b] *= hazard_[b];
      weight += inside_[b];
    }
    if (weight > 0) {
      const double per_weight = ends / weight;
      // Cohorts are oldest first, so each bin's cohorts come together, oldest first too.
      for (std::size_t i = 0; i < cohorts_size_; ++i) {
        Cohort& c = CohortAt(i);
        const double at_risk = c.left - NoShowsIn(c, t);
        const double due = std::min(inside_[c.bin] * per_weight, left);
        if (at_risk <= 0 || due <= 1e-12) continue;
        const double n = std::min(at_risk, due);
        inside_[c.bin] -= n / per_weight;
        end(c, n);
      }
    }
  }
  // What is left to end (or everything, before the table exists): the oldest first.
  for (std::size_t i = 0; i < cohorts_size_ && left > 1e-9; ++i) {
    Cohort& c = CohortAt(i);
    if (c.left > 0) end(c, std::min(c.left, left));
  }
  exits_seen_ += ends - std::max(0.0, left);
  return std::max(0.0, left);
}

void WaitModel::EndYoung(double t, double dt, double ends) {
  // Half a tick old on average; the newest cohort first.
  const double age = 0.5 * dt;
  const std::size_t bin = BinOf(age);
  double left = ends;
  for (std::size_t i = cohorts_size_; i-- > 0 && left > 1e-9;) {
    Cohort& c = CohortAt(i);
    if (t - c.t > dt) break;
    const double n = std::min(c.left, left);
    c.left -= n;
    if (c.left < 1e-9) c.left = 0;
    left -= n;
    exits_at_[bin] += n;
    exit_age_sum_[bin] += n * age;
    exposure_[bin] += n * age;
    exits_seen_ += n;
  }
}

void WaitModel::EndNoShows(double t, double no_shows) {
  // A no-show's age is known: a grace after its call. It ends in the cohorts of that age,
  // oldest first (the tick that counted it may have run a little apart from this one); it is
  // recorded at that age whatever cohort gives it up.
  const double age = grace_;
  const std::size_t bin = BinOf(age);
  exits_at_[bin] += no_shows;
  exit_age_sum_[bin] += no_shows * age;
  exits_seen_ += no_shows;
  double left = no_shows;
  for (int pass = 0; pass < 2 && left > 1e-9; ++pass) {
    for (std::size_t i = 0; i < cohorts_size_ && left > 1e-9; ++i) {
      Cohort& c = CohortAt(i);
      if (pass == 0 && t - c.t < grace_ - 0.5) break;
      const double n = std::min(c.left, left);
      c.left -= n;
      if (c.left < 1e-9) c.left = 0;
      left -= n;
    }
  }
}

void WaitModel::BuildSurvival(double t, const Policy& policy) {
  const auto& edge = Edges().at;
  double total_exits = 0, total_exposure = 0;
  for (std::size_t b = 0; b < kAgeBins; ++b) {
    total_exits += exits_at_[b];
    total_exposure += exposure_[b];
  }
  if (total_exits < 0.5 || total_exposure <= 0) {
    // No session has ended yet: they last at least as long as the oldest has so far. Twice that
    // (half-way through, on average), and no less than the length at which the policy's two
    // limits balance.
    cold_ = true;
    double oldest = 0;
    for (std::size_t i = 0; i < cohorts_size_; ++i) {
      const Cohort& c = CohortAt(i);
      if (c.left > 1e-9) {
        oldest = std::max(0.0, t - c.t);
        break;
      }
    }
    const double balance =
        static_cast<double>(policy.max_active) / std::max(policy.admit_rate, 1e-9);
    cold_mean_ = std::max({2.0 * oldest, balance, 1.0});
    mean_holding_ = cold_mean_;
    holding_cv2_ = 1.0;
    tail_hazard_ = 1.0 / cold_mean_;
  } else {
    cold_ = false;
    std::fill(inside_.begin(), inside_.end(), 0.0);
    for (std::size_t i = 0; i < cohorts_size_; ++i) inside_[CohortAt(i).bin] += CohortAt(i).left;
    std::size_t last = 0;
    for (std::size_t b = 0; b < kAgeBins; ++b) {
      if (entered_[b] > 1e-6) last = b;
    }
    last_bin_ = last;
    double s = 1.0, mean = 0.0, second = 0.0, seen = 0.0;
    std::size_t median_bin = 0;
    for (std::size_t b = 0; b <= last; ++b) {
      // The actuarial estimate: of those who reached the bin, the share that ended in it, those
      // still inside counting half (they were at risk for part of it). Where in the bin the
      // ends fall is their mean age, so a bin in which everyone ended keeps nobody alive.
      const double at_risk = entered_[b] - 0.5 * inside_[b];
      const double across =
          at_risk > 1e-9 ? std::clamp(1.0 - exits_at_[b] / at_risk, 0.0, 1.0) : 1.0;
      const double at = exits_at_[b] > 0
                            ? std::clamp(exit_age_sum_[b] / exits_at_[b], edge[b], edge[b + 1])
                            : 0.5 * (edge[b] + edge[b + 1]);
      survival_at_[b] = s;
      survival_across_[b] = across;
      exit_age_[b] = at;
      mean += s * (at - edge[b]) + s * across * (edge[b + 1] - at);
      second += s * (1.0 - across) * at * at;
      s *= across;
      if (seen < total_exits / 2) {
        seen += exits_at_[b];
        median_bin = b;
      }
    }
    survival_at_[last + 1] = s;
    // Beyond the oldest age seen: the hazard of the older half of the ends goes on.
    double tail_exits = 0, tail_exposure = 0;
    for (std::size_t b = median_bin; b <= last; ++b) {
      tail_exits += exits_at_[b];
      tail_exposure += exposure_[b];
    }
    // One end more than counted: exposure / ends overstates the mean while ends are few (for
    // a Poisson count N, E[1 / (N + 1)] is about 1 / E[N], E[1 / N] is not).
    tail_hazard_ =
        tail_exposure > 1e-9 ? (tail_exits + 1.0) / tail_exposure : total_exits / total_exposure;
    tail_hazard_ = std::max(tail_hazard_, 1e-7);
    // The tail: ends past edge a0 at the tail hazard (an exponential from there).
    const double a0 = edge[last + 1];
    mean += s / tail_hazard_;
    second += s * (a0 * a0 + 2.0 * a0 / tail_hazard_ + 2.0 / (tail_hazard_ * tail_hazard_));
    mean_holding_ = std::max(mean, 0.05);
    holding_cv2_ = std::clamp(second / (mean_holding_ * mean_holding_) - 1.0, 0.0, 4.0);
  }
}

double WaitModel::Survival(double age) const {
  if (cold_) return std::exp(-age / cold_mean_);
  const std::size_t b = BinOf(age);
  if (b > last_bin_) {
    const double from = Edges().at[last_bin_ + 1];
    return survival_at_[last_bin_ + 1] * std::exp(-tail_hazard_ * std::max(0.0, age - from));
  }
  return survival_at_[b] * (age >= exit_age_[b] ? survival_across_[b] : 1.0);
}

double WaitModel::SurvivalFromTable(double age) const {
  const double i = age / table_step_ + 0.5;
  if (i < static_cast<double>(kTable)) return table_[static_cast<std::size_t>(i)];
  return Survival(age);
}

void WaitModel::Forecast(double t, const Policy& policy, const RoomShape& shape) {
  const double max_active = static_cast<double>(policy.max_active);
  const double rate = std::max(policy.admit_rate, 1e-9);
  const double burst = static_cast<double>(policy.burst);
  const double line = shape.last_issued > shape.frontier
                          ? static_cast<double>(shape.last_issued - shape.frontier)
                          : 0.0;
  const double waiting = static_cast<double>(shape.waiting);
  people_per_position_ = line > 0 ? std::clamp(waiting / line, 0.0, 1.0) : 1.0;
  admit_rate_ = rate;
  budget_floor_tokens_ = tokens_;

  // Calls needed to reach everyone in line and one newcomer.
  const double need = waiting + 1.0;
  const double occupancy = entries_ - exits_;
  const double by_slots = max_active / mean_holding_ - bypass_rate_;
  pace_ = std::max(1e-9, std::min(rate, by_slots));
  const double horizon =
      std::clamp(std::min(4.0 * mean_holding_, need / pace_ + mean_holding_), 1.0, 1e8);
  const double step = horizon / static_cast<double>(kGrid);
  grid_step_ = step;
  table_step_ = step / 2;
  for (std::size_t i = 0; i <= kTable; ++i) {
    table_[i] = Survival(static_cast<double>(i) * table_step_);
  }
  // The chance that a call's slot is free again m + 1/2 steps after it.
  for (std::size_t m = 0; m <= kGrid; ++m) renewal_[m] = 1.0 - table_[2 * m + 1];

  // The occupants in up to kGroups groups of about equal size, oldest first.
  struct Group {
    double count, age, survival;
  };
  std::array<Group, kGroups> groups{};
  std::size_t group_count = 0;
  {
    const double per = occupancy / static_cast<double>(kGroups);
    double count = 0, age_sum = 0;
    for (std::size_t i = 0; i < cohorts_size_; ++i) {
      const Cohort& c = CohortAt(i);
      if (c.left <= 1e-9) continue;
      const double age = std::max(0.0, t - c.t);
      count += c.left;
      age_sum += c.left * age;
      if (count > 0 && (count >= per || i + 1 == cohorts_size_) && group_count < kGroups) {
        const double mean_age = age_sum / count;
        groups[group_count++] = Group{count, mean_age, SurvivalFromTable(mean_age)};
        count = 0;
        age_sum = 0;
      }
    }
    if (count > 0 && group_count > 0) groups[group_count - 1].count += count;
  }

  // The next tick calls at once what whole tokens and free slots allow; then the fluid. Calls
  // are foreseen past the line's end too: a join after this tick is placed on the same curve.
  double tokens = tokens_;
  calls_[0] = std::max(0.0, std::min(std::floor(tokens + 1e-9), max_active - occupancy));
  tokens -= calls_[0];
  slot_bound_[0] = 0;
  for (std::size_t k = 1; k <= kGrid; ++k) {
    const double at = static_cast<double>(k) * step;
    tokens = std::min(tokens, burst) + rate * step;
    double freed = max_active - occupancy - bypass_rate_ * at;
    for (std::size_t g = 0; g < group_count; ++g) {
      const Group& group = groups[g];
      const double ended = group.survival > 1e-12
                               ? 1.0 - SurvivalFromTable(group.age + at) / group.survival
                               : 1.0 - std::exp(-tail_hazard_ * at);  // older than any end seen
      freed += group.count * ended;
    }
    // The calls foreseen so far end too, each as a new slot does.
    freed += calls_[0] * renewal_[k];
    for (std::size_t j = 1; j < k; ++j) freed += (calls_[j] - calls_[j - 1]) * renewal_[k - j];
    const double slots = freed - calls_[k - 1];
    const double add = std::max(0.0, std::min(tokens, slots));
    calls_[k] = calls_[k - 1] + add;
    slot_bound_[k] = slot_bound_[k - 1] + (slots < tokens ? add : 0.0);
    tokens -= add;
  }
}

double WaitModel::CallTime(double calls) const {
  if (calls <= calls_[0]) return 0;  // at the next tick
  if (calls > calls_[kGrid]) {
    return static_cast<double>(kGrid) * grid_step_ + (calls - calls_[kGrid]) / pace_;
  }
  // The first grid step by which that many calls are made.
  std::size_t lo = 1, hi = kGrid;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (calls_[mid] < calls) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const double before = calls_[lo - 1];
  const double made = calls_[lo] - before;
  const double f = made > 0 ? (calls - before) / made : 1.0;
  return (static_cast<double>(lo - 1) + f) * grid_step_;
}

double WaitModel::CallsBy(double seconds) const {
  const double x = seconds / grid_step_;
  if (x >= static_cast<double>(kGrid)) {
    return calls_[kGrid] + (seconds - static_cast<double>(kGrid) * grid_step_) * pace_;
  }
  const auto i = static_cast<std::size_t>(x);
  return calls_[i] + (x - static_cast<double>(i)) * (calls_[i + 1] - calls_[i]);
}

std::size_t WaitModel::BandOf(double seconds) {
  if (!(seconds >= 1.0)) return 0;
  const double b = 1.0 + std::floor(std::log2(seconds));
  return std::min(kBands - 1, static_cast<std::size_t>(b));
}

void WaitModel::Publish(const Policy& policy) {
  WaitCurve& c = curve_;
  c.basis = cold_ ? WaitBasis::kPolicy : WaitBasis::kObserved;
  c.people_per_position = people_per_position_;
  const double reach = std::max(calls_[kGrid], 1.0);
  c.calls_per_knot = reach / static_cast<double>(WaitCurve::kKnots);
  const double slot_share_end =
      calls_[kGrid] > 0 ? slot_bound_[kGrid] / calls_[kGrid] : (pace_ < admit_rate_ ? 1.0 : 0.0);

  // The spread of ln(actual / foreseen) at a horizon: what the band learned, over a prior that
  // counts only where slots, not the budget, set the pace (the budget is exact).
  auto factors = [&](double seconds, double calls, double slot_share) {
    double prior_sq = kModelSpread * kModelSpread;
    if (cold_) {
      prior_sq += kColdSpread * kColdSpread * slot_share;
    } else {
      // n calls are n renewals: their total is off by cv / sqrt(n); the mean holding learned
      // from the ends seen so far is off by about cv / sqrt(ends), and by more while few.
      prior_sq +=
          slot_share * holding_cv2_ * (1.0 / std::max(calls, 1.0) + 6.0 / (1.0 + exits_seen_));
    }
    const Band& band = bands_[BandOf(seconds)];
    const double n = band.count;
    const double variance = std::max(0.0, band.mean_sq - band.mean * band.mean);
    const double spread = std::sqrt((kPriorWeight * prior_sq + n * variance) / (kPriorWeight + n));
    const double bias = n * band.mean / (kPriorWeight + n);
    return std::pair{std::exp(bias - kZ * spread), std::exp(bias + kZ * spread)};
  };

  double low_factor = 1, high_factor = 1;
  for (std::size_t i = 0; i <= WaitCurve::kKnots; ++i) {
    const double calls = static_cast<double>(i) * c.calls_per_knot;
    const double seconds = CallTime(calls);
    double slot_share = slot_share_end;
    if (seconds < static_cast<double>(kGrid) * grid_step_) {
      const auto k = std::min(kGrid, static_cast<std::size_t>(seconds / grid_step_ + 0.5));
      if (calls_[k] > 0) slot_share = slot_bound_[k] / calls_[k];
    }
    std::tie(low_factor, high_factor) = factors(seconds, calls, slot_share);
    // The rate budget is a hard floor: no call comes sooner than it allows.
    const double floor = std::max(0.0, (calls - budget_floor_tokens_) / admit_rate_);
    double low = std::max(seconds * low_factor, floor);
    double high = seconds * high_factor;
    if (i > 0) {
      low = std::max(low, c.low_seconds[i - 1]);
      high = std::max(high, c.high_seconds[i - 1]);
    }
    c.seconds[i] = seconds;
    c.low_seconds[i] = std::min(low, seconds);
    c.high_seconds[i] = std::max(high, seconds);
  }
  c.seconds_per_call = 1.0 / pace_;
  c.low_seconds_per_call = std::clamp(c.seconds_per_call * low_factor, 1.0 / admit_rate_,
                                      std::max(c.seconds_per_call, 1.0 / admit_rate_));
  c.high_seconds_per_call = c.seconds_per_call * std::max(high_factor, 1.0);
  // A called user is let in at their next poll, about a poll_min apart at the front.
  const double poll = SecondsOf(policy.poll_min);
  c.claim_lag_seconds = 0.5 * poll;
  c.claim_lag_low_seconds = 0.1 * poll;
  c.claim_lag_high_seconds = 0.9 * poll;
  ++version_;
}

void WaitModel::Resolve(double t, const RoomShape& shape) {
  for (Band& band : bands_) {
    while (band.size > 0) {
      const Pending& p = band.pending[band.head];
      const double waited = t - p.t0;
      const bool reached = p.target <= shape.frontier;
      // Long overdue: at least this late (the frontier may never get there).
      const bool overdue = waited > 4.0 * p.predicted + 30.0;
      if (!reached && !overdue) break;
      const double x = std::log(std::max(waited, 0.05) / std::max(p.predicted, 0.05));
      band.count = std::min(band.count + 1.0, kBandMemory);
      const double w = 1.0 / band.count;
      band.mean += w * (x - band.mean);
      band.mean_sq += w * (x * x - band.mean_sq);
      band.head = (band.head + 1) % kPending;
      --band.size;
    }
  }
}

void WaitModel::Sample(double t, const RoomShape& shape) {
  const std::uint64_t line =
      shape.last_issued > shape.frontier ? shape.last_issued - shape.frontier : 0;
  // A cold guess is not the model: its errors would stay in the bands long after.
  if (line == 0 || cold_) return;
  for (std::size_t b = 1; b < kBands; ++b) {
    Band& band = bands_[b];
    if (t < band.next_sample) continue;
    const double from = std::ldexp(1.0, static_cast<int>(b) - 1);  // the band is [from, 2 from)
    band.next_sample = t + std::max(0.5, from / 4);
    const double calls = CallsBy(1.5 * from);
    if (calls < 1.0) continue;
    const double position =
        people_per_position_ > 0 ? 1.0 + (calls - 1.0) / people_per_position_ : 1.0;
    const auto places = static_cast<std::uint64_t>(std::max(1.0, std::round(position)));
    if (places > line) continue;
    const double predicted = CallTime(1.0 + static_cast<double>(places - 1) * people_per_position_);
    if (band.size == kPending) {  // full: the oldest gives way
      band.head = (band.head + 1) % kPending;
      --band.size;
    }
    band.pending[(band.head + band.size) % kPending] =
        Pending{t, shape.frontier + places, predicted};
    ++band.size;
  }
}

}  // namespace vwr::core
