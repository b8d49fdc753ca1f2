#include "loadgen/scenario.hpp"

#include <cmath>

namespace vwr::loadgen {

std::vector<double> IncidentArrivals() {
  // A normal busy hour: about 20,000 people (5.5 a second), each making a join, a heartbeat or
  // two and a leave: about 50,000 requests. The incident added 280,000 people in a flash crowd:
  // rising to its peak (about 890 a second) over the first 30 s after the hour, then decaying
  // with a 5-minute time constant, so that 98 % of it had arrived 20 minutes in. The legacy
  // client polled every second while its people waited, which is how 300,000 people made
  // 3,000,000 requests in the hour.
  constexpr double kBase = 20000.0 / 3600.0;
  constexpr double kCrowd = 280000.0;
  constexpr double kRise = 30.0;
  constexpr double kDecay = 300.0;
  const double peak = kCrowd / (kRise / 2 + kDecay);
  std::vector<double> rows(3600);
  for (std::size_t s = 0; s < rows.size(); ++s) {
    const double t = static_cast<double>(s) + 0.5;
    const double crowd = t < kRise ? peak * t / kRise : peak * std::exp(-(t - kRise) / kDecay);
    rows[s] = kBase + crowd;
  }
  return rows;
}

std::optional<Scenario> FindScenario(std::string_view name) {
  if (name == "incident-2025-01") {
    Scenario s;
    s.name = std::string(name);
    s.description =
        "the worst hour of the January 2025 incident: 300,000 people (a flash crowd at the top "
        "of the hour decaying over ~20 minutes, on a normal hour's 20,000)";
    s.arrivals_per_second = IncidentArrivals();
    s.hold = "exp:5m";          // a booking takes minutes
    s.abandon = "0.2:2m";       // a fifth of those still waiting after 2 minutes give up
    s.protocol = "mix:0.3";     // a third of the pages still ran the legacy client
    s.session_end = "mix:0.5";  // half leave, half just close the tab
    return s;
  }
  return std::nullopt;
}

std::vector<std::string> ScenarioNames() { return {"incident-2025-01"}; }

}  // namespace vwr::loadgen
