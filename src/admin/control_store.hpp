#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace vwr::admin {

// Where traffic control's run-time changes are kept: the rules made through the admin API and
// the rooms' control settings (on or off, bounds), so that they survive a restart (SQLite in
// data_dir) and every node of a cluster applies them (a Redis hash under the key prefix).
// Entries are key -> JSON text: "rule:<name>" -> the rule (control::RuleToJson),
// "room:<id>" -> the room's settings (control::ControlSettingsToJson). Calls may block on the
// store's own thread, never the caller's; `done` runs exactly once, on any thread.
class ControlStore {
 public:
  using Entries = std::vector<std::pair<std::string, std::string>>;
  virtual ~ControlStore() = default;
  virtual void LoadControl(std::function<void(bool ok, Entries)> done) = 0;
  // Sets (adds or replaces) the entry `key`.
  virtual void PutControl(std::string key, std::string value,
                          std::function<void(bool ok)> done) = 0;
  virtual void RemoveControl(std::string key, std::function<void(bool ok)> done) = 0;
};

}  // namespace vwr::admin
