#include "loadgen/arrivals.hpp"

#include <cmath>

namespace vwr::loadgen {
namespace {

double Seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }
Duration FromSeconds(double s) { return Duration(static_cast<std::int64_t>(s * 1e9)); }

}  // namespace

ArrivalSchedule::ArrivalSchedule(const ArrivalSpec& spec, double scale, double speed, Duration end,
                                 std::uint64_t seed, std::uint64_t max_people)
    : spec_(spec),
      scale_(scale),
      speed_(speed > 0 ? speed : 1.0),
      end_(end),
      rng_(seed),
      max_people_(max_people) {
  second_length_ = 1.0 / speed_;
  if (spec_.kind == ArrivalSpec::Kind::kBurst) {
    burst_left_ =
        static_cast<std::uint64_t>(std::llround(static_cast<double>(spec_.burst) * scale_));
  }
}

double ArrivalSchedule::RateAt(double t) const {
  switch (spec_.kind) {
    case ArrivalSpec::Kind::kRamp: {
      const double over = Seconds(spec_.ramp_over);
      const double f = std::min(1.0, t / over);
      return (spec_.ramp_from + (spec_.ramp_to - spec_.ramp_from) * f) * scale_;
    }
    case ArrivalSpec::Kind::kReplay: {
      const auto i = static_cast<std::size_t>(t);
      return i < spec_.per_second.size() ? spec_.per_second[i] * scale_ : 0.0;
    }
    default:
      return 0;
  }
}

bool ArrivalSchedule::FillSecond() {
  while (true) {
    ++second_;
    const double start = static_cast<double>(second_) * second_length_;
    if (start >= Seconds(end_)) return false;
    if (spec_.kind == ArrivalSpec::Kind::kReplay &&
        static_cast<std::size_t>(second_) >= spec_.per_second.size()) {
      return false;
    }
    // Schedule second `second_`: the ramp's mean rate over it (the midpoint of a linear
    // segment; exact except in the second where the ramp ends), the replay's row.
    const double expected = spec_.kind == ArrivalSpec::Kind::kRamp
                                ? RateAt(static_cast<double>(second_) + 0.5)
                                : RateAt(static_cast<double>(second_));
    const double total = carry_ + expected;
    in_second_ = static_cast<std::uint64_t>(std::floor(total));
    carry_ = total - static_cast<double>(in_second_);
    taken_in_second_ = 0;
    if (in_second_ > 0) return true;
  }
}

std::optional<Duration> ArrivalSchedule::Next() {
  if (max_people_ != 0 && given_ >= max_people_) return std::nullopt;
  auto next = NextUncapped();
  if (next) ++given_;
  return next;
}

std::optional<Duration> ArrivalSchedule::NextUncapped() {
  switch (spec_.kind) {
    case ArrivalSpec::Kind::kBurst:
      if (burst_left_ == 0 || end_.count() <= 0) return std::nullopt;
      --burst_left_;
      return Duration(0);
    case ArrivalSpec::Kind::kPoisson: {
      const double rate = spec_.rate * scale_;
      if (rate <= 0) return std::nullopt;
      std::exponential_distribution<double> gap(rate);
      poisson_t_ += gap(rng_);
      if (poisson_t_ >= Seconds(end_)) return std::nullopt;
      return FromSeconds(poisson_t_);
    }
    case ArrivalSpec::Kind::kRamp:
    case ArrivalSpec::Kind::kReplay: {
      if (second_ < 0 || taken_in_second_ >= in_second_) {
        if (!FillSecond()) return std::nullopt;
      }
      const double within = (static_cast<double>(taken_in_second_) + 0.5) /
                            static_cast<double>(in_second_) * second_length_;
      ++taken_in_second_;
      const double t = static_cast<double>(second_) * second_length_ + within;
      if (t >= Seconds(end_)) return std::nullopt;
      return FromSeconds(t);
    }
  }
  return std::nullopt;
}

double ArrivalSchedule::ExpectedTotal() const {
  const double total = ExpectedUncapped();
  return max_people_ != 0 ? std::min(total, static_cast<double>(max_people_)) : total;
}

double ArrivalSchedule::ExpectedUncapped() const {
  const double end_s = Seconds(end_);
  switch (spec_.kind) {
    case ArrivalSpec::Kind::kBurst:
      return end_.count() > 0 ? std::round(static_cast<double>(spec_.burst) * scale_) : 0;
    case ArrivalSpec::Kind::kPoisson:
      return spec_.rate * scale_ * end_s;
    case ArrivalSpec::Kind::kRamp:
    case ArrivalSpec::Kind::kReplay: {
      double total = 0;
      for (std::int64_t s = 0; static_cast<double>(s) * second_length_ < end_s; ++s) {
        if (spec_.kind == ArrivalSpec::Kind::kReplay &&
            static_cast<std::size_t>(s) >= spec_.per_second.size()) {
          break;
        }
        total += spec_.kind == ArrivalSpec::Kind::kRamp ? RateAt(static_cast<double>(s) + 0.5)
                                                        : RateAt(static_cast<double>(s));
      }
      return total;
    }
  }
  return 0;
}

}  // namespace vwr::loadgen
