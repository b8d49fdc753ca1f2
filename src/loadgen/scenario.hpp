#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/spec.hpp"

namespace vwr::loadgen {

// A named rehearsal (--scenario): the shape of a real day's arrivals and how its people behave.
// Options given on the command line win over the preset's.
struct Scenario {
  std::string name;
  std::string description;
  std::vector<double> arrivals_per_second;  // at --scale 1
  std::string hold;
  std::string abandon;
  std::string protocol;
  std::string session_end;
};

// incident-2025-01: the worst hour of the January 2025 incident (docs/capacity.md). 3,000,000
// requests in the hour against about 50,000 in a normal busy hour: a flash crowd at the top of
// the hour, peaking within half a minute and decaying over about 20 minutes, on top of the
// normal hour's trickle.
std::optional<Scenario> FindScenario(std::string_view name);
std::vector<std::string> ScenarioNames();

// The incident's arrivals: people per second over the hour at scale 1.
std::vector<double> IncidentArrivals();

}  // namespace vwr::loadgen
