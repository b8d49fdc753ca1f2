#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analytics/frame.hpp"
#include "analytics/history.hpp"
#include "analytics/queries.hpp"
#include "analytics/recorder.hpp"
#include "analytics/surge.hpp"
#include "core/policy.hpp"
#include "core/room.hpp"
#include "core/wait_model.hpp"
#include "util/clock.hpp"

namespace vwr::analytics {

struct StatisticsOptions {
  RecorderOptions recorder;
  Retention retention;  // memory keeps min(retention.seconds, 1 hour) of 1 s frames
  SurgeOptions surge;
};

// What a room's store shows once a second (the caller copies it from store::RoomFigures and
// RoomState::policy()). Entries and exits are the deltas of `counters`; wait times and the
// ETA's honesty are derived from how the line and the frontier moved.
struct RoomSample {
  std::string room;
  std::uint64_t last_issued = 0;
  std::uint64_t frontier = 0;
  std::uint64_t waiting = 0;  // queue_size
  std::int64_t called = 0;    // called_unclaimed
  std::int64_t active = 0;
  double advance_rate = 0.0;
  core::RoomCounters counters;
  // Whether `counters` are the store's real ones: a shared store's are only once the node has
  // read them back (its first tick); until then they neither count nor make the baseline.
  bool counters_known = true;
  // A shared store: the last ticket issued when the counters became known (the node's first
  // tick). The baseline's mark is there, so that the waits of tickets issued between that tick
  // and the analysis' first reading of it count too. Unset: last_issued.
  std::optional<std::uint64_t> known_since_last_issued;
  core::Policy policy;
  // Whether this node reports what is derived from the figures: always on one node; in Redis
  // mode only the node that ticks the room (figures.tick_holder is this node), so that a
  // cluster's wait times are counted once.
  bool reports_derived = true;
  // The wait a poll of waiting ticket `ticket` is told now (the store's answer to it:
  // RoomState::StatusCached), nullopt when it is not waiting or nothing can be told. Called
  // during Tick only. Without it, the ETA at join is taken as position / advance_rate and no
  // later poll is judged.
  std::function<std::optional<core::WaitEstimate>(std::uint64_t ticket)> wait_told;
};

// The traffic analysis of one node: the recorder the handlers write, a step once a second that
// merges it with the store's figures into per-room frames, the last hour of seconds in memory,
// the open minute, history (SQLite or Redis), the live stream, surge detection and the
// Prometheus histograms; and the queries over all of it.
//
//   every request    handler ─▶ RoomRecorder (per-thread shard, no lock)
//   every second     Tick: Recorder::Collect + RoomSample ─▶ second frame per room
//                      ├▶ ring (1 h of seconds) and the open minute (memory)
//                      ├▶ History::Append (seconds for Redis; closed minutes for SQLite)
//                      ├▶ surge detector ─▶ log, count, live stream, Surge()
//                      └▶ live subscribers (one event per second)
//
// Thread-safety: recorder() from any thread. Tick runs on the pipeline thread (Start) or a
// test's; queries, Surge, LiveEvent and RenderPrometheus from any thread (one mutex, held for
// copying, never for I/O); query answers come on the history's thread or the caller's.
class Statistics {
 public:
  // `history` may be null: memory only.
  Statistics(StatisticsOptions options, std::unique_ptr<History> history);
  ~Statistics();
  Statistics(const Statistics&) = delete;
  Statistics& operator=(const Statistics&) = delete;

  Recorder& recorder() { return recorder_; }

  using SampleSource = std::function<std::vector<RoomSample>()>;
  // Takes the store's counts now as the baseline (Baseline), then ticks once a second on a
  // thread of its own, just after each wall-clock second ends.
  void Start(const util::Clock& clock, SampleSource source);
  // The rooms' counts from which the next step's entries and exits are counted (without it,
  // the first step's sample is the baseline and what came before it is not counted), for the
  // rooms that have none yet. True when every sample's room has one now. Any thread.
  bool Baseline(const std::vector<RoomSample>& samples);
  // Stops the thread, writes the open minute to history (it adds up with the rest of that
  // minute after a restart) and closes history. Idempotent.
  void Stop();

  // One step: everything recorded since the last step and `samples` become the frames of second
  // now_unix − 1. Also what the thread calls; tests call it on a fake clock.
  void Tick(std::int64_t now_unix, const std::vector<RoomSample>& samples);

  // The admin API's queries; `done` runs exactly once, on this thread or the history's.
  void Series(const SeriesQuery& query, std::function<void(Answer)> done);
  void Top(const TopQuery& query, std::function<void(Answer)> done);
  void Peaks(const PeaksQuery& query, std::function<void(Answer)> done);

  // The live stream: the JSON of the last second (every room), and a subscription that gets
  // each second's JSON on the pipeline thread (post it to the connection's own thread).
  std::string LiveEvent() const;
  using LiveSubscriber = std::function<void(const std::shared_ptr<const std::string>& json)>;
  std::uint64_t Subscribe(LiveSubscriber subscriber);
  void Unsubscribe(std::uint64_t id);

  // Whether this node has figures of `room` (seen since the start, or in history it loaded).
  bool Knows(std::string_view room) const;

  // A room's surge state (for rules and the console).
  SurgeState Surge(std::string_view room) const;
  // vwr_wait_time_seconds and vwr_session_length_seconds (histograms) and
  // vwr_room_surges_total, by room.
  void RenderPrometheus(std::string& out) const;

  std::int64_t last_second() const;

 private:
  // The store's counts: kJoins..kWithdrawn, then kAbandoned, then session_length's buckets and
  // sum (TotalField).
  static constexpr std::size_t kCounterFields = field::kWithdrawn - field::kJoins + 2;
  static constexpr std::size_t kTotalFields = kCounterFields + kFieldsPerDistribution;
  static FieldId TotalField(std::size_t i) {
    if (i + 1 < kCounterFields) return static_cast<FieldId>(field::kJoins + i);
    if (i + 1 == kCounterFields) return field::kAbandoned;
    return BucketField(Distribution::kSessionLength, i - kCounterFields);
  }
  struct Mark {  // the line at the end of a second
    std::int64_t second;
    std::uint64_t last_issued;
    std::uint64_t frontier;
    double rate;  // tickets called per second, as the ETA used it
    // The waits told, at the end of the second, to its first and last new ticket (those in
    // between are told what lies between: a wait grows with the position).
    std::uint64_t first_new = 0;
    std::optional<core::WaitEstimate> told_first{};
    std::optional<core::WaitEstimate> told_last{};
  };
  struct Probe {  // the wait a ticket was told at a poll, until the frontier reaches it
    std::int64_t second;
    std::int64_t eta_seconds;
  };
  struct RoomSeries {
    explicit RoomSeries(std::size_t ring_seconds, const SurgeOptions& surge);
    std::vector<Frame> ring;
    std::vector<std::int64_t> ring_t;  // which second each slot holds (-1: none)
    std::int64_t open_minute = -1;
    Frame minute;
    std::array<TopTable, kDimensionCount> minute_top;
    Frame since_start;  // every frame added up: the Prometheus histograms
    Frame last;         // the last second's frame
    std::array<std::uint64_t, kTotalFields> totals{};  // the store's counts at the last sample
    bool has_totals = false;
    std::uint64_t frontier = 0;
    bool has_frontier = false;
    std::deque<Mark> marks;
    std::multimap<std::uint64_t, Probe> probes;  // by ticket
    SurgeDetector surge;
  };

  static std::array<std::uint64_t, kTotalFields> TotalsOf(const core::RoomCounters& counters);
  void ApplySample(RoomSeries& s, const RoomSample& sample, std::int64_t second, Frame& frame,
                   RoomSecond& out);
  void DeriveWaits(RoomSeries& s, const RoomSample& sample, std::int64_t second, Frame& frame);
  // Judges the waits told to tickets [a, b], called in `second`, at their join (from mark
  // `m`, which issued them) and at later polls (the probes).
  static void JudgeEta(const Mark& m, std::uint64_t a, std::uint64_t b, std::int64_t second,
                       Frame& frame);
  static void ProbeLine(RoomSeries& s, const RoomSample& sample, std::int64_t second);
  RoomSeries& SeriesOf(const std::string& room);  // mu_ held
  void Run(const util::Clock& clock, SampleSource source, bool baseline_known);
  std::string LiveJson(std::int64_t second, const std::vector<std::string>& surges) const;  // mu_
  static TopLists ListsOf(const std::array<TopTable, kDimensionCount>& tables, std::size_t k);
  // Frames of [from, to) at `step`: from history with the open minute added when history does
  // not have it, or from the ring alone when there is no history.
  void LoadFrames(const std::string& room, Step step, std::int64_t from, std::int64_t to,
                  std::function<void(bool ok, Frames)> done);

  StatisticsOptions options_;
  std::size_t ring_seconds_;
  Recorder recorder_;
  std::unique_ptr<History> history_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<RoomSeries>, std::less<>> series_;  // guarded by mu_
  std::int64_t last_second_ = 0;                                            // guarded by mu_
  std::shared_ptr<const std::string> live_;                                 // guarded by mu_
  std::map<std::uint64_t, LiveSubscriber> subscribers_;                     // guarded by mu_
  std::uint64_t next_subscriber_ = 1;                                       // guarded by mu_

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;  // guarded by run_mu_
  bool stopped_ = false;   // guarded by run_mu_
  std::thread thread_;
  std::vector<Recorder::Collected> collected_;  // the ticking thread's
};

}  // namespace vwr::analytics
