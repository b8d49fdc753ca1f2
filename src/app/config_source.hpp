#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace vwr::app {

// The settings given on the command line, which win over the file's. Empty (or -1) = not given.
struct Overrides {
  std::string listen;        // --listen
  std::string admin_listen;  // --admin-listen
  std::string data_dir;      // --data-dir
  int workers = -1;          // --workers
  std::string log_format;    // --log-format
  std::string log_level;     // --log-level
};

// Where the configuration in force comes from: read at start, and again on SIGHUP.
struct ConfigSource {
  std::string file;  // empty: the built-in default
  Overrides overrides;
};

struct LoadedConfig {
  std::optional<config::Config> config;
  std::vector<std::string> errors;  // when no config: one line per problem, ready to print
};

// The file (or the built-in default) with the command line's overrides on top.
LoadedConfig LoadConfig(const ConfigSource& source);

}  // namespace vwr::app
