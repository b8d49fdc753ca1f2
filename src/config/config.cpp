#include "config/config.hpp"

#include <algorithm>

namespace vwr::config {

std::string ConfigError::ToString() const {
  std::string out;
  if (line > 0) {
    out += "line " + std::to_string(line);
    if (column > 0) out += ", column " + std::to_string(column);
    out += ": ";
  }
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

std::string_view FsyncModeName(FsyncMode mode) {
  switch (mode) {
    case FsyncMode::kAlways:
      return "always";
    case FsyncMode::kInterval:
      return "interval";
    case FsyncMode::kNever:
      return "never";
  }
  return "interval";
}

Config DefaultConfig() {
  Config config;
  RoomConfig room;
  room.id = "default";
  room.name = "default";
  room.match = {RoomMatch{}};
  config.rooms.push_back(std::move(room));
  return config;
}

std::chrono::seconds MaxTokenLifetime(const Config& config) {
  std::chrono::seconds longest{0};
  for (const RoomConfig& room : config.rooms) {
    longest = std::max(longest, room.TokenLifetime());
    // A pass is signed by the same keys and must verify for as long as it is valid.
    if (room.entry_pass) {
      longest =
          std::max(longest, std::chrono::duration_cast<std::chrono::seconds>(*room.entry_pass));
    }
  }
  return longest;
}

std::string KeyDir(const Config& config) {
  if (!config.tokens.key_dir.empty()) return config.tokens.key_dir;
  std::string dir = config.store.data_dir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + "keys";
}

const RoomConfig* FindRoom(const Config& config, std::string_view id) {
  for (const RoomConfig& room : config.rooms) {
    if (room.id == id) return &room;
  }
  return nullptr;
}

}  // namespace vwr::config
