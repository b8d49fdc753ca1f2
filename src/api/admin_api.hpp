#pragma once

#include <atomic>
#include <string>

#include "api/api_metrics.hpp"
#include "api/error_log.hpp"
#include "api/http.hpp"
#include "api/room_directory.hpp"
#include "api/room_messages.hpp"
#include "store/store.hpp"
#include "util/clock.hpp"

namespace vwr::api {

// The operator's API on the admin listener (never the public one):
//   GET /healthz                               -> the process is up
//   GET /readyz                                -> 200 when serving, 503 when draining or the
//                                                 store cannot serve
//   GET /metrics                               -> Prometheus text format
//   GET|PUT /admin/api/v1/rooms/{room}/policy  -> read or change a room's policy
//   GET /admin/api/v1/rooms                    -> every room with its figures
//   GET|PUT|DELETE /admin/api/v1/rooms/{room}/message -> the waiting page's operator message
//                                                 (in memory only; needs `messages`)
// /admin/ paths require "Authorization: Bearer <admin token>". Thread-safe.
class AdminApi final : public Handler {
 public:
  AdminApi(RoomDirectory& rooms, store::Store& store, std::string admin_token,
           const util::Clock& clock, ApiMetrics& metrics, RoomMessages* messages = nullptr);

  void Serve(const Request& request, const ConnectionInfo& connection, Respond respond) override;

  // Set false when the node starts draining; /readyz then answers 503.
  void SetReady(bool ready) { ready_.store(ready, std::memory_order_relaxed); }

 private:
  // The answer, or nullopt for a policy change (`policy_change`), which PutPolicy answers.
  std::optional<Response> Route(const Request& request, const ConnectionInfo& connection,
                                Endpoint& endpoint, RoomEntry*& policy_change);
  Response Metrics(const Request& request);
  Response GetPolicy(RoomEntry& room, const Request& request);
  void PutPolicy(RoomEntry& room, const Request& request, const ConnectionInfo& connection,
                 Respond respond);
  // The policy a PUT asks for, or nullopt when it was refused (and answered with the reason).
  std::optional<core::Policy> PolicyChange(RoomEntry& room, const Request& request,
                                           const Respond& respond);
  Response ListRooms(const Request& request);
  Response Message(RoomEntry& room, const Request& request, const ConnectionInfo& connection);

  RoomDirectory& rooms_;
  store::Store& store_;
  const std::string admin_token_;
  const util::Clock& clock_;
  ApiMetrics& metrics_;
  ErrorLog error_log_;
  RoomMessages* messages_;
  std::atomic<bool> ready_{true};
};

// The JSON form of a policy, as GET and PUT answer it.
std::string RenderPolicy(std::string_view room, const core::Policy& policy);

}  // namespace vwr::api
