#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analytics/metrics.hpp"
#include "store/store.hpp"

namespace vwr::api {

// Per-room figures counted by the API itself (the store counts its own state changes).
struct RoomTraffic {
  analytics::Counter polls;
};

struct RoomEntry {
  store::RoomState* state;
  RoomTraffic traffic;
};

// The rooms the API serves, by id, with their traffic counters. Built once at start and never
// changed, so lookups take no lock.
class RoomDirectory {
 public:
  explicit RoomDirectory(store::Store& store);
  RoomEntry* Find(std::string_view id);
  store::Store& store() { return store_; }
  const std::vector<std::unique_ptr<RoomEntry>>& entries() const { return entries_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  store::Store& store_;
  std::vector<std::unique_ptr<RoomEntry>> entries_;
  std::unordered_map<std::string, RoomEntry*, Hash, std::equal_to<>> by_id_;
};

}  // namespace vwr::api
