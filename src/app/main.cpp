#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "app/config_source.hpp"
#include "app/keys_command.hpp"
#include "app/logging.hpp"
#include "app/migrate_command.hpp"
#include "app/serve.hpp"
#include "app/stats_command.hpp"
#include "config/config.hpp"
#include "loadgen/loadgen.hpp"
#include "server/tls_context.hpp"
#include "util/clock.hpp"

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
  vwr::app::ConfigSource source;
  vwr::app::Overrides& o = source.overrides;
  serve->add_option("--config", source.file, "YAML configuration file (default: built-in)")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", o.listen, "Public listener HOST:PORT (overrides server.listen)");
  serve->add_option("--admin-listen", o.admin_listen,
                    "Admin listener HOST:PORT (overrides server.admin_listen)");
  serve->add_option("--data-dir", o.data_dir, "State directory (overrides store.data_dir)");
  serve->add_option("--workers", o.workers, "Worker threads, 0 = one per core")
      ->check(CLI::Range(0, 1024));
  serve->add_option("--log-format", o.log_format, "text or json (overrides log.format)")
      ->check(CLI::IsMember({"text", "json"}));
  serve
      ->add_option("--log-level", o.log_level,
                   "trace, debug, info, warn, error or off (overrides log.level)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  auto* config_cmd = app.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand("check", "Validate a configuration file");
  std::string check_file;
  check->add_option("FILE", check_file, "The file to check")->required();

  auto* keys = app.add_subcommand("keys", "Admission token signing keys (tokens.key_dir)");
  keys->require_subcommand(1);
  vwr::app::ConfigSource keys_source;
  auto* keys_list = keys->add_subcommand("list", "List the signing keys and their state");
  auto* keys_rotate = keys->add_subcommand(
      "rotate",
      "Make a new signing key now; the old one keeps verifying until its tokens have expired");
  for (CLI::App* command : {keys_list, keys_rotate}) {
    command->add_option("--config", keys_source.file, "YAML configuration file (as vwr serve)")
        ->check(CLI::ExistingFile);
    command->add_option("--data-dir", keys_source.overrides.data_dir,
                        "State directory (overrides store.data_dir)");
  }

  auto* migrate = app.add_subcommand(
      "migrate",
      "Move an embedded node's rooms (tickets, sessions, identities) and token keys into Redis");
  vwr::app::ConfigSource migrate_source;
  vwr::app::MigrateOptions migrate_options;
  migrate->add_option("--to", migrate_options.to, "redis://[[user]:password@]host[:port][/db]")
      ->required();
  migrate->add_option("--config", migrate_source.file, "YAML configuration file (as vwr serve)")
      ->check(CLI::ExistingFile);
  migrate->add_option("--data-dir", migrate_source.overrides.data_dir,
                      "State directory (overrides store.data_dir)");
  migrate->add_option("--key-prefix", migrate_options.key_prefix,
                      "store.redis.key_prefix of the nodes that will serve (default vwr)");
  migrate->add_flag("--cluster", migrate_options.cluster, "--to names a Redis Cluster node");
  migrate->add_flag("--force", migrate_options.replace,
                    "Write over rooms that already exist in Redis");

  vwr::app::StatsOptions stats_options;
  auto* stats = vwr::app::AddStatsCommand(app, stats_options);

  vwr::loadgen::Command loadgen_command;
  auto* loadgen = vwr::loadgen::AddCommand(app, loadgen_command);

  CLI11_PARSE(app, argc, argv);

  if (loadgen->parsed()) {
    return vwr::loadgen::Run(loadgen_command, vwr::util::SystemClock::Instance());
  }

  if (stats->parsed()) {
    return vwr::app::RunStats(stats_options, vwr::util::SystemClock::Instance());
  }

  if (migrate->parsed()) {
    vwr::app::SetUpLogging("warn", "text");
    return vwr::app::RunMigrate(migrate_source, migrate_options);
  }

  if (keys_list->parsed())
    return vwr::app::RunKeysCommand(keys_source, vwr::app::KeysCommand::kList);
  if (keys_rotate->parsed())
    return vwr::app::RunKeysCommand(keys_source, vwr::app::KeysCommand::kRotate);

  if (check->parsed()) {
    const auto result = vwr::config::LoadConfigFile(check_file);
    if (!result.ok()) {
      PrintErrors(check_file, result);
      return 1;
    }
    // The certificate and key are read as `vwr serve` would, so that a file that will not do
    // fails here rather than at the start.
    if (const vwr::config::TlsConfig& tls = result.config->server.tls; tls.enabled()) {
      if (auto context = vwr::server::MakeTlsContext(tls.cert_file, tls.key_file); !context) {
        std::fprintf(stderr, "%s: server.tls: %s\n", check_file.c_str(),
                     context.error().message.c_str());
        return 1;
      }
    }
    std::printf("%s: OK (%zu room%s)\n", check_file.c_str(), result.config->rooms.size(),
                result.config->rooms.size() == 1 ? "" : "s");
    return 0;
  }

  // The command line's settings win over the file's, now and on every reload (SIGHUP).
  vwr::app::LoadedConfig loaded = vwr::app::LoadConfig(source);
  if (!loaded.config) {
    for (const std::string& error : loaded.errors) std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const Config& config = *loaded.config;
  if (!vwr::app::SetUpLogging(config.log.level, config.log.format)) {
    std::fprintf(stderr, "invalid log settings\n");
    return 1;
  }
  return vwr::app::Serve(source, config);
}
