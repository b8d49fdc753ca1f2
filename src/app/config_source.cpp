#include "app/config_source.hpp"

namespace vwr::app {

LoadedConfig LoadConfig(const ConfigSource& source) {
  LoadedConfig loaded;
  config::Config config = config::DefaultConfig();
  if (!source.file.empty()) {
    config::ParseResult result = config::LoadConfigFile(source.file);
    if (!result.ok()) {
      for (const config::ConfigError& error : result.errors) {
        loaded.errors.push_back(source.file + ": " + error.ToString());
      }
      return loaded;
    }
    config = std::move(*result.config);
  }
  // The demo pages come with the built-in configuration, for a first look; a real deployment
  // (a file) shows them only when it says demo: true.
  if (!config.demo) config.demo = source.file.empty();
  const Overrides& o = source.overrides;
  auto address = [&](const std::string& text, config::HostPort& target, const char* flag) {
    if (text.empty()) return;
    if (const auto parsed = config::ParseHostPort(text)) {
      target = *parsed;
    } else {
      loaded.errors.push_back(std::string(flag) + ": expected HOST:PORT, got \"" + text + "\"");
    }
  };
  address(o.listen, config.server.listen, "--listen");
  address(o.admin_listen, config.server.admin_listen, "--admin-listen");
  if (!loaded.errors.empty()) return loaded;
  if (!o.data_dir.empty()) config.store.data_dir = o.data_dir;
  if (o.workers >= 0) config.server.workers = o.workers;
  if (!o.log_format.empty()) config.log.format = o.log_format;
  if (!o.log_level.empty()) config.log.level = o.log_level;
  loaded.config = std::move(config);
  return loaded;
}

}  // namespace vwr::app
