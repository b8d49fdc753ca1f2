#pragma once

// The probes of each signal kind; MakeProbe (signal_spec.hpp) picks one. Each is built with
// its credentials already read, and keeps what it learns between runs (a database connection,
// the previous scrape of a counter).

#include <memory>
#include <string>

#include "control/signal_spec.hpp"

namespace vwr::control {

std::unique_ptr<Probe> MakeHttpProbe(const SignalSpec& spec, const util::Clock& clock,
                                     std::string* error);
std::unique_ptr<Probe> MakePrometheusProbe(const SignalSpec& spec, const util::Clock& clock,
                                           std::string* error);
std::unique_ptr<Probe> MakePostgresProbe(const SignalSpec& spec, const util::Clock& clock,
                                         std::string* error);
std::unique_ptr<Probe> MakeMysqlProbe(const SignalSpec& spec, const util::Clock& clock,
                                      std::string* error);

}  // namespace vwr::control
