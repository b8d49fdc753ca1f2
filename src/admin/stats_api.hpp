#pragma once

#include <chrono>

#include "analytics/statistics.hpp"
#include "http/http.hpp"
#include "http/request_parts.hpp"
#include "http/room_directory.hpp"
#include "util/clock.hpp"

namespace vwr::admin {

// The traffic analysis queries, on the admin listener behind the admin token (AdminApi routes
// here after checking it):
//
//   GET /admin/api/v1/stats?room=R&from=F&to=T&step=1s|1m|1h&metrics=M1,M2[&format=csv]
//   GET /admin/api/v1/stats/top?room=R&dim=D&from=F&to=T&k=K
//   GET /admin/api/v1/stats/peaks?room=R&period=hour|minute&from=F&to=T&k=K[&metric=M]
//   GET /admin/api/v1/live   Server-Sent Events: `event: stats` with every room's figures of
//                            each second as it closes (Statistics::LiveEvent), a comment line
//                            after 15 s without one; at most analytics.live_streams at once
//                            (the listener's max_streams), 503 beyond
//
// The parsing and the bodies are analytics' (queries.hpp); this class turns them into HTTP. A
// room is known when it is configured or statistics still holds history of it (a room removed
// from the configuration can still be looked back at); any other name is 404, so that a typo is
// not answered with zeros. Answers come later, from the history's thread.
class StatsApi {
 public:
  StatsApi(analytics::Statistics& stats, http::RoomDirectory& rooms, const util::Clock& clock);

  // `parts`: the request path's segments, starting admin/api/v1/stats or admin/api/v1/live.
  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             const http::PathSegments& parts, http::Respond respond);

  // How often a live stream looks for a new second: an event goes out within this much of its
  // second's close.
  static constexpr std::chrono::milliseconds kLivePeriod{200};

 private:
  // The answer of a query, as HTTP.
  static http::Response ToResponse(const analytics::Answer& answer, unsigned version,
                                   bool keep_alive);
  void Live(const http::Request& request, const http::ConnectionInfo& connection,
            http::Respond respond);

  analytics::Statistics& stats_;
  http::RoomDirectory& rooms_;
  const util::Clock& clock_;
};

}  // namespace vwr::admin
