#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadgen/histogram.hpp"
#include "loadgen/http_client.hpp"

namespace vwr::loadgen {

// The endpoints the crowd calls, named as the server's /metrics names them
// (vwr_http_requests_total{endpoint=...}), so that the two can be compared line by line.
enum class Endpoint : std::uint8_t {
  kJoin,
  kStatus,
  kHeartbeat,
  kLeave,
  kRoom,
  kTracerInput,
  kTracerOutput,
  kTracerCheckBot,
};
inline constexpr std::size_t kEndpointCount = 8;
const char* EndpointName(Endpoint e);

// Requests and answers of one endpoint.
struct EndpointStats {
  std::uint64_t sent = 0;                   // reached a connection (the server may count it)
  std::map<int, std::uint64_t> by_status;   // HTTP status -> answers
  std::array<std::uint64_t, 5> failures{};  // by Failure
  Histogram latency_us;                     // answered requests, from issue to answer
  void Merge(const EndpointStats& o);
};

// One second of the run, for the charts.
struct SecondStats {
  std::array<std::uint32_t, kEndpointCount> requests{};  // answered or failed in that second
  std::uint32_t arrivals = 0;
  std::uint32_t admissions = 0;
  std::uint32_t errors = 0;
  // Answers by outcome: 2xx (and 1xx/3xx), 4xx, 5xx, no answer (connect, timeout, closed, parse).
  std::array<std::uint32_t, 4> outcomes{};
  CoarseHistogram latency_us;
  void Merge(const SecondStats& o);
};

// Everything one worker thread measured; merged into one at the end. Not thread-safe.
struct CrowdStats {
  std::array<EndpointStats, kEndpointCount> endpoints;
  std::map<std::string, std::uint64_t> answers;  // "waiting", "admitted", ... "T", "F", "NE"
  std::uint64_t arrived = 0;                     // people who arrived
  std::uint64_t native_people = 0, tracer_people = 0;
  std::uint64_t admitted = 0;            // sessions seen created (distinct tickets / places)
  std::uint64_t admitted_at_join = 0;    // of which on the first answer, without waiting
  std::uint64_t fail_open = 0;           // TRACER `E`: let in by the client, not by the server
  std::uint64_t abandoned = 0;           // gave up waiting
  std::uint64_t gave_back = 0;           // of which gave their place back (leave / outQueue)
  std::uint64_t left = 0;                // sessions ended by leave / outQueue at the end
  std::uint64_t went_idle = 0;           // sessions left to time out
  std::uint64_t sessions_lost = 0;       // heartbeat answered that the session had ended
  std::uint64_t expired = 0;             // answers "expired": called and not claimed in time
  std::uint64_t rejoins = 0;             // joins again after "expired" or a lost ticket
  std::uint64_t reloads = 0;             // re-joins with the kept ticket
  std::uint64_t reloads_lost_place = 0;  // of which answered with another place
  std::uint64_t refused = 0;             // full, rejected, NE
  std::uint64_t errors = 0;
  // Fairness.
  std::uint64_t fifo_violations = 0;
  std::uint64_t fifo_stale = 0;  // waiting answers within --fifo-slack of a later admission
  std::uint64_t position_increases = 0;
  std::uint64_t polls_checked = 0;  // waiting answers compared for fairness
  // ETA honesty, over the polls of people who were later admitted.
  LogLinearHistogram<7> eta_rel_error_permille;
  std::uint64_t eta_scored = 0;
  std::uint64_t eta_over = 0;  // the estimate was above the real wait
  std::uint64_t eta_range_polls = 0;
  std::uint64_t eta_range_hits = 0;
  // Waits (arrival to admission), milliseconds.
  Histogram wait_ms;
  // The tool itself: time waiting for a connection of the pool, connections opened.
  Histogram pool_wait_us;
  std::uint64_t connections_opened = 0;
  std::vector<SecondStats> seconds;

  SecondStats& Second(std::size_t index) {
    if (index >= seconds.size()) seconds.resize(index + 1);
    return seconds[index];
  }
  void Merge(const CrowdStats& o);
};

// Figures read live by the progress line and shared by the workers (atomics, relaxed).
struct LiveFigures {
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> admitted{0};
  std::atomic<std::uint64_t> arrived{0};
  std::atomic<std::int64_t> waiting{0};
  std::atomic<std::int64_t> active{0};
  std::atomic<std::int64_t> peak_active{0};
  std::atomic<std::int64_t> peak_waiting{0};
  std::atomic<std::int64_t> in_flight{0};

  static void RaisePeak(std::atomic<std::int64_t>& peak, std::int64_t value) {
    std::int64_t seen = peak.load(std::memory_order_relaxed);
    while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
  }
};

}  // namespace vwr::loadgen
