#include "app/reload.hpp"

#include <map>

namespace vwr::app {

std::vector<store::RoomSpec> RoomSpecs(const config::Config& config) {
  std::vector<store::RoomSpec> specs;
  specs.reserve(config.rooms.size());
  for (const config::RoomConfig& room : config.rooms) {
    specs.push_back({room.id, room.policy, room.failure_policy == config::FailurePolicy::kFailOpen,
                     room.TokenLifetime()});
  }
  return specs;
}

ReloadPlan PlanReload(const config::Config& running, const config::Config& next) {
  ReloadPlan plan;
  plan.rooms = RoomSpecs(next);
  if (next.log.level != running.log.level) plan.log_level = next.log.level;

  auto check = [&](const char* key, const auto& before, const auto& after) {
    if (!(before == after)) plan.need_restart.emplace_back(key);
  };
  // The server section key by key, then whatever else it holds as a whole.
  check("server.listen", running.server.listen, next.server.listen);
  check("server.admin_listen", running.server.admin_listen, next.server.admin_listen);
  check("server.workers", running.server.workers, next.server.workers);
  check("server.limits", running.server.limits, next.server.limits);
  // The certificate is loaded only at start; new contents at the same paths go unnoticed too.
  check("server.tls", running.server.tls, next.server.tls);
  config::ServerConfig rest = next.server;
  rest.listen = running.server.listen;
  rest.admin_listen = running.server.admin_listen;
  rest.workers = running.server.workers;
  rest.limits = running.server.limits;
  rest.tls = running.server.tls;
  if (!(rest == running.server)) plan.need_restart.emplace_back("server");
  check("store", running.store, next.store);
  check("admin", running.admin, next.admin);
  check("secrets", running.secrets, next.secrets);
  check("tokens", running.tokens, next.tokens);
  check("web", running.web, next.web);
  check("tracer", running.tracer, next.tracer);
  // The platform's keys are read again on SIGHUP; how they are used is fixed at start.
  check("identity", running.identity, next.identity);
  check("log.format", running.log.format, next.log.format);
  check("analytics", running.analytics, next.analytics);
  check("demo", running.demo, next.demo);
  check("operators", running.operators, next.operators);
  check("console", running.console, next.console);
  // Traffic control is built once, at start: its probes hold connections, its controllers and
  // rules state that a rebuild would lose.
  check("signals", running.signals, next.signals);
  check("rules", running.rules, next.rules);
  check("schedules", running.schedules, next.schedules);
  auto controls = [](const config::Config& config) {
    // Only the rooms that have one: rooms come and go on a reload, their controllers do not.
    std::map<std::string, control::ControlSpec> out;
    for (const config::RoomConfig& room : config.rooms) {
      if (room.control) out.emplace(room.id, *room.control);
    }
    return out;
  };
  check("rooms[].control", controls(running), controls(next));
  return plan;
}

}  // namespace vwr::app
