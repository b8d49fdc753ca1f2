#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "analytics/metrics.hpp"
#include "http/request_observer.hpp"

namespace vwr::http {

enum class Endpoint : std::uint8_t {
  kJoin,
  kStatus,
  kHeartbeat,
  kLeave,
  kRoomInfo,
  kHealth,
  kReady,
  kMetrics,
  kPolicy,
  kJwks,            // GET /.well-known/jwks.json
  kKeys,            // /admin/api/v1/keys[/rotate]
  kVerify,          // GET /api/v1/verify
  kSessions,        // DELETE /admin/api/v1/rooms/{room}/sessions/{session}
  kChallenge,       // GET /api/v1/rooms/{room}/challenge
  kTracerInput,     // /TRACERAPI/inputQueue.do
  kTracerOutput,    // /TRACERAPI/outQueue.do (and its alias outputQueue.do)
  kTracerCheckBot,  // /TRACERAPI/checkBotIp.do
  kStats,           // /admin/api/v1/stats[/top|/peaks], /admin/api/v1/live
  kControl,         // /admin/api/v1/signals[/{name}], /admin/api/v1/rules, /admin/api/v1/control
  kEvents,          // GET /api/v1/rooms/{room}/events (a ticket's Server-Sent Events)
  kOther,
};
inline constexpr std::size_t kEndpointCount = 21;
std::string_view EndpointName(Endpoint endpoint);

// What GET /api/v1/verify decided (vwr_verify_results_total{result}).
enum class VerifyOutcome : std::uint8_t {
  kOk,            // 204: a valid admission token of a live session
  kNoToken,       // 401: neither a bearer token nor the room's cookie
  kInvalidToken,  // 401: forged, malformed, another room's, another issuer's, a pass
  kTokenExpired,  // 401: genuine, past its exp (or before its nbf)
  kSessionEnded,  // 401: genuine, but its session has ended (leave, idleness, an operator)
  kRoomNotFound,  // 404: no room by that id, or none matches the original host and URI
  kBadRequest,    // 400: no room named and no original URI to route by
};
inline constexpr std::size_t kVerifyOutcomeCount = 7;
std::string_view VerifyOutcomeName(VerifyOutcome outcome);

// What looking up a token signing key this node did not hold found, for a token that named it
// on heartbeat, leave or /api/v1/verify (vwr_token_key_lookups_total{result}).
enum class KeyLookupOutcome : std::uint8_t {
  kFound,     // another node's key, imported now: the token was verified again
  kNotFound,  // no node shares such a key (or it was withdrawn, or asked again too soon)
  kBusy,      // too many lookups in flight: refused without asking
  kFailed,    // the shared store did not answer
};
inline constexpr std::size_t kKeyLookupOutcomeCount = 4;
std::string_view KeyLookupOutcomeName(KeyLookupOutcome outcome);

// Request counts by endpoint and status code, and latency by endpoint; exceptions that reached
// a listener's catch-all. Thread-safe; counting is lock-free.
class ApiMetrics {
 public:
  void Record(Endpoint endpoint, unsigned status_code, double seconds);
  void RecordVerify(VerifyOutcome outcome);
  void RecordKeyLookup(KeyLookupOutcome outcome);
  // A session kept alive by a request /api/v1/verify let through (one store write, coalesced:
  // vwr_verify_session_refreshes_total), and a fresh token handed back with it
  // (vwr_verify_tokens_renewed_total).
  void RecordSessionRefresh() { session_refreshes_.Add(); }
  void RecordTokenRenewed() { tokens_renewed_.Add(); }
  // The count of exceptions that reached `listener`'s catch-all instead of an answer (a bug in
  // a handler: vwr_http_handler_exceptions_total{listener}). Registered when the listener is
  // added (the same name gives the same counter); the counter lives as long as this object.
  analytics::Counter& HandlerExceptions(std::string_view listener);
  // A listener's answers that go on (Server-Sent Events): open now (vwr_http_streams), and
  // refused because the listener had its most open (vwr_http_streams_refused_total). Registered
  // when the listener is added; lives as long as this object.
  struct ListenerStreams {
    std::atomic<std::int64_t> open{0};
    analytics::Counter refused;
  };
  ListenerStreams& Streams(std::string_view listener);
  void Render(std::string& out) const;

  // Who else is told of every answer these metrics count (RequestContext::Finish): the traffic
  // analysis. Set before serving; null (the default): nobody.
  void SetObserver(RequestObserver* observer) { observer_ = observer; }
  RequestObserver* observer() const { return observer_; }

 private:
  static constexpr std::array<unsigned, 13> kCodes = {200, 204, 304, 400, 401, 404, 405,
                                                      413, 429, 431, 500, 503, 0};
  static std::size_t CodeIndex(unsigned code);

  std::array<std::array<analytics::Counter, kCodes.size()>, kEndpointCount> requests_;
  std::array<analytics::LatencyHistogram, kEndpointCount> latency_;
  std::array<analytics::Counter, kVerifyOutcomeCount> verify_;
  std::array<analytics::Counter, kKeyLookupOutcomeCount> key_lookups_;
  analytics::Counter session_refreshes_;
  analytics::Counter tokens_renewed_;
  mutable std::mutex listeners_mu_;  // guards the list, not the counts
  std::deque<std::pair<std::string, analytics::Counter>> handler_exceptions_;
  std::deque<std::pair<std::string, ListenerStreams>> streams_;
  RequestObserver* observer_ = nullptr;
};

}  // namespace vwr::http
