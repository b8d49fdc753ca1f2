// The Redis store's scripts bucket session lengths as core::SessionLengths does: the bounds are
// written twice (C++ and Lua), so a change to one must fail here until the other follows.

#include <gtest/gtest.h>

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "core/room_counters.hpp"
#include "store/redis/scripts.hpp"

namespace vwr::store {
namespace {

TEST(SessionLengthBounds, TheScriptsUseTheCoreBounds) {
  const std::string prelude = redis_scripts::kPrelude;
  const std::regex table(R"(local kSessionLengthBoundsMs = \{([^}]*)\})");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(prelude, match, table)) << "prelude.lua names its bounds";
  std::vector<std::int64_t> lua;
  const std::string list = match[1].str();
  const std::regex number(R"(\d+)");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), number);
       it != std::sregex_iterator(); ++it) {
    lua.push_back(std::stoll(it->str()));
  }
  std::vector<std::int64_t> core_ms;
  for (const std::int64_t s : core::kSessionLengthBoundsSeconds) core_ms.push_back(s * 1000);
  EXPECT_EQ(lua, core_ms);
}

}  // namespace
}  // namespace vwr::store
