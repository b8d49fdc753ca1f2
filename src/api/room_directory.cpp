#include "api/room_directory.hpp"

namespace vwr::api {

RoomDirectory::RoomDirectory(store::Store& store) : store_(store) {
  for (store::RoomState* room : store.Rooms()) {
    auto entry = std::make_unique<RoomEntry>();
    entry->state = room;
    by_id_.emplace(room->id(), entry.get());
    entries_.push_back(std::move(entry));
  }
}

RoomEntry* RoomDirectory::Find(std::string_view id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace vwr::api
