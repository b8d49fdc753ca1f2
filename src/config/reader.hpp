#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

// The diagnostics reader under ParseConfig (config/load.cpp) and the section readers
// (config/read_*.cpp): it walks the YAML tree by hand rather than with yaml-cpp's as<T>()
// conversions, so that it can keep going after a problem and report each one with its dotted key
// and line:
//
//   for each mapping:  unknown or repeated keys -> error at the key; known keys -> read
//   for each value:    wrong type or impossible value -> error at the key; default kept
//
// Internal to the config library.
namespace vwr::config::detail {

using Keys = std::span<const std::string_view>;

inline constexpr std::array<std::string_view, 2> kBooleans = {"true", "false"};

// 1-based line and column of a mark; 0 when it has none.
int LineOf(const YAML::Mark& mark);
int ColumnOf(const YAML::Mark& mark);

// "path.name", or "name" at the top.
std::string Child(const std::string& path, std::string_view name);
// "path[index]".
std::string Item(const std::string& path, std::size_t index);
// A value quoted back to the operator: shortened, control characters made visible.
std::string Quote(std::string_view text);
// What a node is, for "expected ..., got ...": "nothing", "a list", "a mapping", or its text.
std::string Describe(const YAML::Node& node);
// "a, b, c".
std::string JoinNames(Keys names);

// A value in the document together with what is needed to report a problem with it.
struct Field {
  std::string path;  // dotted key, e.g. "rooms[0].poll.min"
  YAML::Mark mark;   // where problems point: the key, or the list item
  YAML::Node node;
};

// The known keys present in one mapping, in file order.
class Fields {
 public:
  const Field* Find(std::string_view name) const {
    for (const auto& [key, field] : fields_) {
      if (key == name) return &field;
    }
    return nullptr;
  }
  void Add(std::string name, Field field) { fields_.emplace_back(std::move(name), field); }

 private:
  std::vector<std::pair<std::string, Field>> fields_;
};

// Reads typed values out of the tree, recording one error per problem. Each Read* returns
// nullopt after recording the error, so the caller keeps the default and moves on.
class Reader {
 public:
  void Error(const YAML::Mark& mark, std::string key, std::string message);

  // Errors in file order (stable: errors on one spot keep the order they were found in).
  std::vector<ConfigError> TakeErrors();

  // A mapping whose keys must be among `allowed`. An empty value (a section whose keys are all
  // commented out) reads as an empty mapping.
  std::optional<Fields> ReadMap(const Field& field, Keys allowed);

  std::optional<std::string> ReadString(const Field& field);

  // A decimal integer that fits in 64 bits: digits with an optional leading '-'.
  std::optional<std::int64_t> ReadInt(const Field& field);

  // A finite decimal number: "10", "0.5", "-2", "1e3". No hex, no ".5", no inf or nan.
  std::optional<double> ReadNumber(const Field& field);

  std::optional<std::chrono::milliseconds> ReadDuration(const Field& field);

  // A string that must be one of `allowed`.
  std::optional<std::string> ReadChoice(const Field& field, Keys allowed);

  // The file's text (set by the loader), for what the tree does not say: where a block
  // scalar's content begins.
  std::string_view source;

 private:
  std::vector<ConfigError> errors_;
};

// An integer in min..max; nullopt (after recording the error) otherwise. With `zero_means`, 0 is
// allowed too and the message says what it means ("no limit").
std::optional<std::int64_t> ReadIntInRange(Reader& reader, const Field& field, std::int64_t min,
                                           std::int64_t max, std::string_view zero_means = {});

std::optional<std::chrono::milliseconds> ReadDurationInRange(Reader& reader, const Field& field,
                                                             std::chrono::milliseconds min,
                                                             std::chrono::milliseconds max);

}  // namespace vwr::config::detail
