#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <functional>
#include <string>

#include "api/api_metrics.hpp"
#include "api/error_log.hpp"
#include "api/guard_impl.hpp"
#include "api/http.hpp"
#include "api/request_parts.hpp"
#include "api/room_directory.hpp"
#include "api/room_messages.hpp"
#include "store/store.hpp"
#include "token/key_keeper.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::api {

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
// /admin/ paths require "Authorization: Bearer <admin token>". Thread-safe.
class AdminApi final : public Handler {
 public:
  AdminApi(RoomDirectory& rooms, store::Store& store, std::string admin_token,
           const util::Clock& clock, ApiMetrics& metrics, RoomMessages* messages = nullptr,
           AdminKeys keys = {});

  void Serve(const Request& request, const ConnectionInfo& connection, Respond respond) override;

  // The abuse protection whose lists the admin API manages (and whose figures /metrics shows).
  // Set before serving; null (the default): the list routes answer 404.
  void SetGuard(GuardImpl* guard) { guard_ = guard; }
  // What a list change waits for before it is answered: the hook calls its argument once the
  // change is recorded (true) or could not be (false; answered 503). Unset: answered at once.
  using ListsRecorded = std::function<void(std::function<void(bool)>)>;
  void SetListsRecorded(ListsRecorded recorded) { lists_recorded_ = std::move(recorded); }

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
    RoomEntry* policy_change = nullptr;  // PutPolicy answers
    bool rotate_keys = false;            // RotateKeys answers
    RoomEntry* end_session = nullptr;    // EndSession answers, for session_ticket
    std::uint64_t session_ticket = 0;
    std::optional<Response> list_change;  // answered once ListsRecorded says it is recorded
  };

  // The answer, or nullopt for what `deferred` names.
  std::optional<Response> Route(const Request& request, const ConnectionInfo& connection,
                                Endpoint& endpoint, Deferred& deferred);
  std::optional<Response> RouteKeys(const Request& request, const PathSegments& parts,
                                    Deferred& deferred);
  Response Metrics(const Request& request);
  Response GetPolicy(RoomEntry& room, const Request& request);
  void PutPolicy(RoomEntry& room, const Request& request, const ConnectionInfo& connection,
                 Respond respond);
  // The policy a PUT asks for, or nullopt when it was refused (and answered with the reason).
  std::optional<core::Policy> PolicyChange(RoomEntry& room, const Request& request,
                                           const Respond& respond);
  Response ListRooms(const Request& request);
  Response Message(RoomEntry& room, const Request& request, const ConnectionInfo& connection);
  Response ListKeys(const Request& request);
  // /admin/api/v1/rooms/{room}/lists/{list}.
  // A change is answered through `deferred` (list_change).
  Response Lists(RoomEntry& room, std::string_view list, const Request& request,
                 const ConnectionInfo& connection, Deferred& deferred);
  void RotateKeys(const Request& request, const ConnectionInfo& connection, Respond respond);
  // DELETE .../sessions/{session}: the ticket it names, or the error answer.
  std::optional<Response> SessionToEnd(RoomEntry& room, const Request& request,
                                       std::string_view session, Deferred& deferred);
  void EndSession(RoomEntry& room, std::uint64_t ticket, const Request& request,
                  const ConnectionInfo& connection, Respond respond);

  RoomDirectory& rooms_;
  store::Store& store_;
  const std::string admin_token_;
  const util::Clock& clock_;
  ApiMetrics& metrics_;
  ErrorLog error_log_;
  RoomMessages* messages_;
  AdminKeys keys_;
  GuardImpl* guard_ = nullptr;
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

}  // namespace vwr::api
