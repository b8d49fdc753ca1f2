#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "admin/audit_log.hpp"
#include "admin/operator_routes.hpp"
#include "admin/operator_store.hpp"
#include "admin/operators.hpp"
#include "admin/control_api.hpp"
#include "admin/room_messages.hpp"
#include "admin/stats_api.hpp"
#include "analytics/statistics.hpp"
#include "guard/abuse_guard.hpp"
#include "http/api_metrics.hpp"
#include "http/http.hpp"
#include "http/request_context.hpp"
#include "http/request_parts.hpp"
#include "http/room_directory.hpp"
#include "store/store.hpp"
#include "token/key_keeper.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace vwr::admin {

// What the admin API may do with the admission token keys. Leave it empty (the default) and the
// /admin/api/v1/keys routes answer 404.
struct AdminKeys {
  using RotateDone = std::function<void(boost::system::result<token::KeyEvents, std::string>)>;

  const token::KeyRing* ring = nullptr;
  // Rotates the signing key where blocking is allowed (the app posts it to the control thread)
  // and then calls `done`, on any thread, with what happened or why it failed.
  std::function<void(RotateDone done)> rotate;
};

// The operator's API on the admin listener (never the public one):
//   GET /healthz                               -> the process is up
//   GET /readyz                                -> 200 when serving, 503 when draining or the
//                                                 store cannot serve
//   GET /metrics                               -> Prometheus text format
//   GET|PUT /admin/api/v1/rooms/{room}/policy  -> read or change a room's policy
//   GET /admin/api/v1/rooms                    -> every room with its figures
//   GET|PUT|DELETE /admin/api/v1/rooms/{room}/message -> the waiting page's operator message
//                                                 (in memory only; needs `messages`)
//   DELETE /admin/api/v1/rooms/{room}/sessions/{session}
//                                              -> ends a session (its token's jti, or its
//                                                 ticket number): its tokens stop verifying
//   GET /admin/api/v1/keys                     -> the admission token keys and the JWKS
//   POST /admin/api/v1/keys/rotate             -> a new signing key now; the new kid and JWKS
//   GET /admin/api/v1/stats[/top|/peaks], /admin/api/v1/live
//                                              -> traffic analysis queries (see StatsApi); needs
//                                                 SetStatistics
//   GET|PUT /admin/api/v1/signals[/{name}], GET /admin/api/v1/rules, GET /admin/api/v1/control
//                                              -> traffic control (see ControlApi); needs
//                                                 SetControl
//   GET|POST|DELETE /admin/api/v1/rooms/{room}/lists/{list}
//                                              -> a room's abuse protection list (deny, allow,
//                                                 unblock, block); needs SetGuard
//   /admin/api/v1/session, /operators, /audit -> sign-in, operators, audit log (OperatorRoutes)
// /admin/ paths need credentials (Operators::Authenticate): "Authorization: Bearer <token>" (the
// admin token, or a named operator's) or a console session cookie; the caller's role must allow
// the route (RequiredRole). Every change that succeeds is written to the audit log before it is
// answered. Thread-safe.
class AdminApi final : public http::Handler {
 public:
  AdminApi(http::RoomDirectory& rooms, store::Store& store, std::string admin_token,
           const util::Clock& clock, http::ApiMetrics& metrics, RoomMessages* messages = nullptr,
           AdminKeys keys = {});

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

  // The abuse protection whose lists the admin API manages (and whose figures /metrics shows).
  // Set before serving; null (the default): the list routes answer 404.
  void SetGuard(guard::AbuseGuard* guard) { guard_ = guard; }
  // What a list change waits for before it is answered: the hook calls its argument once the
  // change is recorded (true) or could not be (false; answered 503). Unset: answered at once.
  using ListsRecorded = std::function<void(std::function<void(bool)>)>;
  void SetListsRecorded(ListsRecorded recorded) { lists_recorded_ = std::move(recorded); }

  // The traffic analysis the stats routes query (and whose histograms /metrics shows). Set
  // before serving; null (the default): those routes answer 404.
  void SetStatistics(analytics::Statistics* stats);

  // Who may use the API and where changes are recorded. Unset: the admin token alone (operator
  // "admin") and an audit log in memory. Set before serving; `store` (may be null) keeps the
  // operators made through the API.
  void SetAccess(Operators& operators, AuditLog& audit, std::shared_ptr<OperatorStore> store);
  // Traffic control: its routes (signals, rules, control), a room's `control` in the policy,
  // its metrics; an operator's policy change is reported to it. Set before serving; null (the
  // default): those routes answer 404.
  void SetControl(ControlApi* control) { control_ = control; }

  // Set false when the node starts draining; /readyz then answers 503.
  void SetReady(bool ready) { ready_.store(ready, std::memory_order_relaxed); }
  // Another condition of readiness, besides the store's: while `check` says false, /readyz
  // answers 503 {"status": `status`} (the first failing one's, in the order added). Add before
  // serving; called on any thread.
  void AddReadyCheck(std::function<bool()> check, std::string status) {
    ready_checks_.push_back({std::move(check), std::move(status)});
  }

 private:
  // What a request is doing, for the audit log: who asks (set once authenticated) and what the
  // change is (set by the change route; an empty action changes nothing). Written when the
  // answer is a success, before it is sent.
  struct AuditDraft {
    std::string operator_name;
    AuditRecord change;
  };
  // The caller of an /admin/ request, or the refusal (401, 403).
  std::variant<Caller, http::Response> Authorize(http::RequestContext& ctx,
                                                 const http::PathSegments& parts);

  // The answer now, or nullopt when an action took the context to answer later (a change the
  // store must make durable first, a key rotation, a list change to be recorded).
  std::optional<http::Response> Route(http::RequestContext& ctx, AuditDraft& draft);
  std::optional<http::Response> RouteKeys(http::RequestContext& ctx,
                                          const http::PathSegments& parts, AuditRecord& note);
  http::Response Metrics(const http::RequestContext& ctx);
  http::Response GetPolicy(http::RoomEntry& room, const http::RequestContext& ctx);
  // PUT .../policy: the refusal, or nullopt once the change is on its way (answered when safe).
  std::optional<http::Response> PutPolicy(http::RoomEntry& room, http::RequestContext& ctx,
                                          AuditRecord& note);
  // The policy a PUT asks for, or the refusal.
  std::variant<core::Policy, http::Response> PolicyChange(http::RoomEntry& room,
                                                          const http::RequestContext& ctx);
  http::Response ListRooms(const http::RequestContext& ctx);
  http::Response Message(http::RoomEntry& room, const http::RequestContext& ctx, AuditRecord& note);
  http::Response ListKeys(const http::RequestContext& ctx);
  // /admin/api/v1/rooms/{room}/lists/{list}: a read, a refusal, or (nullopt) a change, answered
  // once it is recorded.
  std::optional<http::Response> Lists(http::RoomEntry& room, std::string_view list,
                                      http::RequestContext& ctx, AuditRecord& note);
  // Answers a list change once ListsRecorded says it is recorded (at once without the hook).
  void AnswerRecorded(http::RequestContext& ctx, http::Response answer);
  void RotateKeys(http::RequestContext& ctx, AuditRecord& note);
  // DELETE .../sessions/{session}: the refusal, or nullopt once the session is being ended.
  std::optional<http::Response> EndSession(http::RoomEntry& room, std::string_view session,
                                           http::RequestContext& ctx, AuditRecord& note);
  // DELETE .../sessions: ends every session of the room; answers once they have ended.
  void EndAllSessions(http::RoomEntry& room, http::RequestContext& ctx, AuditRecord& note);

  http::RoomDirectory& rooms_;
  store::Store& store_;
  // Without SetAccess: the admin token alone, and an audit log in memory.
  std::unique_ptr<Operators> own_operators_;
  std::unique_ptr<AuditLog> own_audit_;
  Operators* operators_;
  AuditLog* audit_;
  std::unique_ptr<OperatorRoutes> operator_routes_;
  util::LogLimiter refused_log_;
  http::ApiMetrics& metrics_;
  http::RequestPipeline pipeline_;
  RoomMessages* messages_;
  AdminKeys keys_;
  guard::AbuseGuard* guard_ = nullptr;
  analytics::Statistics* stats_ = nullptr;
  std::unique_ptr<StatsApi> stats_api_;
  ControlApi* control_ = nullptr;
  ListsRecorded lists_recorded_;
  struct ReadyCheck {
    std::function<bool()> check;
    std::string status;
  };
  std::vector<ReadyCheck> ready_checks_;
  std::atomic<bool> ready_{true};
};

// The JSON form of a policy, as GET and PUT answer it.
std::string RenderPolicy(std::string_view room, const core::Policy& policy);

}  // namespace vwr::admin
