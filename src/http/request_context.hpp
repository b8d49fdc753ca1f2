#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/guard.hpp"
#include "http/api_metrics.hpp"
#include "http/client_ip.hpp"
#include "http/error_log.hpp"
#include "http/errors.hpp"
#include "http/http.hpp"
#include "util/clock.hpp"

namespace vwr::http {

class RequestContext;

// What the steps every request of one handler goes through need: the clock, the handler's
// counts and error log, the trusted proxies and abuse protection. One per handler (each keeps
// its own error log lines), built before serving; thread-safe after.
//
// The steps, in order, and where each happens:
//
//   Begin      Handler::Serve     the start time, the request's version and keep-alive, the
//                                 callback that takes the answer
//   route      the handler        the endpoint (set_endpoint), the room, the action
//   who        the action         who the request is for (a ticket, a user, a hint, nobody)
//   guard      RequestContext::Guard, called once by the handler's routing between "who" and
//                                 the action's work (the client address is computed here, once)
//   work       the action         decode, call the store (at once or later), encode
//   Finish     RequestContext::Finish: the answer counted (per endpoint and status, latency)
//                                 and, when it is an error, logged; then handed to the server
//
// Like a userver middleware pipeline or an Envoy filter chain, every handler gets the same
// steps; unlike them, the steps are plain calls on the handler's own thread, with nothing
// allocated and no lock taken for them on the hot path (a waiting poll).
class RequestPipeline {
 public:
  struct Options {
    // server.trusted_proxies: behind them, the client address is the one they forwarded for
    // (ClientIp), for the guard and the TRACER identities.
    std::vector<util::IpRange> trusted_proxies;
    // Abuse protection; null: every request passes.
    guard::Guard* guard = nullptr;
    // Error log lines a second (ErrorLog) of this handler's endpoints but those set apart.
    std::uint32_t error_lines_per_second = 20;
  };

  RequestPipeline(const util::Clock& clock, ApiMetrics& metrics, Options options);
  RequestPipeline(const util::Clock& clock, ApiMetrics& metrics)
      : RequestPipeline(clock, metrics, Options{}) {}
  RequestPipeline(const RequestPipeline&) = delete;
  RequestPipeline& operator=(const RequestPipeline&) = delete;

  // The first step of a request: its context. `request` and `connection` stay alive until
  // `respond` has been called (the server holds them).
  RequestContext Begin(const Request& request, const ConnectionInfo& connection, Respond respond);
  // The context keeps references: a temporary request or connection would dangle.
  RequestContext Begin(Request&&, const ConnectionInfo&, Respond) = delete;
  RequestContext Begin(const Request&, ConnectionInfo&&, Respond) = delete;

  // `endpoint` answers errors in bulk by design (/api/v1/verify answers 401 to every visitor
  // not yet admitted): its lines are held to their own rate, so that they never crowd out the
  // other errors. Before serving.
  void SetErrorLinesPerSecond(Endpoint endpoint, std::uint32_t lines_per_second);

  const util::Clock& clock() const { return clock_; }
  ApiMetrics& metrics() const { return metrics_; }
  bool guarded() const { return options_.guard != nullptr; }

 private:
  friend class RequestContext;

  const util::Clock& clock_;
  ApiMetrics& metrics_;
  const Options options_;
  ErrorLog error_log_;
  std::array<std::unique_ptr<ErrorLog>, kEndpointCount> endpoint_logs_;
};

// One request on its way through a handler: what the request is, where it came from, when it
// started, which endpoint it is, who the client is, and how to answer it. Carried by every
// handler function from Serve to the answer, and moved into a continuation when the answer
// comes later (Share).
//
// Answers are built with the request's HTTP version and keep-alive (ErrorResponse,
// JsonResponse, EmptyResponse) and sent with Finish, which counts and logs them exactly once;
// Error and Json build and finish in one call.
//
// Not thread-safe: one thread at a time works on a request (the worker, then whichever thread
// the store answers on). Move-only: exactly one context answers a request.
class RequestContext : public std::enable_shared_from_this<RequestContext> {
 public:
  RequestContext(RequestContext&&) noexcept = default;
  RequestContext& operator=(RequestContext&&) noexcept = default;
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  const Request& request() const { return *request_; }
  const ConnectionInfo& connection() const { return *connection_; }
  unsigned version() const { return version_; }
  bool keep_alive() const { return keep_alive_; }
  util::TimePoint start() const { return start_; }
  Endpoint endpoint() const { return endpoint_; }
  // Routing names the endpoint the request is counted under (kOther until then).
  void set_endpoint(Endpoint endpoint) { endpoint_ = endpoint; }
  // Whether the answer has been handed over (Finish).
  bool finished() const { return !respond_; }

  // The room the request is for, once routing found it (Guard names it too): its answer is
  // counted in that room's traffic (RequestObserver). `id` is a room's own id, which outlives
  // the request (a RoomState's). Empty: no room's.
  void set_room(std::string_view id) { room_ = id; }
  std::string_view room() const { return room_; }
  // Whether the guard refused the request (Guard said kBlock), however it was answered (429, or
  // TRACER's NE).
  bool blocked() const { return blocked_; }
  // A TRACER inputQueue.do call of an identity already in line: a poll, not a join.
  void set_tracer_poll(bool poll) { tracer_poll_ = poll; }
  bool tracer_poll() const { return tracer_poll_; }

  // Who sent the request, for the traffic analysis' breakdowns. Any field may be empty.
  struct Visitor {
    std::string_view page_url{};    // the page the visitor is on (join's pageUrl, TRACER's)
    std::string_view user{};        // userId, TRACER loginId or the signed user
    std::string_view host{};        // empty: the Host header
    std::string_view user_agent{};  // empty: the User-Agent header
  };
  // Views that stay alive until Finish (fields of something the continuation holds).
  void set_visitor(const Visitor& visitor) { visitor_ = visitor; }
  // The same, kept by the context (a join's body, which goes its own way): off the hot path.
  void KeepVisitor(std::string page_url, std::string user) {
    kept_page_url_ = std::move(page_url);
    kept_user_ = std::move(user);
  }
  // What was noted, with the request's own Host and User-Agent where nothing else was.
  Visitor visitor() const;

  // The client's address: the peer, or behind a trusted proxy the address it forwarded for
  // (ClientIp). Computed on first use.
  const boost::asio::ip::address& client_ip();
  // Replaces it: a TRACER caller's own `ip` field, when the operator trusts the clients.
  void set_client_ip(const boost::asio::ip::address& address) { client_ip_ = address; }

  // The guard step: counts this request in `room` for `identity` (a ticket, a user, a hint;
  // empty: the client address alone) and says what to do with it. `verified`: the identity is
  // proven (a ticket, a signed user), see guard::GuardRequest. kPass when the handler has no
  // guard. Called once per request, by the handler's routing, after the action named who the
  // request is for.
  guard::GuardVerdict Guard(std::string_view room, std::string_view identity, bool verified,
                            guard::GuardRequestKind kind);
  // Whether a guard counts this handler's requests.
  bool guarded() const { return pipeline_->guarded(); }

  // Answers with the request's version and keep-alive, for the caller to finish.
  Response ErrorResponse(ApiError error, std::string_view message) const;
  Response JsonResponse(status code, std::string body) const;
  Response EmptyResponse(status code) const;
  // 429 "blocked" with Retry-After, for a guard verdict that refuses the request.
  Response BlockedResponse(const guard::GuardVerdict& verdict) const;

  // The last step: counts `response` under the endpoint (status and latency), logs it when it is
  // an error (ErrorLog), and hands it to the server. Once per request; the request and the
  // connection may be gone when it returns.
  void Finish(Response response);
  void Error(ApiError error, std::string_view message) { Finish(ErrorResponse(error, message)); }
  void Json(status code, std::string body) { Finish(JsonResponse(code, std::move(body))); }

  // The context for a continuation that answers later (a store callback: std::function wants
  // something copyable): moved to the heap, or the shared one itself when it is a continuation's
  // already (a join that waits on the store twice). Off the hot path: a poll answers at once.
  std::shared_ptr<RequestContext> Share() &&;

 private:
  friend class RequestPipeline;
  RequestContext(RequestPipeline& pipeline, const Request& request,
                 const ConnectionInfo& connection, Respond respond);

  RequestPipeline* pipeline_;
  const Request* request_;
  const ConnectionInfo* connection_;
  Respond respond_;
  util::TimePoint start_;
  std::optional<boost::asio::ip::address> client_ip_;
  unsigned version_;
  Endpoint endpoint_ = Endpoint::kOther;
  bool keep_alive_;
  bool blocked_ = false;
  bool tracer_poll_ = false;
  std::string_view room_;
  Visitor visitor_;
  // KeepVisitor's: read at Finish (a view into them would not survive the move of Share).
  std::string kept_page_url_;
  std::string kept_user_;
};

}  // namespace vwr::http
