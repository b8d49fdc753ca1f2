#pragma once

#include <cstdint>

#include "util/clock.hpp"

namespace vwr::core {

// The admission-rate budget of one room: a token bucket that honours `rate` exactly even though
// admissions are taken in batches (one batch per tick, whatever the tick period).
//
// A plain bucket of capacity `burst` loses tokens whenever rate × tick period exceeds `burst`:
// with burst 1, rate 50 and a 100 ms tick it would admit 10/s, not 50/s. Here the cap applies only
// to tokens accumulated while nobody was waiting; while people wait, everything that accrued since
// the last refill is kept:
//
//   refill(now, demand):  if demand: tokens = min(tokens, burst) + rate·dt
//                         else:      tokens = min(tokens + rate·dt, burst)
//
// Under steady demand the batches sum to rate × elapsed (the fraction carries over), so the long
// run is exact and at most `burst` + one tick's accrual is admitted at once.
// Not thread-safe: owned by its Room.
class RateBudget {
 public:
  RateBudget(double rate, std::int64_t burst, util::TimePoint now);

  // Adds what accrued since the last refill. `demand` tells whether people were waiting.
  void Refill(util::TimePoint now, bool demand);
  // Whole admissions available now.
  std::int64_t Available() const;
  void Take(std::int64_t n);
  // Changing the rate keeps what has accrued so far.
  void SetRate(double rate, std::int64_t burst);

  double tokens() const { return tokens_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  util::TimePoint last_;
};

}  // namespace vwr::core
