#include "app/keys_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "config/config.hpp"
#include "token/key_dir.hpp"
#include "util/clock.hpp"

namespace vwr::app {
namespace {

// "2027-01-15 08:00:00Z"
std::string FormatUnix(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%SZ", &tm);
  return text;
}

void PrintKeys(const token::KeySet& keys, std::int64_t lifetime_s) {
  const std::int64_t kept_for = std::max(lifetime_s, keys.token_lifetime_max_s);
  std::printf("%-43s  %-7s  %-20s  %-20s  %s\n", "KID", "STATE", "CREATED", "RETIRED",
              "KEPT UNTIL");
  for (const token::KeyRecord& k : keys.keys) {
    const std::string retired = k.retired_unix ? FormatUnix(*k.retired_unix) : "-";
    const std::string until =
        k.retired_unix ? FormatUnix(token::RetiredKeyNotAfter(*k.retired_unix, kept_for)) : "-";
    std::printf("%-43s  %-7s  %-20s  %-20s  %s\n", k.kid.c_str(),
                k.retired_unix ? "retired" : "active", FormatUnix(k.created_unix).c_str(),
                retired.c_str(), until.c_str());
  }
}

}  // namespace

int RunKeysCommand(const ConfigSource& source, KeysCommand command) {
  const LoadedConfig loaded = LoadConfig(source);
  if (!loaded.config) {
    for (const std::string& error : loaded.errors) std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const config::Config& config = *loaded.config;
  const std::string path = config::KeyDir(config);
  auto dir = token::KeyDirectory::Open(path);
  if (!dir) {
    std::fprintf(stderr, "tokens.key_dir: %s\n", dir.error().c_str());
    return 1;
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               util::SystemClock::Instance().WallNow().time_since_epoch())
                               .count();
  const std::int64_t lifetime = config::MaxTokenLifetime(config).count();

  if (command == KeysCommand::kList) {
    auto keys = dir->Load();
    if (!keys) {
      std::fprintf(stderr, "%s\n", keys.error().c_str());
      return 1;
    }
    std::printf("key directory %s\n", path.c_str());
    PrintKeys(*keys, lifetime);
    return 0;
  }

  auto rotated = dir->Rotate(now, lifetime);
  if (!rotated) {
    std::fprintf(stderr, "cannot rotate the keys in %s: %s\n", path.c_str(),
                 rotated.error().c_str());
    return 1;
  }
  if (rotated->retired) {
    std::printf("rotated: %s is the new signing key; %s is retired and keeps verifying until %s\n",
                rotated->created.value_or("?").c_str(), rotated->retired->c_str(),
                FormatUnix(token::RetiredKeyNotAfter(
                               now, std::max(lifetime, rotated->keys.token_lifetime_max_s)))
                    .c_str());
  } else {
    std::printf("created the first signing key %s\n", rotated->created.value_or("?").c_str());
  }
  for (const std::string& kid : rotated->pruned) {
    std::printf("pruned %s: every token it signed has expired\n", kid.c_str());
  }
  std::printf(
      "running servers using %s switch to it within a few seconds (or at once on "
      "SIGHUP)\n",
      path.c_str());
  return 0;
}

}  // namespace vwr::app
