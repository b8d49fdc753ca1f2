#include "analytics/statistics.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>

#include "analytics/metrics.hpp"
#include "util/log_escape.hpp"

namespace vwr::analytics {

namespace {

constexpr std::size_t kMaxMarks = 86'400;  // a day of seconds in which tickets were issued

std::int64_t UnixSeconds(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

// Adds `frame` at period `t` to ascending `frames`.
void MergeInto(Frames& frames, std::int64_t t, const Frame& frame) {
  auto it = std::lower_bound(frames.begin(), frames.end(), t,
                             [](const auto& entry, std::int64_t v) { return entry.first < v; });
  if (it != frames.end() && it->first == t) {
    it->second.Merge(frame);
  } else {
    frames.emplace(it, t, frame);
  }
}

// The figures each room shows in the live stream.
constexpr std::array<std::string_view, 20> kLiveMetrics = {
    "requests",      "status_polls",  "tracer_polls", "joins",     "admitted_now",
    "queued",        "rejected",      "full",         "bypassed",  "admitted_from_line",
    "leaves",        "idle_timeouts", "no_shows",     "withdrawn", "blocked",
    "server_errors", "waiting",       "called",       "active",    "max_active"};

}  // namespace

Statistics::RoomSeries::RoomSeries(std::size_t ring_seconds, const SurgeOptions& surge_options)
    : ring(ring_seconds), ring_t(ring_seconds, -1), surge(surge_options) {}

Statistics::Statistics(StatisticsOptions options, std::unique_ptr<History> history)
    : options_(options),
      ring_seconds_(static_cast<std::size_t>(
          std::clamp<std::int64_t>(options.retention.seconds.count(), 60, 3600))),
      recorder_(options.recorder),
      history_(std::move(history)) {}

Statistics::~Statistics() { Stop(); }

Statistics::RoomSeries& Statistics::SeriesOf(const std::string& room) {
  auto it = series_.find(room);
  if (it == series_.end()) {
    it = series_.emplace(room, std::make_unique<RoomSeries>(ring_seconds_, options_.surge)).first;
  }
  return *it->second;
}

std::array<std::uint64_t, Statistics::kTotalFields> Statistics::TotalsOf(
    const core::RoomCounters& c) {
  std::array<std::uint64_t, kTotalFields> totals = {
      c.joins,
      c.immediate,
      c.joins - std::min(c.joins, c.immediate),
      c.rejected,
      c.full,
      c.bypass,
      c.admissions - std::min(c.admissions, c.immediate),
      c.leaves,
      c.expired_sessions,
      c.no_shows,
      c.withdrawn,
      c.abandoned};
  // Then session_length, bucket by bucket and the sum (ms, the field's unit).
  for (std::size_t b = 0; b < core::kSessionLengthBuckets; ++b) {
    totals[kCounterFields + b] = c.session_lengths.buckets[b];
  }
  totals[kCounterFields + kBucketCount] = c.session_lengths.sum_ms;
  return totals;
}

bool Statistics::Baseline(const std::vector<RoomSample>& samples) {
  std::lock_guard lock(mu_);
  bool all = true;
  for (const RoomSample& sample : samples) {
    RoomSeries& s = SeriesOf(sample.room);
    if (s.has_totals) continue;
    if (!sample.counters_known) {
      all = false;
      continue;
    }
    s.totals = TotalsOf(sample.counters);
    s.has_totals = true;
    // The line now: tickets issued after this are the first second's, and their waits count
    // (without it, a node's first second of tickets would read as issued before it watched).
    if (s.marks.empty() && !s.has_frontier) {
      s.marks.push_back(
          Mark{.second = std::numeric_limits<std::int64_t>::min(),
               .last_issued = std::min(sample.last_issued,
                                       sample.known_since_last_issued.value_or(sample.last_issued)),
               .frontier = sample.frontier,
               .rate = 0});
      s.frontier = sample.frontier;
      s.has_frontier = true;
    }
  }
  return all;
}

void Statistics::Start(const util::Clock& clock, SampleSource source) {
  // The store's counts now are where the first second's deltas start: what happens between
  // now and the first step is that second's, not lost in the baseline.
  const bool known = !source || Baseline(source());
  thread_ =
      std::thread([this, &clock, known, source = std::move(source)] { Run(clock, source, known); });
}

void Statistics::Run(const util::Clock& clock, SampleSource source, bool baseline_known) {
  std::unique_lock lock(run_mu_);
  // A shared store's figures are known from the node's first tick on (a tenth of a second):
  // until then the baseline is taken again every few milliseconds, so that what the node
  // serves meanwhile is counted.
  constexpr auto kBaselineRetry = std::chrono::milliseconds(20);
  constexpr int kBaselineTries = 250;
  for (int i = 0; !baseline_known && i < kBaselineTries; ++i) {
    if (run_cv_.wait_for(lock, kBaselineRetry, [this] { return stopping_; })) return;
    lock.unlock();
    baseline_known = Baseline(source());
    lock.lock();
  }
  while (!stopping_) {
    // Wake just after the next wall-clock second begins.
    const auto since_epoch = clock.WallNow().time_since_epoch();
    const auto into_second = since_epoch % std::chrono::seconds(1);
    const auto wait = std::chrono::seconds(1) - into_second + std::chrono::milliseconds(2);
    if (run_cv_.wait_for(lock, wait, [this] { return stopping_; })) break;
    lock.unlock();
    Tick(UnixSeconds(clock), source ? source() : std::vector<RoomSample>{});
    lock.lock();
  }
}

void Statistics::Stop() {
  {
    std::lock_guard lock(run_mu_);
    if (stopped_) return;
    stopped_ = stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!history_) return;
  HistoryBatch batch;
  {
    std::lock_guard lock(mu_);
    batch.second = last_second_;
    for (auto& [room, s] : series_) {
      if (s->open_minute < 0 || s->minute.Empty()) continue;
      batch.minutes.push_back({room, s->open_minute, s->minute,
                               ListsOf(s->minute_top, options_.retention.top_minute_keys)});
      s->minute = Frame{};
      for (auto& t : s->minute_top) t.Clear();
    }
  }
  history_->Append(std::move(batch));
  history_->Close();
}

TopLists Statistics::ListsOf(const std::array<TopTable, kDimensionCount>& tables, std::size_t k) {
  TopLists lists;
  for (std::size_t d = 0; d < kDimensionCount; ++d) lists[d] = tables[d].Top(k);
  return lists;
}

void Statistics::ApplySample(RoomSeries& s, const RoomSample& sample, std::int64_t second,
                             Frame& frame, RoomSecond& out) {
  frame[field::kWaiting] = sample.waiting;
  frame[field::kCalled] = static_cast<std::uint64_t>(std::max<std::int64_t>(0, sample.called));
  frame[field::kActive] = static_cast<std::uint64_t>(std::max<std::int64_t>(0, sample.active));
  frame[field::kMaxActive] =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, sample.policy.max_active));
  frame[field::kAdmitRateMilli] =
      static_cast<std::uint64_t>(std::llround(std::max(0.0, sample.policy.admit_rate) * 1000.0));
  frame[field::kMode] = static_cast<std::uint64_t>(sample.policy.mode);
  frame[field::kSampled] = 1;

  if (!sample.counters_known) return DeriveWaits(s, sample, second, frame);
  const std::array<std::uint64_t, kTotalFields> now = TotalsOf(sample.counters);
  for (std::size_t i = 0; i < kTotalFields; ++i) {
    const FieldId id = TotalField(i);
    // The first sample is the baseline; a count that went down (a room's state reset) starts
    // a new one.
    if (s.has_totals && now[i] >= s.totals[i]) frame[id] += now[i] - s.totals[i];
    out.totals[id] = now[i];
  }
  out.has_totals = true;
  s.totals = now;
  s.has_totals = true;
  DeriveWaits(s, sample, second, frame);
}

void Statistics::DeriveWaits(RoomSeries& s, const RoomSample& sample, std::int64_t second,
                             Frame& frame) {
  const double rate = sample.advance_rate > 0 ? sample.advance_rate : sample.policy.admit_rate;
  if (s.marks.empty() || s.marks.back().last_issued != sample.last_issued) {
    Mark mark{.second = second,
              .last_issued = sample.last_issued,
              .frontier = sample.frontier,
              .rate = rate,
              .first_new = s.marks.empty() ? sample.last_issued : s.marks.back().last_issued + 1};
    if (sample.wait_told && sample.reports_derived && mark.first_new <= mark.last_issued) {
      mark.told_first = sample.wait_told(mark.first_new);
      mark.told_last = sample.wait_told(mark.last_issued);
    }
    s.marks.push_back(mark);
    if (s.marks.size() > kMaxMarks) s.marks.pop_front();
  }
  if (!s.has_frontier || sample.frontier < s.frontier) {
    s.frontier = sample.frontier;
    s.has_frontier = true;
    s.probes.clear();  // a new line: what was told of the old one is never judged
    return;
  }
  std::uint64_t a = s.frontier + 1;
  const std::uint64_t b = sample.frontier;
  s.frontier = sample.frontier;
  if (!sample.reports_derived) {
    s.probes.clear();
    return;
  }
  if (a <= b) {
    // Mark i holds the tickets (marks[i-1].last_issued, marks[i].last_issued], issued in its
    // second; tickets up to the first mark's were issued before this process watched.
    auto it = std::lower_bound(s.marks.begin(), s.marks.end(), a,
                               [](const Mark& m, std::uint64_t n) { return m.last_issued < n; });
    if (it == s.marks.begin()) {
      a = std::max(a, s.marks.front().last_issued + 1);
      ++it;
    }
    for (; it != s.marks.end() && a <= b; ++it) {
      const std::uint64_t hi = std::min(b, it->last_issued);
      if (hi < a) continue;
      const std::uint64_t count = hi - a + 1;
      const auto wait = static_cast<double>(std::max<std::int64_t>(0, second - it->second));
      frame.Observe(Distribution::kWaitTime, wait, count);
      JudgeEta(*it, a, hi, second, frame);
      a = hi + 1;
    }
    // The waits told at polls of the tickets called now, against the wait they had left.
    const auto called_end = s.probes.upper_bound(b);
    for (auto p = s.probes.begin(); p != called_end; ++p) {
      const auto left = static_cast<double>(second - p->second.second);
      if (left < 1.0) continue;
      frame.Observe(Distribution::kEtaPollError,
                    std::abs(static_cast<double>(p->second.eta_seconds) - left) / left);
    }
    s.probes.erase(s.probes.begin(), called_end);
  }
  ProbeLine(s, sample, second);
}

void Statistics::JudgeEta(const Mark& m, std::uint64_t a, std::uint64_t b, std::int64_t second,
                          Frame& frame) {
  const std::uint64_t count = b - a + 1;
  const auto wait = static_cast<double>(std::max<std::int64_t>(0, second - m.second));
  // Only waits of a second or more are judged: below that the second-long steps of the
  // pipeline are the error.
  if (wait < 1.0) return;
  // The group's middle ticket stands for the group.
  const std::uint64_t middle = a + (count - 1) / 2;
  double eta = 0, low = 0, high = 0;
  if (m.told_first && m.told_last) {
    // What the tickets were told, between what the second's first and last new ones were.
    const double span = static_cast<double>(m.last_issued - m.first_new);
    const double f = span > 0 ? static_cast<double>(middle - m.first_new) / span : 0.0;
    const auto between = [f](std::int64_t x, std::int64_t y) {
      return static_cast<double>(x) + f * static_cast<double>(y - x);
    };
    eta = between(m.told_first->eta_seconds, m.told_last->eta_seconds);
    low = between(m.told_first->low_seconds, m.told_last->low_seconds);
    high = between(m.told_first->high_seconds, m.told_last->high_seconds);
  } else if (!m.told_first && !m.told_last && middle > m.frontier && m.rate > 0) {
    // No store to ask (tests, or a room that said nothing): position over the rate then.
    eta = low = high = static_cast<double>(middle - m.frontier) / m.rate;
  } else {
    return;  // told nothing (paused, closed): nothing to judge
  }
  frame.Observe(Distribution::kEtaError, std::abs(eta - wait) / wait, count);
  frame[eta < wait ? field::kEtaUnder : field::kEtaOver] += count;
  if (low <= wait && wait <= high) frame[field::kEtaInRange] += count;
}

void Statistics::ProbeLine(RoomSeries& s, const RoomSample& sample, std::int64_t second) {
  // Every second, the waits told to kProbes tickets spread over the line (the middles of its
  // quarters): a sample of what polls are told, judged when the frontier reaches them. At most
  // kMaxProbes wait per room; past that the ones furthest back are dropped.
  constexpr std::uint64_t kProbes = 4;
  constexpr std::size_t kMaxProbes = 4 * 3600 * 6;
  if (!sample.wait_told || sample.last_issued <= sample.frontier) return;
  const std::uint64_t line = sample.last_issued - sample.frontier;
  std::uint64_t last = 0;
  for (std::uint64_t j = 0; j < kProbes; ++j) {
    const std::uint64_t ticket = sample.frontier + 1 + (2 * j + 1) * line / (2 * kProbes);
    if (ticket == last || ticket > sample.last_issued) continue;
    last = ticket;
    const std::optional<core::WaitEstimate> told = sample.wait_told(ticket);
    if (!told) continue;
    s.probes.emplace(ticket, Probe{second, told->eta_seconds});
  }
  while (s.probes.size() > kMaxProbes) s.probes.erase(std::prev(s.probes.end()));
}

void Statistics::Tick(std::int64_t now_unix, const std::vector<RoomSample>& samples) {
  recorder_.Collect(collected_);
  HistoryBatch batch;
  std::vector<std::string> surges;
  std::vector<LiveSubscriber> subscribers;
  std::shared_ptr<const std::string> live;
  {
    std::lock_guard lock(mu_);
    // A clock stepped back adds to the last second instead of rewriting history.
    const std::int64_t second = std::max(now_unix - 1, last_second_);
    last_second_ = second;
    batch.second = second;
    std::map<std::string_view, const RoomSample*> by_room;
    for (const RoomSample& sample : samples) by_room[sample.room] = &sample;
    std::map<std::string_view, Recorder::Collected*> recorded;
    for (auto& c : collected_) recorded[c.room] = &c;
    std::vector<std::string> rooms;
    for (const auto& [room, sample] : by_room) rooms.emplace_back(room);
    for (const auto& [room, c] : recorded) {
      if (by_room.count(room) == 0) rooms.emplace_back(room);
    }
    for (const std::string& room : rooms) {
      RoomSeries& s = SeriesOf(room);
      RoomSecond& out = batch.seconds.emplace_back();
      out.room = room;
      Frame frame;
      Recorder::Collected* c = nullptr;
      if (auto it = recorded.find(room); it != recorded.end()) {
        c = it->second;
        frame = c->frame;
      }
      if (auto it = by_room.find(room); it != by_room.end()) {
        ApplySample(s, *it->second, second, frame, out);
      }
      if (s.surge.Observe(second, static_cast<double>(frame[field::kRequests]))) {
        frame[field::kSurges] += 1;
        surges.push_back(room);
        const SurgeState& st = s.surge.state();
        spdlog::warn("surge in room \"{}\": {:.1f} requests/s, {:.1f}x its baseline of {:.1f}/s",
                     util::LogEscaped(room), st.rate, st.ratio, st.baseline);
      }
      const std::size_t slot = static_cast<std::size_t>(second) % ring_seconds_;
      if (s.ring_t[slot] == second) {
        s.ring[slot].Merge(frame);
      } else {
        s.ring[slot] = frame;
        s.ring_t[slot] = second;
      }
      const std::int64_t minute = second - second % 60;
      if (s.open_minute != minute) {
        if (s.open_minute >= 0 && !s.minute.Empty()) {
          batch.minutes.push_back({room, s.open_minute, s.minute,
                                   ListsOf(s.minute_top, options_.retention.top_minute_keys)});
        }
        s.minute = Frame{};
        for (auto& t : s.minute_top) t.Clear();
        s.open_minute = minute;
      }
      s.minute.Merge(frame);
      if (c != nullptr) {
        for (std::size_t d = 0; d < kDimensionCount; ++d) {
          for (const TopEntry& e : c->tops[d].Top(options_.retention.top_minute_keys * 4)) {
            s.minute_top[d].Add(e.key, e.count);
          }
          out.top[d] = c->tops[d].Top(options_.retention.top_minute_keys);
        }
      }
      s.since_start.Merge(frame);
      s.last = frame;
      out.frame = frame;
    }
    live_ = std::make_shared<const std::string>(LiveJson(second, surges));
    live = live_;
    for (const auto& [id, subscriber] : subscribers_) subscribers.push_back(subscriber);
  }
  if (history_) history_->Append(std::move(batch));
  for (const auto& subscriber : subscribers) subscriber(live);
}

std::string Statistics::LiveJson(std::int64_t second,
                                 const std::vector<std::string>& surges) const {
  std::string out = fmt::format("{{\"t\":{},\"rooms\":{{", second);
  bool first = true;
  for (const auto& [room, s] : series_) {
    if (!first) out += ',';
    first = false;
    out += boost::json::serialize(boost::json::value(boost::json::string(ValidUtf8(room))));
    out += ":{";
    for (std::size_t i = 0; i < kLiveMetrics.size(); ++i) {
      const MetricSpec* m = FindMetric(kLiveMetrics[i]);
      fmt::format_to(std::back_inserter(out), "{}\"{}\":{}", i == 0 ? "" : ",", m->name,
                     static_cast<std::uint64_t>(MetricValue(*m, s->last)));
    }
    const SurgeState& st = s->surge.state();
    fmt::format_to(
        std::back_inserter(out),
        ",\"admit_rate\":{},\"surge\":{{\"active\":{},\"rate\":{:.1f},\"baseline\":{:.1f},"
        "\"ratio\":{:.2f}}}}}",
        static_cast<double>(s->last[field::kAdmitRateMilli]) / 1000.0, st.active ? "true" : "false",
        st.rate, st.baseline, st.ratio);
  }
  out += "},\"surges\":[";
  for (std::size_t i = 0; i < surges.size(); ++i) {
    if (i != 0) out += ',';
    out += boost::json::serialize(boost::json::value(boost::json::string(ValidUtf8(surges[i]))));
  }
  out += "]}";
  return out;
}

std::string Statistics::LiveEvent() const {
  std::lock_guard lock(mu_);
  return live_ ? *live_ : LiveJson(last_second_, {});
}

std::uint64_t Statistics::Subscribe(LiveSubscriber subscriber) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_subscriber_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

void Statistics::Unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

SurgeState Statistics::Surge(std::string_view room) const {
  std::lock_guard lock(mu_);
  const auto it = series_.find(room);
  return it == series_.end() ? SurgeState{} : it->second->surge.state();
}

std::int64_t Statistics::last_second() const {
  std::lock_guard lock(mu_);
  return last_second_;
}

void Statistics::LoadFrames(const std::string& room, Step step, std::int64_t from, std::int64_t to,
                            std::function<void(bool ok, Frames)> done) {
  const std::int64_t width = SecondsOf(step);
  const bool from_ring = !history_ || (step == Step::kSecond && !history_->has_seconds());
  Frames memory;
  {
    std::lock_guard lock(mu_);
    const auto it = series_.find(room);
    if (it != series_.end()) {
      const RoomSeries& s = *it->second;
      if (from_ring) {
        // The ring holds the last hour: only its seconds inside [from, to) are read.
        for (std::size_t i = 0; i < s.ring.size(); ++i) {
          const std::int64_t t = s.ring_t[i];
          if (t < from || t >= to) continue;
          MergeInto(memory, t - t % width, s.ring[i]);
        }
      } else if (!history_->has_open_minute() && s.open_minute >= 0) {
        const std::int64_t t = s.open_minute - s.open_minute % width;
        if (t >= from && t < to) MergeInto(memory, t, s.minute);
      }
    }
  }
  if (from_ring) return done(true, std::move(memory));
  history_->LoadFrames(
      room, step, from, to,
      [memory = std::move(memory), done = std::move(done)](bool ok, Frames frames) {
        for (const auto& [t, f] : memory) MergeInto(frames, t, f);
        done(ok, std::move(frames));
      });
}

void Statistics::Series(const SeriesQuery& query, std::function<void(Answer)> done) {
  LoadFrames(query.room, query.step, query.from, query.to,
             [query, done = std::move(done)](bool ok, Frames frames) {
               if (!ok) return done(Answer::Error(503, "unavailable", "history cannot be read"));
               done(RenderSeries(query, frames));
             });
}

void Statistics::Peaks(const PeaksQuery& query, std::function<void(Answer)> done) {
  LoadFrames(query.room, query.period, query.from, query.to,
             [query, done = std::move(done)](bool ok, Frames frames) {
               if (!ok) return done(Answer::Error(503, "unavailable", "history cannot be read"));
               done(RenderPeaks(query, frames));
             });
}

void Statistics::Top(const TopQuery& query, std::function<void(Answer)> done) {
  // Minutes while the range is short and its minute lists are still kept; hours otherwise.
  Step step = TopStepFor(query);
  if (options_.retention.top_minutes.count() > 0 &&
      query.from < last_second() - options_.retention.top_minutes.count()) {
    step = Step::kHour;
  }
  const std::int64_t width = SecondsOf(step);
  const std::int64_t from = query.from - query.from % width;
  // The open minute, when history does not have it yet (or there is no history).
  TopTable open(query.k * 4 + 64);
  std::uint64_t open_seen = 0;
  {
    std::lock_guard lock(mu_);
    const auto it = series_.find(query.room);
    if (it != series_.end() && (!history_ || !history_->has_open_minute())) {
      const RoomSeries& s = *it->second;
      if (s.open_minute >= query.from && s.open_minute < query.to) {
        const auto d = static_cast<std::size_t>(query.dim);
        open.AddAll(s.minute_top[d].Top(query.k * 4 + 64));
        open_seen = s.minute[SeenField(query.dim)];
      }
    }
  }
  auto finish = [query, open_seen, open = std::move(open), done = std::move(done)](
                    bool ok, TopResult result) mutable {
    if (!ok) return done(Answer::Error(503, "unavailable", "history cannot be read"));
    open.AddAll(result.entries);
    result.entries = open.Top(query.k);
    result.seen += open_seen;
    done(RenderTop(query, result));
  };
  if (!history_) return finish(true, TopResult{});
  history_->LoadTop(query.room, query.dim, step, from, query.to, query.k * 4 + 64,
                    std::move(finish));
}

bool Statistics::Knows(std::string_view room) const {
  std::lock_guard lock(mu_);
  return series_.find(room) != series_.end();
}

void Statistics::RenderPrometheus(std::string& out) const {
  std::lock_guard lock(mu_);
  const auto histogram = [&](std::string_view name, std::string_view help, Distribution d) {
    AppendHelp(out, name, "histogram", help);
    const DistributionSpec& spec = SpecOf(d);
    for (const auto& [room, s] : series_) {
      const std::string labels = fmt::format("room=\"{}\"", EscapeLabel(room));
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < kBucketCount; ++b) {
        cumulative += s->since_start[BucketField(d, b)];
        if (b + 1 < kBucketCount) {
          fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels,
                         spec.bounds[b], cumulative);
        } else {
          fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels,
                         cumulative);
        }
      }
      AppendSample(out, std::string(name) + "_sum", labels,
                   static_cast<double>(s->since_start[SumField(d)]) / spec.sum_scale);
      AppendSample(out, std::string(name) + "_count", labels, cumulative);
    }
  };
  histogram("vwr_wait_time_seconds",
            "Time from join to call of each called ticket (this node's rooms; in Redis mode the "
            "node that ticks the room).",
            Distribution::kWaitTime);
  histogram("vwr_session_length_seconds",
            "Time from admission to the end of each session (a leave, idleness, session_max, an "
            "operator), since this node started (in Redis mode every node's sessions).",
            Distribution::kSessionLength);
  AppendHelp(out, "vwr_room_surges_total", "counter",
             "Surges of a room's request rate over its baseline.");
  for (const auto& [room, s] : series_) {
    AppendSample(out, "vwr_room_surges_total", fmt::format("room=\"{}\"", EscapeLabel(room)),
                 s->since_start[field::kSurges]);
  }
}

}  // namespace vwr::analytics
