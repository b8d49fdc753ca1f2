#include "control/signal.hpp"

#include <utility>

namespace vwr::control {

std::string_view SignalStateName(SignalState state) {
  switch (state) {
    case SignalState::kOk:
      return "ok";
    case SignalState::kUnknown:
      return "unknown";
    case SignalState::kError:
      return "error";
  }
  return "unknown";
}

SignalTable::SignalTable(std::vector<Entry> entries) {
  slots_.reserve(entries.size());
  for (auto& entry : entries) {
    auto slot = std::make_unique<Slot>();
    slot->name = std::move(entry.name);
    slot->stale_after = entry.stale_after;
    slots_.push_back(std::move(slot));
  }
}

std::optional<std::size_t> SignalTable::IndexOf(std::string_view name) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->name == name) return i;
  }
  return std::nullopt;
}

void SignalTable::Set(std::size_t index, double value, util::TimePoint at) {
  Slot& slot = *slots_.at(index);
  std::lock_guard lock(slot.mu);
  slot.has_value = true;
  slot.value = value;
  slot.at = at;
  slot.ttl.reset();
  slot.failed = false;
  slot.error.clear();
}

void SignalTable::SetError(std::size_t index, std::string error, util::TimePoint at) {
  Slot& slot = *slots_.at(index);
  std::lock_guard lock(slot.mu);
  slot.failed = true;
  slot.error = std::move(error);
  slot.failed_at = at;
}

void SignalTable::Push(std::size_t index, double value, util::Duration ttl, util::TimePoint at) {
  Slot& slot = *slots_.at(index);
  std::lock_guard lock(slot.mu);
  slot.has_value = true;
  slot.value = value;
  slot.at = at;
  slot.ttl = ttl;
  slot.failed = false;
  slot.error.clear();
}

SignalReading SignalTable::Read(std::size_t index, util::TimePoint now) const {
  const Slot& slot = *slots_.at(index);
  std::lock_guard lock(slot.mu);
  SignalReading reading;
  if (slot.has_value) {
    reading.value = slot.value;
    reading.age = now - slot.at;
  }
  if (slot.failed) {
    reading.state = SignalState::kError;
    reading.error = slot.error;
    return reading;
  }
  if (!slot.has_value) return reading;  // kUnknown
  const util::Duration limit = slot.ttl ? *slot.ttl : slot.stale_after;
  reading.state = (now - slot.at) <= limit ? SignalState::kOk : SignalState::kUnknown;
  return reading;
}

std::vector<SignalReading> SignalTable::ReadAll(util::TimePoint now) const {
  std::vector<SignalReading> out;
  out.reserve(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) out.push_back(Read(i, now));
  return out;
}

namespace {
constexpr std::string_view kFigureNames[] = {"request_rate", "surge",     "waiting",
                                             "active",       "wait_time", "admitted_rate",
                                             "max_active",   "admit_rate"};
}  // namespace

std::optional<RoomFigureField> ParseRoomFigureField(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kFigureNames); ++i) {
    if (kFigureNames[i] == name) return static_cast<RoomFigureField>(i);
  }
  return std::nullopt;
}

std::string_view RoomFigureFieldName(RoomFigureField field) {
  return kFigureNames[static_cast<std::size_t>(field)];
}

double FigureValue(const RoomFigures& f, RoomFigureField field) {
  switch (field) {
    case RoomFigureField::kRequestRate:
      return f.request_rate;
    case RoomFigureField::kSurge:
      return f.surge;
    case RoomFigureField::kWaiting:
      return f.waiting;
    case RoomFigureField::kActive:
      return f.active;
    case RoomFigureField::kWaitTime:
      return f.wait_time;
    case RoomFigureField::kAdmittedRate:
      return f.admitted_rate;
    case RoomFigureField::kMaxActive:
      return f.max_active;
    case RoomFigureField::kAdmitRate:
      return f.admit_rate;
  }
  return 0.0;
}

}  // namespace vwr::control
