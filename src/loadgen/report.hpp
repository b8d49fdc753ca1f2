#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loadgen/answers.hpp"
#include "loadgen/crowd.hpp"
#include "loadgen/stats.hpp"

namespace vwr::loadgen {

// A finished run: what every worker measured, merged, and what the run was.
struct Results {
  const Plan* plan = nullptr;
  CrowdStats stats;
  std::optional<RoomInfo> room;    // GET /api/v1/rooms/{room} before the run
  bool room_request_sent = false;  // that request reached the server (it counts it)
  double elapsed_s = 0;            // from the start to the last answer
  std::int64_t peak_active = 0;
  std::int64_t peak_waiting = 0;
  std::int64_t waiting_at_end = 0;
  std::int64_t active_at_end = 0;
  std::vector<std::int64_t> waiting_series;  // sampled each second
  std::vector<std::int64_t> active_series;
  FailOn fail_on;
  std::vector<std::string> failed_checks;  // what --fail-on found

  std::uint64_t Requests() const;
  std::uint64_t Errors() const;
};

// The machine-readable report (--json): the contract the checks outside rely on.
std::string RenderJson(const Results& r);
// The summary printed at the end.
std::string RenderText(const Results& r);
// One self-contained page (--html): the figures and charts, uPlot inlined, nothing fetched.
std::string RenderHtml(const Results& r);

// Decides `failed_checks` from --fail-on.
void ApplyFailOn(Results& r);

}  // namespace vwr::loadgen
