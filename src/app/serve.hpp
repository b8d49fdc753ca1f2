#pragma once

#include "config/config.hpp"

namespace vwr::app {

// Runs the node until SIGINT or SIGTERM: opens the state, binds the listeners, ticks the rooms,
// then drains. Returns the process exit code.
int Serve(const config::Config& config);

}  // namespace vwr::app
