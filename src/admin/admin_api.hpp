#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <functional>
#include <string>

#include "admin/audit_log.hpp"
#include "admin/operator_routes.hpp"
#include "admin/operator_store.hpp"
#include "admin/operators.hpp"
#include "admin/room_messages.hpp"
#include "guard/abuse_guard.hpp"
#include "http/api_metrics.hpp"
#include "http/error_log.hpp"
#include "http/http.hpp"
#include "http/request_parts.hpp"
#include "http/room_directory.hpp"
#include "store/store.hpp"
#include "token/key_keeper.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

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
//   GET|POST|DELETE /admin/api/v1/rooms/{room}/lists/{list}
//                                              -> a room's abuse protection list (deny, allow,
//                                                 unblock, block); needs SetGuard
//   /admin/api/v1/session, /operators, /audit   -> sign-in, operators, the audit log
//                                                 (OperatorRoutes)
// /admin/ paths need an operator (admin::Operators::Authenticate: a bearer token, the admin
// token's or a named operator's, or a console session cookie with its CSRF proof) whose role
// allows the route (RequiredRole); every change is written to the audit log before it is
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

  // Who may use the API and where changes are recorded. Unset: the admin token alone (operator
  // "admin") and an audit log in memory. Set before serving; `store` (may be null) keeps the
  // operators made through the API.
  void SetAccess(Operators& operators, AuditLog& audit, std::shared_ptr<OperatorStore> store);

  // Set false when the node starts draining; /readyz then answers 503.
  void SetReady(bool ready) { ready_.store(ready, std::memory_order_relaxed); }
  // Another condition of readiness, besides the store's: while `check` says false, /readyz
  // answers 503 {"status": `status`} (the first failing one's, in the order added). Add before
  // serving; called on any thread.
  void AddReadyCheck(std::function<bool()> check, std::string status) {
    ready_checks_.push_back({std::move(check), std::move(status)});
  }

 private:
  // What is answered later, once done elsewhere.
  struct Deferred {
    http::RoomEntry* policy_change = nullptr;  // PutPolicy answers
    bool rotate_keys = false;                  // RotateKeys answers
    http::RoomEntry* end_session = nullptr;    // EndSession answers, for session_ticket
    std::uint64_t session_ticket = 0;
    std::optional<http::Response> list_change;  // answered once ListsRecorded says it is recorded
    bool sign_in = false;                       // OperatorRoutes::SignIn answers
    bool operator_route = false;                // OperatorRoutes::Serve answers
    std::optional<Caller> caller;               // who asks (set for /admin/ paths)
    // What a change route did, for the audit log (written when the answer is a success).
    std::shared_ptr<AuditRecord> note = std::make_shared<AuditRecord>();
  };
  // The caller of an /admin/ request, or the refusal (401, 403).
  std::optional<http::Response> Authorize(const http::Request& request,
                                          const http::ConnectionInfo& connection,
                                          const http::PathSegments& parts, Deferred& deferred);

  // The answer, or nullopt for what `deferred` names.
  std::optional<http::Response> Route(const http::Request& request,
                                      const http::ConnectionInfo& connection,
                                      http::Endpoint& endpoint, Deferred& deferred);
  std::optional<http::Response> RouteKeys(const http::Request& request,
                                          const http::PathSegments& parts, Deferred& deferred);
  http::Response Metrics(const http::Request& request);
  http::Response GetPolicy(http::RoomEntry& room, const http::Request& request);
  void PutPolicy(http::RoomEntry& room, const http::Request& request,
                 const http::ConnectionInfo& connection, AuditRecord& note, http::Respond respond);
  // The policy a PUT asks for, or nullopt when it was refused (and answered with the reason).
  std::optional<core::Policy> PolicyChange(http::RoomEntry& room, const http::Request& request,
                                           const http::Respond& respond);
  http::Response ListRooms(const http::Request& request);
  http::Response Message(http::RoomEntry& room, const http::Request& request,
                         const http::ConnectionInfo& connection, AuditRecord& note);
  http::Response ListKeys(const http::Request& request);
  // /admin/api/v1/rooms/{room}/lists/{list}.
  // A change is answered through `deferred` (list_change).
  http::Response Lists(http::RoomEntry& room, std::string_view list, const http::Request& request,
                       const http::ConnectionInfo& connection, Deferred& deferred);
  void RotateKeys(const http::Request& request, const http::ConnectionInfo& connection,
                  AuditRecord& note, http::Respond respond);
  // DELETE .../sessions/{session}: the ticket it names, or the error answer.
  std::optional<http::Response> SessionToEnd(http::RoomEntry& room, const http::Request& request,
                                             std::string_view session, Deferred& deferred);
  void EndSession(http::RoomEntry& room, std::uint64_t ticket, const http::Request& request,
                  const http::ConnectionInfo& connection, AuditRecord& note, http::Respond respond);

  http::RoomDirectory& rooms_;
  store::Store& store_;
  // Without SetAccess: the admin token alone, and an audit log in memory.
  std::unique_ptr<Operators> own_operators_;
  std::unique_ptr<AuditLog> own_audit_;
  Operators* operators_;
  AuditLog* audit_;
  std::unique_ptr<OperatorRoutes> operator_routes_;
  util::LogLimiter refused_log_;
  const util::Clock& clock_;
  http::ApiMetrics& metrics_;
  http::ErrorLog error_log_;
  RoomMessages* messages_;
  AdminKeys keys_;
  guard::AbuseGuard* guard_ = nullptr;
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
