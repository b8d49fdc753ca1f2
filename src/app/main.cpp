#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "app/logging.hpp"
#include "app/serve.hpp"
#include "config/config.hpp"

#ifndef VWR_VERSION
#define VWR_VERSION "0.0.0"
#endif

namespace {

using vwr::config::Config;

// Prints every problem, one per line, prefixed with the file name.
void PrintErrors(const std::string& file, const vwr::config::ParseResult& result) {
  for (const auto& error : result.errors) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), error.ToString().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vwr: a virtual waiting room (가상 순번 대기 시스템)", "vwr"};
  app.set_version_flag("--version", std::string("vwr ") + VWR_VERSION);
  app.require_subcommand(1);

  auto* serve = app.add_subcommand("serve", "Run the waiting room server");
  std::string config_file;
  std::string listen;
  std::string admin_listen;
  std::string data_dir;
  int workers = -1;
  std::string log_format;
  std::string log_level;
  serve->add_option("--config", config_file, "YAML configuration file (default: built-in)")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "Public listener HOST:PORT (overrides server.listen)");
  serve->add_option("--admin-listen", admin_listen,
                    "Admin listener HOST:PORT (overrides server.admin_listen)");
  serve->add_option("--data-dir", data_dir, "State directory (overrides store.data_dir)");
  serve->add_option("--workers", workers, "Worker threads, 0 = one per core")
      ->check(CLI::Range(0, 1024));
  serve->add_option("--log-format", log_format, "text or json (overrides log.format)")
      ->check(CLI::IsMember({"text", "json"}));
  serve
      ->add_option("--log-level", log_level,
                   "trace, debug, info, warn, error or off (overrides log.level)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  auto* config_cmd = app.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand("check", "Validate a configuration file");
  std::string check_file;
  check->add_option("FILE", check_file, "The file to check")->required();

  CLI11_PARSE(app, argc, argv);

  if (check->parsed()) {
    const auto result = vwr::config::LoadConfigFile(check_file);
    if (!result.ok()) {
      PrintErrors(check_file, result);
      return 1;
    }
    std::printf("%s: OK (%zu room%s)\n", check_file.c_str(), result.config->rooms.size(),
                result.config->rooms.size() == 1 ? "" : "s");
    return 0;
  }

  Config config = vwr::config::DefaultConfig();
  if (!config_file.empty()) {
    auto result = vwr::config::LoadConfigFile(config_file);
    if (!result.ok()) {
      PrintErrors(config_file, result);
      return 1;
    }
    config = std::move(*result.config);
  }
  auto override_address = [](const std::string& text, vwr::config::HostPort& target,
                             const char* flag) {
    if (text.empty()) return true;
    const auto parsed = vwr::config::ParseHostPort(text);
    if (!parsed) {
      std::fprintf(stderr, "%s: expected HOST:PORT, got \"%s\"\n", flag, text.c_str());
      return false;
    }
    target = *parsed;
    return true;
  };
  if (!override_address(listen, config.server.listen, "--listen") ||
      !override_address(admin_listen, config.server.admin_listen, "--admin-listen")) {
    return 1;
  }
  if (!data_dir.empty()) config.store.data_dir = data_dir;
  if (workers >= 0) config.server.workers = workers;
  if (!log_format.empty()) config.log.format = log_format;
  if (!log_level.empty()) config.log.level = log_level;
  if (!vwr::app::SetUpLogging(config.log.level, config.log.format)) {
    std::fprintf(stderr, "invalid log settings\n");
    return 1;
  }
  return vwr::app::Serve(config);
}
