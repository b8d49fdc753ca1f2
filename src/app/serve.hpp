#pragma once

#include "app/config_source.hpp"
#include "config/config.hpp"

namespace vwr::app {

// Runs the node until SIGINT or SIGTERM: opens the state, binds the listeners, ticks the rooms,
// then drains. `config` is what `source` gave at start; SIGHUP reads `source` again and applies
// its rooms, policies and log level (see app/reload.hpp). Returns the process exit code.
int Serve(const ConfigSource& source, const config::Config& config);

}  // namespace vwr::app
