#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::analytics {

// What one room did in one period (a second, a minute, an hour): a fixed array of unsigned
// integers, one per field. Every figure the series keep is a field, so that one merge rule per
// field kind rolls seconds into minutes and hours, adds nodes together and writes history.
//
// Field ids are stored (SQLite blobs, Redis hash fields): they are never renumbered or reused.
// New fields are added at the end; an unknown id read back from history is skipped.
using FieldId = std::uint16_t;

// How a field merges with the same field of another frame.
enum class FieldKind : std::uint8_t {
  kCount,    // counted on this node (requests, distributions on the request path): summed
  kTotal,    // the delta of a store's cumulative counter (cluster-wide in Redis): summed, but in
             // Redis each increment is added once whatever the number of nodes (a high-water)
  kDerived,  // computed from the room's published figures (wait time, ETA honesty): summed; in
             // Redis only the node that ticks the room reports it
  kGauge,    // a level (waiting, active, limits): the later frame's value wins
};

namespace field {
// Requests, by endpoint and by outcome (every public request for the room).
inline constexpr FieldId kRequests = 0;
inline constexpr FieldId kRequestsJoin = 1;
inline constexpr FieldId kRequestsStatus = 2;
inline constexpr FieldId kRequestsHeartbeat = 3;
inline constexpr FieldId kRequestsLeave = 4;
inline constexpr FieldId kRequestsVerify = 5;
inline constexpr FieldId kRequestsTracerInput = 6;
inline constexpr FieldId kRequestsTracerOutput = 7;
inline constexpr FieldId kRequestsTracerCheckBot = 8;
inline constexpr FieldId kRequestsPages = 9;
inline constexpr FieldId kRequestsOther = 10;
inline constexpr FieldId kSuccess = 11;      // 1xx, 2xx, 3xx
inline constexpr FieldId kClientError = 12;  // 4xx other than the guard's
inline constexpr FieldId kServerError = 13;  // 5xx
inline constexpr FieldId kBlocked = 14;      // refused by the guard
inline constexpr FieldId kTracerPolls = 15;  // inputQueue.do calls of an identity already in line
inline constexpr FieldId kUaBrowser = 16;    // requests whose User-Agent is a browser,
inline constexpr FieldId kUaApp = 17;        // an app or library,
inline constexpr FieldId kUaBot = 18;        // a crawler or script
inline constexpr FieldId kEndedByOperator = 19;
inline constexpr FieldId kAbandoned = 20;  // waiting tickets that stopped polling
inline constexpr FieldId kSurges = 21;     // surges that began
// Weight seen per top-K dimension (the denominator of a share).
inline constexpr FieldId kSeenPageUrl = 22;
inline constexpr FieldId kSeenIp = 23;
inline constexpr FieldId kSeenIpPrefix = 24;
inline constexpr FieldId kSeenUserAgent = 25;
inline constexpr FieldId kSeenUser = 26;
inline constexpr FieldId kSeenHost = 27;
// Entries and exits: deltas of the store's RoomCounters.
inline constexpr FieldId kJoins = 28;  // new places (admitted_now + queued)
inline constexpr FieldId kAdmittedNow = 29;
inline constexpr FieldId kQueued = 30;
inline constexpr FieldId kRejected = 31;
inline constexpr FieldId kFull = 32;
inline constexpr FieldId kBypassed = 33;
inline constexpr FieldId kAdmittedFromLine = 34;
inline constexpr FieldId kLeaves = 35;
inline constexpr FieldId kIdleTimeouts = 36;
inline constexpr FieldId kNoShows = 37;
inline constexpr FieldId kWithdrawn = 38;
// Gauges: the room's state at the end of the period.
inline constexpr FieldId kWaiting = 39;
inline constexpr FieldId kCalled = 40;
inline constexpr FieldId kActive = 41;
inline constexpr FieldId kMaxActive = 42;
inline constexpr FieldId kAdmitRateMilli = 43;  // admit_rate × 1000
inline constexpr FieldId kMode = 44;            // core::Mode's value
// Distributions: 12 buckets (Distribution::kBounds) and a sum each, from kDistributionBase.
inline constexpr FieldId kDistributionBase = 45;
inline constexpr FieldId kEtaUnder = 97;  // admissions whose ETA was shorter than the wait
inline constexpr FieldId kEtaOver = 98;   // admissions whose ETA was longer than the wait
inline constexpr FieldId kSampled = 99;   // gauge: 1 when the room's figures were read
// Admissions whose real wait lay within the range (etaRange) they were told at join.
inline constexpr FieldId kEtaInRange = 100;
// Distributions from kDistributionCount4 on: 12 buckets and a sum each, from here.
inline constexpr FieldId kLaterDistributionBase = 101;
inline constexpr FieldId kCount = 114;
}  // namespace field

FieldKind KindOf(FieldId id);

// A distribution kept as fixed buckets in a frame.
enum class Distribution : std::uint8_t {
  kPollLatency,    // seconds a status poll took on the server (node)
  kSessionLength,  // seconds from admission to the session's end, every way a session ends
                   // (total: the store's core::RoomCounters::session_lengths)
  kWaitTime,       // seconds from join to call, every called ticket (derived)
  kEtaError,       // |ETA told at join − real wait| / real wait, tickets that waited ≥ 1 s
                   // (derived)
  kEtaPollError,   // the same for the ETA told at a later poll, against the wait left then
                   // (derived, sampled: see Statistics)
};
inline constexpr std::size_t kDistributionCount = 5;
// The first four distributions' fields follow kDistributionBase; later ones follow
// kLaterDistributionBase (ids are never renumbered).
inline constexpr std::size_t kFirstDistributions = 4;
inline constexpr std::size_t kBucketCount = 12;  // 11 bounds and +Inf
inline constexpr std::size_t kFieldsPerDistribution = kBucketCount + 1;

struct DistributionSpec {
  std::string_view name;                        // "wait_time"
  std::array<double, kBucketCount - 1> bounds;  // upper bounds, in the unit of the name
  double sum_scale;                             // the sum field holds value × sum_scale
};
const DistributionSpec& SpecOf(Distribution d);
inline FieldId BucketField(Distribution d, std::size_t bucket) {
  const auto i = static_cast<std::size_t>(d);
  if (i < kFirstDistributions) {
    return static_cast<FieldId>(field::kDistributionBase + i * kFieldsPerDistribution + bucket);
  }
  return static_cast<FieldId>(field::kLaterDistributionBase +
                              (i - kFirstDistributions) * kFieldsPerDistribution + bucket);
}
inline FieldId SumField(Distribution d) { return BucketField(d, kBucketCount); }
// The bucket `value` falls in.
std::size_t BucketOf(Distribution d, double value);

struct Frame {
  std::array<std::uint64_t, field::kCount> v{};

  std::uint64_t operator[](FieldId id) const { return v[id]; }
  std::uint64_t& operator[](FieldId id) { return v[id]; }
  bool Empty() const;
  // Merges `later` (the same room, a later or the same period, or another node) into this one.
  void Merge(const Frame& later);
  // Adds a distribution observation `count` times.
  void Observe(Distribution d, double value, std::uint64_t count = 1);
};

// The fields that are not zero, as LEB128 (id, value) pairs: what history stores.
std::string EncodeFrame(const Frame& frame);
// False on a malformed blob; ids this build does not know are skipped.
bool DecodeFrame(std::string_view blob, Frame& frame);

// A named figure of a frame, as the stats queries name it.
struct MetricSpec {
  std::string_view name;
  enum class How : std::uint8_t {
    kField,             // the field's value (gauges: the value at the end of the step)
    kScaledField,       // the field's value / 1000
    kMean,              // a distribution's mean
    kQuantile,          // a distribution's quantile
    kCountOf,           // a distribution's number of observations
    kShareOfEtaJudged,  // the field's value / the admissions whose ETA was judged (eta_under +
                        // eta_over), 0..1
  } how;
  FieldId id = 0;
  Distribution distribution = Distribution::kWaitTime;
  double quantile = 0.0;
};
// Every metric name (requests, joins, waiting, wait_time_p95, ...), in a stable order.
const std::vector<MetricSpec>& Metrics();
const MetricSpec* FindMetric(std::string_view name);
// The metric's value in `frame`. Integers for fields; quantiles interpolate within a bucket.
double MetricValue(const MetricSpec& metric, const Frame& frame);

}  // namespace vwr::analytics
