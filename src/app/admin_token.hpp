#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace vwr::app {

// The admin token: from the config, else VWR_ADMIN_TOKEN, else the one stored in
// <data_dir>/admin.token (generated and printed once, the first time; of two nodes starting at
// once on one data_dir, the second keeps the first's). A stored one is used only when nobody
// else could have written or read it (util::OpenPrivateFile). nullopt, logged with the reason,
// when there is none that may be used: vwr does not start.
std::optional<std::string> AdminToken(const config::Config& config);

}  // namespace vwr::app
