#pragma once

#include <chrono>
#include <cstdint>

namespace vwr::analytics {

struct SurgeOptions {
  // A surge begins when the short-term rate reaches `factor` times the baseline...
  double factor = 3.0;
  // ...and at least `min_rate` requests per second (a room going from 1 to 4 a second is not
  // a surge).
  double min_rate = 20.0;
  std::chrono::seconds window{5};      // the short-term rate's time constant
  std::chrono::seconds baseline{300};  // the baseline's time constant
};

// Where a room's request rate stands against its baseline.
struct SurgeState {
  bool active = false;
  double rate = 0.0;       // requests per second, short-term (EWMA over `window`)
  double baseline = 0.0;   // requests per second, long-term (EWMA over `baseline`)
  double ratio = 0.0;      // rate / baseline (0 while the baseline is 0)
  std::int64_t since = 0;  // unix second the current surge began (0: none)
};

// Detects a surge of one room's request rate: two exponentially weighted moving averages of the
// per-second count, a short one and a long one. A surge begins when the short one reaches
// factor × the long one (and min_rate), and ends when it falls back below half of that; while
// it lasts the baseline is frozen, so that a long surge does not become its own baseline.
// Not thread-safe (the pipeline thread's).
class SurgeDetector {
 public:
  explicit SurgeDetector(SurgeOptions options = {});
  // One second's request count. True when a surge begins with this second.
  bool Observe(std::int64_t second, double requests);
  const SurgeState& state() const { return state_; }

 private:
  SurgeOptions options_;
  double alpha_short_;
  double alpha_long_;
  bool primed_ = false;
  SurgeState state_;
};

}  // namespace vwr::analytics
