#pragma once

#include <string>

namespace vwr::app {

// Sends logs to stderr, one line per event; `format` is "text" or "json" (one JSON object per
// line, with the message escaped). Returns false for an unknown level or format.
bool SetUpLogging(const std::string& level, const std::string& format);

// Changes the level of the logger SetUpLogging made (a reload). False for an unknown level.
bool SetLogLevel(const std::string& level);

}  // namespace vwr::app
