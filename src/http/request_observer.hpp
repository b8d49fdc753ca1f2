#pragma once

#include "util/clock.hpp"

namespace vwr::http {

class RequestContext;

// Told of every answer a handler's RequestContext finishes, after it is counted and before it
// is handed to the server: the traffic analysis (app::RequestRecording) records it under its
// room. http/ knows only this interface, not what listens.
//
// Called on whichever thread finishes the request (a worker, or the store's completion
// thread), on every request: implementations are thread-safe, never throw, and keep the cost
// of a waiting poll to a few loads and stores (no allocation, no lock). The context's request
// is alive during the call; ctx.room(), ctx.visitor() and ctx.blocked() say what the handler
// noted.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void Finished(RequestContext& ctx, unsigned status_code,
                        util::Duration latency) noexcept = 0;
};

}  // namespace vwr::http
