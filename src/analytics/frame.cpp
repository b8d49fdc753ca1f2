#include "analytics/frame.hpp"

#include <algorithm>
#include <cmath>

#include "core/room_counters.hpp"
#include "util/varint.hpp"

namespace vwr::analytics {

namespace {

constexpr std::array<DistributionSpec, kDistributionCount> kSpecs = {{
    {"poll_latency",
     {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1},
     1e6},  // sum in microseconds
    {"session_length", {10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400}, 1e3},
    {"wait_time", {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}, 1e3},
    {"eta_error", {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5}, 1e3},
    {"eta_poll_error", {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5}, 1e3},
}};

// Session lengths are the store's counts (core::RoomCounters::session_lengths): the same buckets.
constexpr bool SessionLengthBoundsAreTheStores() {
  const auto& bounds = kSpecs[static_cast<std::size_t>(Distribution::kSessionLength)].bounds;
  for (std::size_t b = 0; b < bounds.size(); ++b) {
    if (bounds[b] != static_cast<double>(core::kSessionLengthBoundsSeconds[b])) return false;
  }
  return core::kSessionLengthBuckets == kBucketCount &&
         kSpecs[static_cast<std::size_t>(Distribution::kSessionLength)].sum_scale == 1e3;
}
static_assert(SessionLengthBoundsAreTheStores(),
              "session_length's buckets and sum (ms) are core::SessionLengths'");

bool IsDistributionOf(FieldId id, Distribution d) {
  return id >= BucketField(d, 0) && id <= SumField(d);
}

}  // namespace

FieldKind KindOf(FieldId id) {
  if ((id >= field::kJoins && id <= field::kWithdrawn) || id == field::kAbandoned ||
      IsDistributionOf(id, Distribution::kSessionLength)) {
    return FieldKind::kTotal;
  }
  if ((id >= field::kWaiting && id <= field::kMode) || id == field::kSampled) {
    return FieldKind::kGauge;
  }
  if (IsDistributionOf(id, Distribution::kWaitTime) ||
      IsDistributionOf(id, Distribution::kEtaError) ||
      IsDistributionOf(id, Distribution::kEtaPollError) || id == field::kEtaUnder ||
      id == field::kEtaOver || id == field::kEtaInRange) {
    return FieldKind::kDerived;
  }
  return FieldKind::kCount;
}

const DistributionSpec& SpecOf(Distribution d) { return kSpecs[static_cast<std::size_t>(d)]; }

std::size_t BucketOf(Distribution d, double value) {
  const auto& bounds = SpecOf(d).bounds;
  return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                  bounds.begin());
}

bool Frame::Empty() const {
  return std::all_of(v.begin(), v.end(), [](std::uint64_t x) { return x == 0; });
}

void Frame::Merge(const Frame& later) {
  const bool later_sampled = later.v[field::kSampled] != 0;
  for (FieldId id = 0; id < field::kCount; ++id) {
    if (KindOf(id) == FieldKind::kGauge) {
      // A period whose figures were never read keeps the levels it had.
      if (later_sampled) v[id] = later.v[id];
    } else {
      v[id] += later.v[id];
    }
  }
}

void Frame::Observe(Distribution d, double value, std::uint64_t count) {
  if (!std::isfinite(value) || value < 0) value = 0;
  v[BucketField(d, BucketOf(d, value))] += count;
  const double scaled = value * SpecOf(d).sum_scale * static_cast<double>(count);
  v[SumField(d)] += static_cast<std::uint64_t>(std::min(scaled, 1e18));
}

std::string EncodeFrame(const Frame& frame) {
  std::string out;
  std::uint8_t buf[2 * util::kMaxVarintBytes];
  for (FieldId id = 0; id < field::kCount; ++id) {
    if (frame.v[id] == 0) continue;
    std::uint8_t* end = util::PutVarint(id, buf);
    end = util::PutVarint(frame.v[id], end);
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(end - buf));
  }
  return out;
}

bool DecodeFrame(std::string_view blob, Frame& frame) {
  frame = Frame{};
  const auto* p = reinterpret_cast<const std::uint8_t*>(blob.data());
  const auto* end = p + blob.size();
  while (p != end) {
    std::uint64_t id = 0, value = 0;
    if (!util::GetVarint(p, end, id) || !util::GetVarint(p, end, value)) return false;
    if (id < field::kCount) frame.v[id] = value;
  }
  return true;
}

namespace {

std::vector<MetricSpec> MakeMetrics() {
  using How = MetricSpec::How;
  std::vector<MetricSpec> m = {
      {"requests", How::kField, field::kRequests},
      {"requests_join", How::kField, field::kRequestsJoin},
      {"status_polls", How::kField, field::kRequestsStatus},
      {"requests_heartbeat", How::kField, field::kRequestsHeartbeat},
      {"requests_leave", How::kField, field::kRequestsLeave},
      {"requests_verify", How::kField, field::kRequestsVerify},
      {"requests_tracer_input", How::kField, field::kRequestsTracerInput},
      {"requests_tracer_output", How::kField, field::kRequestsTracerOutput},
      {"requests_tracer_check_bot", How::kField, field::kRequestsTracerCheckBot},
      {"requests_pages", How::kField, field::kRequestsPages},
      {"requests_other", How::kField, field::kRequestsOther},
      {"tracer_polls", How::kField, field::kTracerPolls},
      {"success", How::kField, field::kSuccess},
      {"client_errors", How::kField, field::kClientError},
      {"server_errors", How::kField, field::kServerError},
      {"blocked", How::kField, field::kBlocked},
      {"ua_browser", How::kField, field::kUaBrowser},
      {"ua_app", How::kField, field::kUaApp},
      {"ua_bot", How::kField, field::kUaBot},
      {"joins", How::kField, field::kJoins},
      {"admitted_now", How::kField, field::kAdmittedNow},
      {"queued", How::kField, field::kQueued},
      {"rejected", How::kField, field::kRejected},
      {"full", How::kField, field::kFull},
      {"bypassed", How::kField, field::kBypassed},
      {"admitted_from_line", How::kField, field::kAdmittedFromLine},
      {"leaves", How::kField, field::kLeaves},
      {"idle_timeouts", How::kField, field::kIdleTimeouts},
      {"no_shows", How::kField, field::kNoShows},
      {"abandoned", How::kField, field::kAbandoned},
      {"withdrawn", How::kField, field::kWithdrawn},
      {"ended_by_operator", How::kField, field::kEndedByOperator},
      {"surges", How::kField, field::kSurges},
      {"waiting", How::kField, field::kWaiting},
      {"called", How::kField, field::kCalled},
      {"active", How::kField, field::kActive},
      {"max_active", How::kField, field::kMaxActive},
      {"admit_rate", How::kScaledField, field::kAdmitRateMilli},
      {"mode", How::kField, field::kMode},
      {"eta_under", How::kField, field::kEtaUnder},
      {"eta_over", How::kField, field::kEtaOver},
      {"eta_in_range", How::kField, field::kEtaInRange},
      {"eta_within_range", How::kShareOfEtaJudged, field::kEtaInRange},
  };
  static constexpr std::array<Distribution, kDistributionCount> kAll = {
      Distribution::kPollLatency, Distribution::kSessionLength, Distribution::kWaitTime,
      Distribution::kEtaError, Distribution::kEtaPollError};
  static constexpr std::array<std::pair<std::string_view, double>, 3> kQuantiles = {
      {{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}}};
  // The names must outlive the vector: they live in a static list of their own.
  static std::vector<std::string> names;
  names.reserve(kAll.size() * 5);
  for (Distribution d : kAll) {
    const std::string base(SpecOf(d).name);
    names.push_back(base + "_count");
    m.push_back({names.back(), How::kCountOf, 0, d});
    names.push_back(base + "_avg");
    m.push_back({names.back(), How::kMean, 0, d});
    for (const auto& [suffix, q] : kQuantiles) {
      names.push_back(base + "_" + std::string(suffix));
      m.push_back({names.back(), How::kQuantile, 0, d, q});
    }
  }
  return m;
}

std::uint64_t CountOf(const Frame& f, Distribution d) {
  std::uint64_t n = 0;
  for (std::size_t b = 0; b < kBucketCount; ++b) n += f[BucketField(d, b)];
  return n;
}

double Quantile(const Frame& f, Distribution d, double q) {
  const std::uint64_t n = CountOf(f, d);
  if (n == 0) return 0.0;
  const auto& bounds = SpecOf(d).bounds;
  const double rank = q * static_cast<double>(n);
  double below = 0.0;
  for (std::size_t b = 0; b < kBucketCount; ++b) {
    const auto in = static_cast<double>(f[BucketField(d, b)]);
    if (in > 0 && below + in >= rank) {
      if (b == kBucketCount - 1) return bounds.back();  // beyond the last bound
      const double lo = b == 0 ? 0.0 : bounds[b - 1];
      const double hi = bounds[b];
      return lo + (hi - lo) * std::clamp((rank - below) / in, 0.0, 1.0);
    }
    below += in;
  }
  return bounds.back();
}

}  // namespace

const std::vector<MetricSpec>& Metrics() {
  static const std::vector<MetricSpec> metrics = MakeMetrics();
  return metrics;
}

const MetricSpec* FindMetric(std::string_view name) {
  for (const MetricSpec& m : Metrics()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

double MetricValue(const MetricSpec& metric, const Frame& frame) {
  using How = MetricSpec::How;
  switch (metric.how) {
    case How::kField:
      return static_cast<double>(frame[metric.id]);
    case How::kScaledField:
      return static_cast<double>(frame[metric.id]) / 1000.0;
    case How::kCountOf:
      return static_cast<double>(CountOf(frame, metric.distribution));
    case How::kMean: {
      const std::uint64_t n = CountOf(frame, metric.distribution);
      if (n == 0) return 0.0;
      return static_cast<double>(frame[SumField(metric.distribution)]) /
             SpecOf(metric.distribution).sum_scale / static_cast<double>(n);
    }
    case How::kQuantile:
      return Quantile(frame, metric.distribution, metric.quantile);
    case How::kShareOfEtaJudged: {
      const std::uint64_t judged = frame[field::kEtaUnder] + frame[field::kEtaOver];
      return judged == 0 ? 0.0
                         : static_cast<double>(frame[metric.id]) / static_cast<double>(judged);
    }
  }
  return 0.0;
}

}  // namespace vwr::analytics
