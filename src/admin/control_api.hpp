#pragma once

#include <string>
#include <string_view>

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
//   GET /admin/api/v1/rules                the rules and where each stands
//   GET /admin/api/v1/control[?room=R&limit=N]
//                                          each controlled room's state, the schedules (with
//                                          their commitments and revealed seeds) and the latest
//                                          decisions, newest first
//
// Also what the rest of the admin API shows of it: a room's `control` in GET .../policy, the
// metrics, and an operator's policy change, which holds the room's controller off. The
// ControlPlane's calls used here are thread-safe, so is this class.
class ControlApi {
 public:
  ControlApi(control::ControlPlane& plane, const util::Clock& clock)
      : plane_(plane), clock_(clock) {}

  // `parts`: the request path's segments, starting admin/api/v1/{signals|rules|control}.
  http::Response Serve(http::RequestContext& ctx, const http::PathSegments& parts);

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
  http::Response Rules(const http::RequestContext& ctx);
  http::Response Control(const http::RequestContext& ctx);

  control::ControlPlane& plane_;
  const util::Clock& clock_;
};

}  // namespace vwr::admin
