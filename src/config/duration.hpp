#pragma once

// Durations in the configuration are read and written by the one parser in util/duration.hpp,
// which the admin API shares.
#include "util/duration.hpp"

namespace vwr::config {

using util::FormatDuration;
using util::ParseDuration;

}  // namespace vwr::config
