#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"

// The `operators:` and `console:` sections (load.cpp calls these where it reads the sections).
namespace vwr::config {

// Records one problem: where, the dotted key, the message.
using SectionError =
    std::function<void(const YAML::Mark& mark, std::string key, std::string message)>;

// `operators:` (at `mark`, key `path`): a list of {name, role, token_file | token_env}.
void ReadOperatorsSection(const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
                          const SectionError& error, std::vector<OperatorConfig>& out);

// `console:`: session_timeout, cookie_secure, signin_attempts, signin_window.
void ReadConsoleSection(const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
                        const SectionError& error, ConsoleConfig& out);

}  // namespace vwr::config
