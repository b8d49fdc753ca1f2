#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.hpp"

namespace vwr::control {

// Whether a signal's value may be used. Anything but kOk is "not known" to rules and controllers:
// a value that is too old, never measured, or whose last probe failed proves nothing about the
// protected system, and must never be read as "healthy".
enum class SignalState : std::uint8_t {
  kOk,       // measured within stale_after (or, pushed, within its ttl)
  kUnknown,  // never measured, too old, or a pushed value past its ttl
  kError,    // the last probe failed; `error` says why
};

std::string_view SignalStateName(SignalState state);

// One signal as the controller sees it at one instant.
struct SignalReading {
  double value = 0.0;  // the last value measured (meaningful only when state == kOk)
  SignalState state = SignalState::kUnknown;
  // Time since the value was measured; nullopt when there has never been one.
  std::optional<util::Duration> age;
  std::string error;  // the last failure, when state == kError

  bool ok() const { return state == SignalState::kOk; }
};

// The latest value of every configured signal, written by the probe threads (and by the admin
// API for pushed signals) and read by the node's control loop.
//
// The set of names is fixed at construction (a reload builds a new table), so a signal is
// addressed by a stable index: writers and readers take one short mutex per entry, never a lock
// over the whole table, and never while doing I/O. Thread-safe.
class SignalTable {
 public:
  struct Entry {
    std::string name;
    // A value older than this is kUnknown (a probe that stopped answering is not "still fine").
    util::Duration stale_after = std::chrono::seconds(30);
  };

  explicit SignalTable(std::vector<Entry> entries);
  SignalTable(const SignalTable&) = delete;
  SignalTable& operator=(const SignalTable&) = delete;

  std::size_t size() const { return slots_.size(); }
  const std::string& name(std::size_t index) const { return slots_[index]->name; }
  std::optional<std::size_t> IndexOf(std::string_view name) const;

  // A probe measured `value` at `at`.
  void Set(std::size_t index, double value, util::TimePoint at);
  // A probe failed at `at`. The old value is kept for display but is no longer usable.
  void SetError(std::size_t index, std::string error, util::TimePoint at);
  // A pushed value (PUT /admin/api/v1/signals/{name}) that is kUnknown after `ttl`.
  void Push(std::size_t index, double value, util::Duration ttl, util::TimePoint at);

  SignalReading Read(std::size_t index, util::TimePoint now) const;
  // Every signal at `now`, by index.
  std::vector<SignalReading> ReadAll(util::TimePoint now) const;

 private:
  struct Slot {
    std::string name;
    util::Duration stale_after;
    mutable std::mutex mu;
    bool has_value = false;             // guarded by mu
    double value = 0.0;                 // guarded by mu
    util::TimePoint at{};               // guarded by mu: when `value` was measured
    std::optional<util::Duration> ttl;  // guarded by mu: set for a pushed value
    bool failed = false;                // guarded by mu
    std::string error;                  // guarded by mu
    util::TimePoint failed_at{};        // guarded by mu
  };
  std::vector<std::unique_ptr<Slot>> slots_;
};

// A room's own figures, fed in by the node from its traffic analysis each tick. Rules name them
// as `room.<field>` (room.waiting, room.request_rate ...).
struct RoomFigures {
  double request_rate = 0.0;   // requests (joins and first visits) per second, recent
  double surge = 1.0;          // request_rate over its usual level (1 = usual, 3 = three times)
  double waiting = 0.0;        // people in line
  double active = 0.0;         // admitted sessions, plus called and not yet claimed
  double wait_time = 0.0;      // seconds a newcomer is expected to wait
  double admitted_rate = 0.0;  // admissions per second, recent
  double max_active = 0.0;     // the policy in force
  double admit_rate = 0.0;     // the policy in force
};

// The names rules may use for RoomFigures, in the order of RoomFigureField.
enum class RoomFigureField : std::uint8_t {
  kRequestRate,
  kSurge,
  kWaiting,
  kActive,
  kWaitTime,
  kAdmittedRate,
  kMaxActive,  // the policy in force
  kAdmitRate,
};
std::optional<RoomFigureField> ParseRoomFigureField(std::string_view name);
std::string_view RoomFigureFieldName(RoomFigureField field);
double FigureValue(const RoomFigures& figures, RoomFigureField field);

}  // namespace vwr::control
