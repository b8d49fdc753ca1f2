#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/decision.hpp"
#include "control/expression.hpp"
#include "control/signal.hpp"
#include "core/policy.hpp"
#include "util/clock.hpp"

namespace vwr::control {

// What a rule does when it fires: set or scale max_active and admit_rate, set the mode.
struct RuleAction {
  std::optional<std::int64_t> set_max_active;
  std::optional<double> scale_max_active;  // × factor, e.g. 0.5
  std::optional<double> set_admit_rate;
  std::optional<double> scale_admit_rate;
  std::optional<core::Mode> set_mode;

  bool operator==(const RuleAction&) const = default;
};

// One rule as written:
//
//   rules:
//     - name: db-saturated
//       room: shop
//       when: db_connections_used > 85% and weekdays 09:00-18:00 Asia/Seoul
//       for: 30s                 # how long `when` must hold before the rule fires
//       then: { max_active: { scale: 0.7 } }   # or { max_active: 200, admit_rate: 5, mode: pause }
//       priority: 10             # higher wins when two rules set the same field
//       cooldown: 2m             # the least time between two firings
//       shadow: true             # log what it would do; change nothing
struct RuleSpec {
  std::string name;
  std::string room;
  std::string when;
  // Where `when` starts in its file (1-based), so that errors point into the file.
  int when_line = 1;
  int when_column = 1;
  util::Duration hold_for{0};
  RuleAction then;
  int priority = 0;
  util::Duration cooldown = std::chrono::seconds(60);
  bool shadow = false;
  // Made through the admin API (and kept in the admin store) rather than read from the file.
  bool from_api = false;

  bool operator==(const RuleSpec&) const = default;
};

// A problem with one rule; `where` is set for errors in `when` (in file coordinates).
struct RuleProblem {
  std::string rule;
  std::string key;  // "when", "then", "for" ...
  std::string message;
  std::optional<SourceError> where;
};

// The rules of every room, checked at load and evaluated at every control tick.
//
// A rule fires when its condition has held (been true: unknown does not count, and restarts the
// wait) for `for`, and not within `cooldown` of its last firing; it fires again after the
// cooldown while the condition still holds, so `scale: 0.8` keeps stepping down while a
// database stays saturated. When several rules of a room fire at once, each field (max_active,
// admit_rate, mode) goes to the rule with the highest priority (then the first written); a
// shadow rule is only recorded and never takes a field. A firing that would change nothing is
// not recorded and does not start the cooldown. Not thread-safe: the control loop owns it.
class RuleSet {
 public:
  // Nullopt with `problems` filled when a rule is wrong. `signals`: the signal names by
  // SignalTable index; `rooms`: the configured rooms.
  static std::optional<RuleSet> Build(std::vector<RuleSpec> specs,
                                      const std::vector<std::string>& signals,
                                      const std::vector<std::string>& rooms,
                                      std::vector<RuleProblem>& problems);

  // Decisions for `room` at `now` (the shadow ones included, flagged). The caller applies the
  // changes of those that are not shadow, in order.
  std::vector<Decision> Evaluate(const std::string& room, util::TimePoint now, util::WallTime wall,
                                 const std::vector<SignalReading>& signals,
                                 const RoomFigures& figures, const core::Policy& policy);

  // Adds `spec`, or replaces the rule of its name (whose state starts afresh). False with
  // `problems` filled when it is wrong; the set is unchanged then. `rooms`: as for Build.
  bool Put(RuleSpec spec, const std::vector<std::string>& rooms,
           std::vector<RuleProblem>& problems);
  // Removes the rule named `name`; false when there is none.
  bool Remove(std::string_view name);
  const RuleSpec* Find(std::string_view name) const;

  struct RuleStatus {
    std::string name;
    std::string room;
    Truth last = Truth::kUnknown;
    std::optional<util::TimePoint> holding_since;
    std::optional<util::TimePoint> last_fired;
    bool shadow = false;
    // shadow (only recorded), firing (its condition has held for `for`: it has fired or fires
    // again after its cooldown), pending (true, not yet for `for`), idle (not true).
    std::string state;
    RuleSpec spec;
  };
  std::vector<RuleStatus> Status() const;
  std::size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    RuleSpec spec;
    Expression when;
    Truth last = Truth::kUnknown;
    std::optional<util::TimePoint> holding_since;
    std::optional<util::TimePoint> last_fired;
  };
  // Checks `spec` and parses its condition; nullopt with `problems` filled when it is wrong.
  std::optional<Rule> Make(RuleSpec spec, const std::vector<std::string>& rooms,
                           std::vector<RuleProblem>& problems) const;

  std::vector<Rule> rules_;
  std::vector<std::string> signal_names_;
  util::TimePoint last_now_{};  // of the last Evaluate: what Status judges `for` against
};

}  // namespace vwr::control
