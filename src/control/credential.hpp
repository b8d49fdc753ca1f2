#pragma once

#include <optional>
#include <string>

namespace vwr::control {

// Where a probe's secret (a database password, a bearer token) comes from: a file that only its
// owner can read (checked like every other secret file, util::OpenPrivateFile), or an
// environment variable. Never written in the configuration itself, and never logged: errors
// name the file or the variable, not the content.
struct Credential {
  std::string file;
  std::string env;

  bool empty() const { return file.empty() && env.empty(); }

  bool operator==(const Credential&) const = default;
};

// The secret, with one trailing newline removed; nullopt with `error` set when it cannot be
// had (missing variable, unreadable or unsafe file, more than 4 KiB). An empty Credential
// gives an empty string.
std::optional<std::string> LoadCredential(const Credential& credential, std::string* error);

}  // namespace vwr::control
