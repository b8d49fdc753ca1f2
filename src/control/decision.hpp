#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/signal.hpp"
#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::control {

// What a decision changes in a room's policy; a field left empty stays as it is.
struct PolicyChange {
  std::optional<std::int64_t> max_active;
  std::optional<double> admit_rate;
  std::optional<core::Mode> mode;

  bool empty() const { return !max_active && !admit_rate && !mode; }
  // `policy` with this change made.
  core::Policy AppliedTo(core::Policy policy) const;
};

// Who decided.
enum class DecisionSource : std::uint8_t { kController, kRule, kSchedule, kOperator };
std::string_view DecisionSourceName(DecisionSource source);

// One value a decision was based on.
struct SeenValue {
  std::string name;  // a signal, or room.<figure>
  double value = 0.0;
  SignalState state = SignalState::kOk;
};

// Why a room's policy changed (or, in shadow mode, would have): every change the control
// library makes is one of these, so that an operator can always answer "who moved my limit,
// when, from what to what, and on what evidence".
struct Decision {
  util::WallTime at{};
  std::string room;
  DecisionSource source = DecisionSource::kController;
  std::string source_name;  // the rule's or event's name, "aimd"/"gradient", the operator's name
  PolicyChange change;
  core::Policy before;  // the policy the decision saw
  core::Policy after;   // before with the change made
  std::vector<SeenValue> seen;
  std::string reason;
  bool shadow = false;  // logged only: the policy was not changed

  // One line for the log: "room=shop source=controller/aimd max_active 100->90 reason=..."
  std::string Describe() const;
};

// The most recent decisions, for the admin API and the console. Bounded; thread-safe.
class DecisionLog {
 public:
  explicit DecisionLog(std::size_t capacity = 1000) : capacity_(capacity) {}

  void Add(Decision decision);
  // The newest `limit` decisions, newest first; only room `room` when it is not empty.
  std::vector<Decision> Recent(std::size_t limit, std::string_view room = {}) const;
  std::uint64_t total() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Decision> decisions_;  // guarded by mu_
  std::uint64_t total_ = 0;         // guarded by mu_
};

}  // namespace vwr::control
