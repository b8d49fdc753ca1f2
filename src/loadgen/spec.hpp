#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What `vwr loadgen` is told to do, read from its command line. Everything here is a plain value
// with a parser that returns an error text instead of throwing, so that the command line can say
// exactly which option is wrong.
namespace vwr::loadgen {

using Duration = std::chrono::nanoseconds;

// Either the value or the reason it could not be read.
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;
  static Parsed Ok(T v) { return Parsed{std::move(v), {}}; }
  static Parsed Fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
};

// "250ms", "5s", "2m", "1h", "1.5s" or a plain number of seconds.
Parsed<Duration> ParseDuration(std::string_view text);

// How long something lasts, drawn per user: `5s` (fixed), `uniform:2s:8s`, `exp:5s` (exponential
// with that mean).
struct DurationDistribution {
  enum class Kind { kFixed, kUniform, kExponential };
  Kind kind = Kind::kFixed;
  Duration a{};  // fixed value, uniform low, or exponential mean
  Duration b{};  // uniform high
  // `u` is a uniform draw in [0, 1).
  Duration Draw(double u) const;
  Duration Mean() const;
  std::string ToString() const;
};
Parsed<DurationDistribution> ParseDurationDistribution(std::string_view text);

// How people arrive. All rates are people per second before --scale.
struct ArrivalSpec {
  enum class Kind { kBurst, kRamp, kPoisson, kReplay };
  Kind kind = Kind::kBurst;
  std::uint64_t burst = 0;            // burst:N
  double ramp_from = 0, ramp_to = 0;  // ramp:A:B:T, then B until the run ends
  Duration ramp_over{};
  double rate = 0;                 // poisson:RATE
  std::string file;                // replay:FILE
  std::vector<double> per_second;  // replay: arrivals in each second, read from `file`
  std::string text;                // as given, for the report
};
// Reads the spec; replay reads its file (a CSV: one row per second, the last number of each
// row is that second's arrivals; a header row and `#` comments are skipped).
Parsed<ArrivalSpec> ParseArrivals(std::string_view text);
// The per-second column of a replay CSV's text.
Parsed<std::vector<double>> ParseReplayCsv(std::string_view csv);

// Which client a simulated person runs: the native API (join, status polls, heartbeats, leave)
// or the legacy TRACER script (inputQueue.do polls, outQueue.do), or a share of each.
struct ProtocolMix {
  double tracer_share = 0;  // 0: all native, 1: all TRACER
  std::string text;
};
Parsed<ProtocolMix> ParseProtocol(std::string_view text);  // native | tracer | mix:0.3

// A share of the people still waiting after `after` give up: with `leave` they give their place
// back (native: POST leave with X-VWR-Ticket; TRACER: outQueue.do), otherwise they just stop
// polling and their place lapses when called.
struct AbandonSpec {
  double share = 0;
  Duration after{};
  bool leave = false;
  std::string text;
};
Parsed<AbandonSpec> ParseAbandon(std::string_view text);  // SHARE:AFTER[:leave|:silent]

// How a session ends once its hold is over: the share of people who leave (the rest simply go
// idle and the server ends their session after session_timeout).
Parsed<double> ParseSessionEnd(std::string_view text);  // leave | idle | mix:0.7

// The userId (native) or loginId (TRACER) each person sends.
struct UserIds {
  enum class Kind { kNone, kDistinct, kPool };
  Kind kind = Kind::kDistinct;
  std::uint64_t pool = 0;  // pool:N: ids repeat among N people
};
Parsed<UserIds> ParseUserIds(std::string_view text);  // none | distinct | pool:N

// What makes the exit code non-zero (--fail-on): fairness and limit violations, errors.
struct FailOn {
  bool fifo = false;       // someone joined earlier still waiting after a later one got in
  bool positions = false;  // a position that grew
  bool errors = false;     // any error
  bool active = false;     // more sessions held at once than the room's max_active
};
Parsed<FailOn> ParseFailOn(std::string_view text);  // comma list of fifo, positions, errors, active

std::string FormatDuration(Duration d);

}  // namespace vwr::loadgen
