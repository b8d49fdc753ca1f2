#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "store/store.hpp"

namespace vwr::app {

// What a configuration reload (SIGHUP) applies, worked out from the configuration in force and
// the one just read. Rooms, their policies, match rules, token lifetimes and entry passes, and
// the log level, change at once; everything else (listeners, limits, TLS, store, secrets,
// tokens, web, admin token, log format) is bound at start and only a restart applies it: those
// keys are named so the operator is told.
struct ReloadPlan {
  std::vector<store::RoomSpec> rooms;     // the rooms to serve, in file order
  std::optional<std::string> log_level;   // when it changed
  std::vector<std::string> need_restart;  // dotted keys that changed but stay as they are
};

ReloadPlan PlanReload(const config::Config& running, const config::Config& next);

// The store's view of the configured rooms.
std::vector<store::RoomSpec> RoomSpecs(const config::Config& config);

}  // namespace vwr::app
