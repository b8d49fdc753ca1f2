#pragma once

#include <optional>
#include <string>
#include <vector>

#include "admin/operators.hpp"
#include "config/config.hpp"

namespace vwr::app {

// The operators fixed at start: "admin" (role admin) for the admin token, then the
// configuration's `operators:` with their tokens read from token_file (a file only its owner may
// read or write, as util::OpenPrivateFile checks: its first line, at least 16 visible ASCII
// characters) or token_env. Tokens are hashed at once and never logged. nullopt (logged with
// the operator's name and the reason) when a token cannot be used, or two operators share one:
// vwr does not start.
std::optional<std::vector<admin::OperatorInfo>> FixedOperators(const config::Config& config,
                                                               const std::string& admin_token);

// console: as admin::ConsoleSettings.
admin::ConsoleSettings ConsoleSettingsOf(const config::Config& config);

}  // namespace vwr::app
