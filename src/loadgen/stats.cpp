#include "loadgen/stats.hpp"

namespace vwr::loadgen {

const char* EndpointName(Endpoint e) {
  switch (e) {
    case Endpoint::kJoin:
      return "join";
    case Endpoint::kStatus:
      return "status";
    case Endpoint::kHeartbeat:
      return "heartbeat";
    case Endpoint::kLeave:
      return "leave";
    case Endpoint::kRoom:
      return "room";
    case Endpoint::kTracerInput:
      return "tracer_input";
    case Endpoint::kTracerOutput:
      return "tracer_output";
    case Endpoint::kTracerCheckBot:
      return "tracer_check_bot";
  }
  return "other";
}

void EndpointStats::Merge(const EndpointStats& o) {
  sent += o.sent;
  for (const auto& [code, n] : o.by_status) by_status[code] += n;
  for (std::size_t i = 0; i < failures.size(); ++i) failures[i] += o.failures[i];
  latency_us.Merge(o.latency_us);
}

void SecondStats::Merge(const SecondStats& o) {
  for (std::size_t i = 0; i < kEndpointCount; ++i) requests[i] += o.requests[i];
  arrivals += o.arrivals;
  admissions += o.admissions;
  errors += o.errors;
  for (std::size_t i = 0; i < outcomes.size(); ++i) outcomes[i] += o.outcomes[i];
  latency_us.Merge(o.latency_us);
}

void CrowdStats::Merge(const CrowdStats& o) {
  for (std::size_t i = 0; i < kEndpointCount; ++i) endpoints[i].Merge(o.endpoints[i]);
  for (const auto& [k, n] : o.answers) answers[k] += n;
  arrived += o.arrived;
  native_people += o.native_people;
  tracer_people += o.tracer_people;
  admitted += o.admitted;
  admitted_at_join += o.admitted_at_join;
  fail_open += o.fail_open;
  abandoned += o.abandoned;
  gave_back += o.gave_back;
  left += o.left;
  went_idle += o.went_idle;
  sessions_lost += o.sessions_lost;
  expired += o.expired;
  rejoins += o.rejoins;
  reloads += o.reloads;
  reloads_lost_place += o.reloads_lost_place;
  refused += o.refused;
  errors += o.errors;
  fifo_violations += o.fifo_violations;
  fifo_stale += o.fifo_stale;
  position_increases += o.position_increases;
  polls_checked += o.polls_checked;
  eta_rel_error_permille.Merge(o.eta_rel_error_permille);
  eta_scored += o.eta_scored;
  eta_over += o.eta_over;
  eta_range_polls += o.eta_range_polls;
  eta_range_hits += o.eta_range_hits;
  wait_ms.Merge(o.wait_ms);
  pool_wait_us.Merge(o.pool_wait_us);
  connections_opened += o.connections_opened;
  if (o.seconds.size() > seconds.size()) seconds.resize(o.seconds.size());
  for (std::size_t i = 0; i < o.seconds.size(); ++i) seconds[i].Merge(o.seconds[i]);
}

}  // namespace vwr::loadgen
