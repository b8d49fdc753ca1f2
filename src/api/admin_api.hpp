#pragma once

#include <atomic>
#include <string>

#include "api/api_metrics.hpp"
#include "api/error_log.hpp"
#include "api/http.hpp"
#include "api/room_directory.hpp"
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
// /admin/ paths require "Authorization: Bearer <admin token>". Thread-safe.
class AdminApi final : public Handler {
 public:
  AdminApi(RoomDirectory& rooms, store::Store& store, std::string admin_token,
           const util::Clock& clock, ApiMetrics& metrics);

  Reply Serve(const Request& request, const ConnectionInfo& connection) override;
  void AwaitDurable(std::uint64_t durable_lsn, std::function<void(bool ok)> done) override;

  // Set false when the node starts draining; /readyz then answers 503.
  void SetReady(bool ready) { ready_.store(ready, std::memory_order_relaxed); }

 private:
  Reply Route(const Request& request, const ConnectionInfo& connection, Endpoint& endpoint);
  Response Metrics(const Request& request);
  Response GetPolicy(RoomEntry& room, const Request& request);
  Reply PutPolicy(RoomEntry& room, const Request& request, const ConnectionInfo& connection);
  Response ListRooms(const Request& request);

  RoomDirectory& rooms_;
  store::Store& store_;
  const std::string admin_token_;
  const util::Clock& clock_;
  ApiMetrics& metrics_;
  ErrorLog error_log_;
  std::atomic<bool> ready_{true};
};

// The JSON form of a policy, as GET and PUT answer it.
std::string RenderPolicy(std::string_view room, const core::Policy& policy);

}  // namespace vwr::api
