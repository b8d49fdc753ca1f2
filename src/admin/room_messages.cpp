#include "admin/room_messages.hpp"

namespace vwr::admin {

void RoomMessages::SetConfigured(std::map<std::string, std::string, std::less<>> messages) {
  std::lock_guard lock(mu_);
  configured_ = std::move(messages);
}

void RoomMessages::Replace(std::string_view room, std::optional<std::string> text) {
  std::lock_guard lock(mu_);
  if (text) {
    replaced_.insert_or_assign(std::string(room), std::move(*text));
  } else if (auto it = replaced_.find(room); it != replaced_.end()) {
    replaced_.erase(it);
  }
}

RoomMessages::Message RoomMessages::Get(std::string_view room) const {
  std::lock_guard lock(mu_);
  if (auto it = replaced_.find(room); it != replaced_.end()) return Message{it->second, true};
  if (auto it = configured_.find(room); it != configured_.end()) return Message{it->second, false};
  return Message{};
}

}  // namespace vwr::admin
