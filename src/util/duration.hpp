#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vwr::util {

// Parses a duration as operators write it (the config file, the admin API): a non-negative decimal
// number followed by one unit, "ms", "s", "m", "h" or "d" ("1500ms", "600s", "5m", "1.5s", "1d"); a
// bare number means seconds ("600", "0.25"). The result must be a whole number of milliseconds.
// Returns nullopt for empty text, a sign, spaces, an unknown unit, a fraction finer than a
// millisecond and anything that does not fit in std::chrono::milliseconds.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The inverse of ParseDuration: the largest unit that states the value exactly, so that
// FormatDuration(600s) == "10m", FormatDuration(90s) == "90s", FormatDuration(1500ms) ==
// "1500ms", and zero is "0s". ParseDuration(FormatDuration(d)) == d for every d >= 0.
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace vwr::util
