#include "app/config_source.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace vwr::app {
namespace {

std::string WriteConfig(const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("vwr-config-source-" + std::to_string(::getpid()) + ".yaml"))
                               .string();
  std::ofstream(path) << text;
  return path;
}

TEST(LoadConfig, TheBuiltInConfigurationShowsTheDemo) {
  const LoadedConfig loaded = LoadConfig(ConfigSource{});
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0]);
  EXPECT_EQ(loaded.config->demo, std::optional<bool>(true));
}

TEST(LoadConfig, AFileShowsTheDemoOnlyWhenItSaysSo) {
  for (const auto& [text, expected] : {std::pair<std::string, bool>{"rooms:\n  - id: a\n", false},
                                       {"demo: false\n", false},
                                       {"demo: true\nrooms:\n  - id: a\n", true}}) {
    const std::string path = WriteConfig(text);
    const LoadedConfig loaded = LoadConfig(ConfigSource{.file = path, .overrides = {}});
    std::filesystem::remove(path);
    ASSERT_TRUE(loaded.config) << text;
    EXPECT_EQ(loaded.config->demo, std::optional<bool>(expected)) << text;
  }
}

}  // namespace
}  // namespace vwr::app
