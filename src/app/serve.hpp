#pragma once

#include "app/config_source.hpp"
#include "config/config.hpp"

namespace vwr::app {

// Runs the node until SIGINT or SIGTERM: assembles it step by step (app::Node: keys, store,
// guard, handlers, listeners), runs its control loop, then drains. `config` is what `source` gave
// at start; SIGHUP reads `source` again and applies its rooms, policies and log level (see
// app/reload.hpp). Returns the process exit code.
int Serve(const ConfigSource& source, const config::Config& config);

}  // namespace vwr::app
