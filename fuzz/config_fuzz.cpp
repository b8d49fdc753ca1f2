// config::ParseConfig on arbitrary text. Nothing in config throws: bad YAML and bad values come
// back as ConfigErrors. ParseConfig ends in a catch-all that turns any other exception into a
// "cannot read the configuration" error so that start-up never dies on one, so such an error
// (and "internal error") here means a bug that the catch-all hid: the target treats it as a
// crash. So is an exception that escapes, a result that has both or neither of a config and
// errors, and a loaded config without rooms.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "config_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const vwr::config::ParseResult result = vwr::config::ParseConfig(text);
  if (result.ok() == !result.errors.empty()) Fail("config and errors both or neither", text);
  if (result.ok() && result.config->rooms.empty()) Fail("config without rooms", text);
  for (const vwr::config::ConfigError& error : result.errors) {
    const std::string line = error.ToString();
    if (error.message.starts_with("cannot read the configuration") ||
        error.message.starts_with("internal error")) {
      Fail("an exception or internal error reached the catch-all", line);
    }
  }
  return 0;
}
