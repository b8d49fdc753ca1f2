#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "loadgen/spec.hpp"

namespace vwr::loadgen {

// The moments at which people arrive, as offsets from the start of the run, in order. Open loop:
// arrivals follow the schedule whatever the server answers.
//
//   burst:N        N people at offset 0
//   ramp:A:B:T     A per second rising linearly to B over T, then B until the end
//   poisson:RATE   exponential gaps with mean 1/RATE
//   replay:FILE    row i of the file: that many people during second i
//
// Every count is multiplied by `scale`. `speed` plays the schedule faster (a replay's hour in
// 3600/speed seconds, a ramp's T in T/speed): the same people, in less time. Rates given per
// second (ramp, poisson) and fractional counts carry over from second to second, so that the
// total over a run is what the rates say; within a second, people arrive evenly spaced (ramp,
// replay) or at random (poisson). Deterministic for a given seed, so that every worker thread can
// run the same schedule and take its own share of it (every n-th person).
class ArrivalSchedule {
 public:
  // `max_people` (0: no limit) ends the schedule after that many people.
  ArrivalSchedule(const ArrivalSpec& spec, double scale, double speed, Duration end,
                  std::uint64_t seed, std::uint64_t max_people = 0);

  // The next arrival's offset, or nullopt when nobody else arrives before `end`.
  std::optional<Duration> Next();

  // People expected in [0, end): for the report and for sizing tables up front.
  double ExpectedTotal() const;

 private:
  std::optional<Duration> NextUncapped();
  double ExpectedUncapped() const;
  double RateAt(double t_seconds) const;  // people per second at t (ramp, replay)
  bool FillSecond();                      // plans the next second's evenly spaced arrivals

  ArrivalSpec spec_;
  double scale_;
  double speed_;
  Duration end_;
  std::mt19937_64 rng_;
  // burst
  std::uint64_t burst_left_ = 0;
  // poisson
  double poisson_t_ = 0;
  // ramp, replay: one second at a time
  std::int64_t second_ = -1;
  double carry_ = 0;
  std::uint64_t in_second_ = 0;
  std::uint64_t taken_in_second_ = 0;
  double second_length_ = 1.0;  // seconds of run time per second of schedule (1/speed)
  std::uint64_t max_people_ = 0;
  std::uint64_t given_ = 0;
};

}  // namespace vwr::loadgen
