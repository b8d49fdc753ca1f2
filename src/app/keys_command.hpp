#pragma once

#include "app/config_source.hpp"

namespace vwr::app {

enum class KeysCommand {
  kList,    // vwr keys list
  kRotate,  // vwr keys rotate
};

// `vwr keys list|rotate`: works on the key directory of the configuration `source` names
// (tokens.key_dir, default <data_dir>/keys), as `vwr serve` with the same flags would. A running
// server notices a rotation within a few seconds (or at once on SIGHUP). Prints to stdout,
// errors to stderr; returns the exit code.
int RunKeysCommand(const ConfigSource& source, KeysCommand command);

}  // namespace vwr::app
