#pragma once

#include "analytics/recorder.hpp"
#include "http/request_context.hpp"
#include "http/request_observer.hpp"

namespace vwr::app {

// What the traffic analysis hears of every answered request on the public listener: each
// handler's RequestContext::Finish tells it (through http::ApiMetrics' observer), and it
// records the request under the room the handler named (ctx.room()): endpoint, outcome (the
// status class, or blocked when the guard refused it), the latency of status polls, whether a
// TRACER call was a poll, and for the breakdowns who sent it (address, User-Agent, Host, page,
// user). Requests that name no room (files, JWKS, an unknown room) are not a room's traffic.
//
// The cost on a waiting poll: a lookup of the room's recorder (an immutable map), a few
// counter stores, and one poll in RecorderOptions::poll_sample the visitor (the address
// formatted on the stack). No allocation, no lock. Thread-safe.
class RequestRecording final : public http::RequestObserver {
 public:
  explicit RequestRecording(analytics::Recorder& recorder) : recorder_(recorder) {}

  void Finished(http::RequestContext& ctx, unsigned status_code,
                util::Duration latency) noexcept override;

  // Which of the analysis' endpoints an API endpoint is counted as. The pages handler's
  // answers are the only ones counted under http `other` that name a room (a waiting page).
  static analytics::Endpoint EndpointOf(http::Endpoint endpoint);

 private:
  analytics::Recorder& recorder_;
};

}  // namespace vwr::app
