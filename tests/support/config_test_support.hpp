#pragma once

// Helpers shared by the config tests: reading a ParseResult the way a failing test should
// report it.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace vwr::config::testing {

// Every error of `result`, one per line, for failure messages.
inline std::string Describe(const ParseResult& result) {
  std::string out;
  for (const ConfigError& error : result.errors) out += "\n  " + error.ToString();
  return out.empty() ? " (no errors)" : out;
}

// Parses text that must be valid; fails the test otherwise.
inline Config ParseOk(std::string_view yaml) {
  ParseResult result = ParseConfig(yaml);
  EXPECT_TRUE(result.ok()) << Describe(result);
  EXPECT_TRUE(result.errors.empty());
  return result.config.value_or(Config{});
}

// The one error reported for `key`; fails the test when there is none or several.
inline ConfigError ErrorFor(const ParseResult& result, std::string_view key) {
  const ConfigError* found = nullptr;
  int count = 0;
  for (const ConfigError& error : result.errors) {
    if (error.key == key) {
      found = &error;
      ++count;
    }
  }
  EXPECT_EQ(count, 1) << "errors for " << key << ":" << Describe(result);
  return found != nullptr ? *found : ConfigError{};
}

}  // namespace vwr::config::testing
