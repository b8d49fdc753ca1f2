#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "admin/audit_log.hpp"
#include "admin/control_store.hpp"
#include "control/control_plane.hpp"
#include "core/policy.hpp"
#include "http/http.hpp"
#include "http/request_context.hpp"
#include "http/request_parts.hpp"
#include "util/clock.hpp"

namespace vwr::admin {

// Traffic control on the admin listener, behind the admin token (AdminApi routes here after
// checking it; docs/api.md, docs/control.md):
//
//   GET /admin/api/v1/signals              every signal: value, age_ms, state (ok, unknown,
//                                          error), the last error, its probe's figures
//   GET /admin/api/v1/signals/{name}       one of them
//   PUT /admin/api/v1/signals/{name}       {"value": 12.5, "ttl": "10s"} on a push signal -> 204
//   GET /admin/api/v1/rules                the rules and where each stands (state idle,
//                                          pending, firing or shadow; the last firing)
//   POST /admin/api/v1/rules               a new rule (its YAML fields as JSON) -> 201
//   GET|PUT|DELETE /admin/api/v1/rules/{name}
//                                          one rule; PUT replaces it (200), DELETE removes it
//                                          (204). A rule of the configuration file is changed
//                                          in the file (409 here). A bad condition: 400 with
//                                          the line and column of the error.
//   GET /admin/api/v1/control[?room=R&limit=N]
//                                          each controlled room's state, the schedules (with
//                                          their commitments and revealed seeds) and the latest
//                                          decisions, newest first
//   GET|PUT /admin/api/v1/control/{room}   one room's automatic control; PUT {"enabled": bool,
//                                          "max_active": {"min", "max"}, "admit_rate": {"min",
//                                          "max"}} (each optional) turns it on or off and sets
//                                          its bounds -> 200 with the room's state
//
// Changes are kept in the ControlStore (SetStore) before they are answered, so that they
// survive a restart and reach every node (LoadKept), and each is an audit entry (the caller's
// AuditRecord, written by AdminApi once the answer is a success). Roles: RequiredRole.
//
// Also what the rest of the admin API shows of it: a room's `control` in GET .../policy, the
// metrics, and an operator's policy change, which holds the room's controller off. The
// ControlPlane's calls used here are thread-safe, so is this class.
class ControlApi {
 public:
  ControlApi(control::ControlPlane& plane, const util::Clock& clock)
      : plane_(plane), clock_(clock) {}

  // Where run-time changes are kept (null: in memory only, lost on a restart). Set before
  // serving.
  void SetStore(std::shared_ptr<ControlStore> store) { store_ = std::move(store); }
  // Reads what the store keeps and puts it in force (ControlPlane::AdoptKept); `done(ok)` on
  // any thread. At start, and periodically on a shared store so that every node follows.
  void LoadKept(std::function<void(bool ok)> done);

  // `parts`: the request path's segments, starting admin/api/v1/{signals|rules|control}. A
  // change is described in `note` for the audit log; nullopt when the answer comes later
  // (once the store has kept the change).
  std::optional<http::Response> Serve(http::RequestContext& ctx, const http::PathSegments& parts,
                                      AuditRecord& note);

  // Whether `section` (the fourth segment of an admin path) is served here.
  static bool Owns(std::string_view section) {
    return section == "signals" || section == "rules" || section == "control";
  }

  // ,"control":{...} for GET .../rooms/{room}/policy: the controller's state and the room's
  // last decision (reason, at), or "" when the room has neither.
  std::string PolicyControl(const std::string& room) const;

  // An operator changed `room`'s policy through the admin API.
  void OperatorSet(const std::string& room, const std::string& who, const core::Policy& before,
                   const core::Policy& after) {
    plane_.OperatorSet(room, who, before, after);
  }

  // vwr_signal_*, vwr_threshold_changes_total{room,reason}, vwr_control_* in Prometheus text.
  void RenderMetrics(std::string& out) const;

 private:
  http::Response Signals(http::RequestContext& ctx, const http::PathSegments& parts);
  std::optional<http::Response> Rules(http::RequestContext& ctx, const http::PathSegments& parts,
                                      AuditRecord& note);
  http::Response Control(const http::RequestContext& ctx);
  std::optional<http::Response> RoomControl(http::RequestContext& ctx, std::string_view room,
                                            AuditRecord& note);
  // Keeps `key` = `value` (or removes it, when `value` is nullopt) in the store, then runs
  // `apply` and answers what it returns; 503 when it cannot be kept (nothing changes then).
  void KeepThenAnswer(http::RequestContext& ctx, std::string key, std::optional<std::string> value,
                      std::function<http::Response(const http::RequestContext&)> apply);

  std::optional<control::RuleSet::RuleStatus> RuleStatusOf(std::string_view name) const;
  boost::json::object RuleJson(const control::RuleSet::RuleStatus& rule) const;
  boost::json::object RoomControlJson(const control::ControlPlane::RoomControl& room) const;

  control::ControlPlane& plane_;
  const util::Clock& clock_;
  std::shared_ptr<ControlStore> store_;
};

// The audit entry of a change traffic control made to a room's policy: who is "rule:<name>",
// "schedule:<event>" or "control:<algorithm>"; action "policy"; before and after the changed
// fields as JSON, after with the decision's reason and the values it saw:
//   before {"max_active":100}   after {"max_active":50,"reason":"...","seen":{"lat_ms":900}}
AuditRecord ControlAuditRecord(const control::Decision& decision);

}  // namespace vwr::admin
