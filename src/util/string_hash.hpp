#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace vwr::util {

// A transparent hash for maps keyed by std::string, so that a lookup by std::string_view (a room
// id cut from a request path) builds no std::string. Use with std::equal_to<>.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace vwr::util
