#include "http/room_directory.hpp"

namespace vwr::http {

RoomDirectory::RoomDirectory(store::Store& store) : store_(store) { Refresh(); }

RoomEntry* RoomDirectory::Find(std::string_view id) {
  const Version& version = current_.Get();
  auto it = version.by_id.find(id);
  return it == version.by_id.end() ? nullptr : it->second;
}

void RoomDirectory::Refresh() {
  std::lock_guard lock(mu_);
  Version next;
  for (store::RoomState* room : store_.Rooms()) {
    // An entry is immutable once published (requests read it without a lock); stores keep one
    // object per room id, so a room that comes back finds its entry and its counters again.
    RoomEntry* entry = nullptr;
    if (auto it = kept_by_id_.find(room->id());
        it != kept_by_id_.end() && it->second->state == room) {
      entry = it->second;
    } else {
      kept_.push_back(std::make_unique<RoomEntry>());
      entry = kept_.back().get();
      entry->state = room;
      kept_by_id_.insert_or_assign(room->id(), entry);
    }
    next.entries.push_back(entry);
    next.by_id.emplace(room->id(), entry);
  }
  current_.Publish(std::move(next));
}

}  // namespace vwr::http
