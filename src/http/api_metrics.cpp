#include "http/api_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vwr::http {

std::string_view EndpointName(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kJoin:
      return "join";
    case Endpoint::kStatus:
      return "status";
    case Endpoint::kHeartbeat:
      return "heartbeat";
    case Endpoint::kLeave:
      return "leave";
    case Endpoint::kRoomInfo:
      return "room";
    case Endpoint::kHealth:
      return "healthz";
    case Endpoint::kReady:
      return "readyz";
    case Endpoint::kMetrics:
      return "metrics";
    case Endpoint::kPolicy:
      return "policy";
    case Endpoint::kJwks:
      return "jwks";
    case Endpoint::kKeys:
      return "keys";
    case Endpoint::kVerify:
      return "verify";
    case Endpoint::kTracerInput:
      return "tracer_input";
    case Endpoint::kTracerOutput:
      return "tracer_output";
    case Endpoint::kTracerCheckBot:
      return "tracer_check_bot";
    case Endpoint::kSessions:
      return "sessions";
    case Endpoint::kChallenge:
      return "challenge";
    case Endpoint::kStats:
      return "stats";
    case Endpoint::kControl:
      return "control";
    case Endpoint::kEvents:
      return "events";
    case Endpoint::kOther:
      return "other";
  }
  return "other";
}

std::string_view VerifyOutcomeName(VerifyOutcome outcome) {
  switch (outcome) {
    case VerifyOutcome::kOk:
      return "ok";
    case VerifyOutcome::kNoToken:
      return "no_token";
    case VerifyOutcome::kInvalidToken:
      return "invalid_token";
    case VerifyOutcome::kTokenExpired:
      return "token_expired";
    case VerifyOutcome::kSessionEnded:
      return "session_ended";
    case VerifyOutcome::kRoomNotFound:
      return "room_not_found";
    case VerifyOutcome::kBadRequest:
      return "bad_request";
  }
  return "bad_request";
}

void ApiMetrics::RecordVerify(VerifyOutcome outcome) {
  verify_[static_cast<std::size_t>(outcome)].Add();
}

std::string_view KeyLookupOutcomeName(KeyLookupOutcome outcome) {
  switch (outcome) {
    case KeyLookupOutcome::kFound:
      return "found";
    case KeyLookupOutcome::kNotFound:
      return "not_found";
    case KeyLookupOutcome::kBusy:
      return "busy";
    case KeyLookupOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

void ApiMetrics::RecordKeyLookup(KeyLookupOutcome outcome) {
  key_lookups_[static_cast<std::size_t>(outcome)].Add();
}

std::size_t ApiMetrics::CodeIndex(unsigned code) {
  for (std::size_t i = 0; i + 1 < kCodes.size(); ++i) {
    if (kCodes[i] == code) return i;
  }
  return kCodes.size() - 1;
}

void ApiMetrics::Record(Endpoint endpoint, unsigned status_code, double seconds) {
  const auto e = static_cast<std::size_t>(endpoint);
  requests_[e][CodeIndex(status_code)].Add();
  latency_[e].Observe(seconds);
}

analytics::Counter& ApiMetrics::HandlerExceptions(std::string_view listener) {
  const std::lock_guard lock(listeners_mu_);
  for (auto& [name, counter] : handler_exceptions_) {
    if (name == listener) return counter;
  }
  return handler_exceptions_
      .emplace_back(std::piecewise_construct, std::forward_as_tuple(listener),
                    std::forward_as_tuple())
      .second;
}

ApiMetrics::ListenerStreams& ApiMetrics::Streams(std::string_view listener) {
  const std::lock_guard lock(listeners_mu_);
  for (auto& [name, streams] : streams_) {
    if (name == listener) return streams;
  }
  return streams_
      .emplace_back(std::piecewise_construct, std::forward_as_tuple(listener),
                    std::forward_as_tuple())
      .second;
}

void ApiMetrics::Render(std::string& out) const {
  analytics::AppendHelp(out, "vwr_http_requests_total", "counter",
                        "HTTP requests answered, by endpoint and status code.");
  for (std::size_t e = 0; e < kEndpointCount; ++e) {
    for (std::size_t c = 0; c < kCodes.size(); ++c) {
      const std::uint64_t n = requests_[e][c].Value();
      if (n == 0) continue;
      const std::string code = kCodes[c] == 0 ? "other" : std::to_string(kCodes[c]);
      analytics::AppendSample(
          out, "vwr_http_requests_total",
          fmt::format("endpoint=\"{}\",code=\"{}\"", EndpointName(static_cast<Endpoint>(e)), code),
          n);
    }
  }
  analytics::AppendHelp(out, "vwr_verify_results_total", "counter",
                        "Answers of /api/v1/verify, by what was decided.");
  for (std::size_t i = 0; i < kVerifyOutcomeCount; ++i) {
    analytics::AppendSample(
        out, "vwr_verify_results_total",
        fmt::format("result=\"{}\"", VerifyOutcomeName(static_cast<VerifyOutcome>(i))),
        verify_[i].Value());
  }
  analytics::AppendHelp(out, "vwr_token_key_lookups_total", "counter",
                        "Tokens naming a signing key this node did not hold (a node just started "
                        "or rotated), by what looking the key up in the shared store found.");
  for (std::size_t i = 0; i < kKeyLookupOutcomeCount; ++i) {
    analytics::AppendSample(
        out, "vwr_token_key_lookups_total",
        fmt::format("result=\"{}\"", KeyLookupOutcomeName(static_cast<KeyLookupOutcome>(i))),
        key_lookups_[i].Value());
  }
  analytics::AppendHelp(out, "vwr_verify_session_refreshes_total", "counter",
                        "Sessions kept alive by requests /api/v1/verify let through (one store "
                        "write per session per refresh interval at most).");
  analytics::AppendSample(out, "vwr_verify_session_refreshes_total", "",
                          session_refreshes_.Value());
  analytics::AppendHelp(out, "vwr_verify_tokens_renewed_total", "counter",
                        "Fresh admission tokens handed back by /api/v1/verify for tokens past "
                        "half their lifetime.");
  analytics::AppendSample(out, "vwr_verify_tokens_renewed_total", "", tokens_renewed_.Value());
  analytics::AppendHelp(out, "vwr_http_request_duration_seconds", "histogram",
                        "Time to handle a request, by endpoint (excluding network I/O).");
  for (std::size_t e = 0; e < kEndpointCount; ++e) {
    latency_[e].Render(out, "vwr_http_request_duration_seconds",
                       fmt::format("endpoint=\"{}\"", EndpointName(static_cast<Endpoint>(e))));
  }
  const std::lock_guard lock(listeners_mu_);
  if (!streams_.empty()) {
    analytics::AppendHelp(out, "vwr_http_streams", "gauge",
                          "Answers that go on (Server-Sent Events) open now, by listener.");
    for (const auto& [name, streams] : streams_) {
      analytics::AppendSample(out, "vwr_http_streams",
                              fmt::format("listener=\"{}\"", analytics::EscapeLabel(name)),
                              static_cast<std::uint64_t>(std::max<std::int64_t>(
                                  0, streams.open.load(std::memory_order_relaxed))));
    }
    analytics::AppendHelp(out, "vwr_http_streams_refused_total", "counter",
                          "Streams refused because the listener had its most open.");
    for (const auto& [name, streams] : streams_) {
      analytics::AppendSample(out, "vwr_http_streams_refused_total",
                              fmt::format("listener=\"{}\"", analytics::EscapeLabel(name)),
                              streams.refused.Value());
    }
  }
  if (handler_exceptions_.empty()) return;
  analytics::AppendHelp(out, "vwr_http_handler_exceptions_total", "counter",
                        "Exceptions that reached a listener's catch-all instead of an answer "
                        "(answered 500, connection closed): a bug in a handler.");
  for (const auto& [name, counter] : handler_exceptions_) {
    analytics::AppendSample(out, "vwr_http_handler_exceptions_total",
                            fmt::format("listener=\"{}\"", analytics::EscapeLabel(name)),
                            counter.Value());
  }
}

}  // namespace vwr::http
