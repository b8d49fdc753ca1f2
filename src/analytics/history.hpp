#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "analytics/frame.hpp"
#include "analytics/top_k.hpp"

namespace vwr::analytics {

// The resolution of a series.
enum class Step : std::uint8_t { kSecond, kMinute, kHour };
std::int64_t SecondsOf(Step step);
std::string_view StepName(Step step);  // "1s", "1m", "1h"

using TopLists = std::array<std::vector<TopEntry>, kDimensionCount>;

// One room's figures for one second (every room, every second, gauges included).
struct RoomSecond {
  std::string room;
  Frame frame;
  TopLists top;  // the second's heaviest keys per dimension (this node's)
  // The store's cumulative counts behind the kTotal fields' deltas, so that a shared history
  // can count each increment once whatever the number of nodes reporting it (a high-water).
  Frame totals;
  bool has_totals = false;
};

// One room's figures for a minute that has just closed on this node.
struct RoomMinute {
  std::string room;
  std::int64_t start = 0;  // unix seconds, a multiple of 60
  Frame frame;
  TopLists top;
};

// What the pipeline hands to history once a second.
struct HistoryBatch {
  std::int64_t second = 0;  // unix seconds: the second that just ended
  std::vector<RoomSecond> seconds;
  std::vector<RoomMinute> minutes;  // minutes that closed with this second
};

// How long history keeps what (0: for ever).
struct Retention {
  std::chrono::seconds seconds{3600};           // 1 s frames (Redis; memory keeps one hour)
  std::chrono::seconds minutes{30 * 86400};     // 1 min frames
  std::chrono::seconds hours{2 * 365 * 86400};  // 1 h frames
  std::chrono::seconds top_minutes{86400};      // per-minute top lists
  std::chrono::seconds top_hours{30 * 86400};   // per-hour top lists
  std::size_t top_minute_keys = 20;             // keys kept per minute and dimension
  std::size_t top_hour_keys = 50;               // keys kept per hour and dimension
};

using Frames = std::vector<std::pair<std::int64_t, Frame>>;  // (period start, frame), ascending

// What the breakdown of a range adds up to.
struct TopResult {
  std::vector<TopEntry> entries;  // heaviest first
  std::uint64_t seen = 0;         // weight seen in the dimension over the range (share's base)
};

// Where the series outlive the process: SQLite on one node, Redis for a cluster.
//
// Thread-safety: every method from any thread; Append never blocks on I/O (the work is queued
// for a thread of the history's own) and every Load completes on that thread.
class History {
 public:
  virtual ~History() = default;

  virtual void Append(HistoryBatch batch) = 0;

  // The frames of `room` with a start in [from, to), at `step`; periods without data are left
  // out. Seconds: only a history with has_seconds().
  virtual void LoadFrames(std::string room, Step step, std::int64_t from, std::int64_t to,
                          std::function<void(bool ok, Frames)> done) = 0;
  // The breakdown of `room` by `dim` over [from, to), at minute or hour resolution.
  virtual void LoadTop(std::string room, Dimension dim, Step step, std::int64_t from,
                       std::int64_t to, std::size_t k,
                       std::function<void(bool ok, TopResult)> done) = 0;

  // Whether 1 s frames can be loaded (else they come from memory only).
  virtual bool has_seconds() const = 0;
  // Whether what was appended is merged at once, the open minute included (Redis), or only the
  // closed minutes are here and the pipeline's open minute must be added (SQLite).
  virtual bool has_open_minute() const = 0;
  // Makes everything appended so far durable and stops the history's thread (shutdown).
  virtual void Close() = 0;
};

}  // namespace vwr::analytics
