#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analytics/metrics.hpp"
#include "store/store.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::http {

// Per-room figures counted by the API itself (the store counts its own state changes).
struct RoomTraffic {
  analytics::Counter polls;
  analytics::Counter entry_pass_joins;  // joins admitted at once by an entry pass
  analytics::Counter pow_refused;       // joins refused for their proof of work (any pow_* error)
};

struct RoomEntry {
  store::RoomState* state = nullptr;  // set before the entry is published, never changed
  RoomTraffic traffic;
};

// The rooms the API serves, by id, with their traffic counters: a mirror of the store's rooms.
//
// Lookups take no lock: the directory is an immutable version, replaced by Refresh() when the
// store's rooms change (a configuration reload). An entry is never freed, so a room that leaves
// and comes back keeps its counters, and a pointer a request holds stays valid.
class RoomDirectory {
 public:
  explicit RoomDirectory(store::Store& store);
  // A room served now, or nullptr. Thread-safe.
  RoomEntry* Find(std::string_view id);
  store::Store& store() { return store_; }
  // The rooms served now, in configuration order. Thread-safe.
  const std::vector<RoomEntry*>& entries() const { return current_.Get().entries; }
  // Follows the store's rooms after store::Store::Reconfigure. Call from one thread at a time.
  void Refresh();

 private:
  using EntryMap = std::unordered_map<std::string, RoomEntry*, util::StringHash, std::equal_to<>>;
  struct Version {
    std::vector<RoomEntry*> entries;
    EntryMap by_id;
  };

  store::Store& store_;
  std::mutex mu_;                                // guards kept_ and kept_by_id_
  std::deque<std::unique_ptr<RoomEntry>> kept_;  // every entry ever made
  EntryMap kept_by_id_;
  util::Published<Version> current_;
};

}  // namespace vwr::http
