#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace vwr::admin {

// The operator's message line on each room's waiting page: the one configured
// (rooms[].page.message), unless an operator replaced it through the admin API. Replacements are
// kept in memory only: a restart returns to the configured messages (a reload keeps them).
//
// Read when a page is served or refreshes its message, written by hand: a mutex suffices.
// Thread-safe.
class RoomMessages {
 public:
  struct Message {
    std::string text;
    bool replaced = false;  // set through the admin API rather than configured
  };

  static constexpr std::size_t kMaxBytes = 1000;

  // The configured messages, by room id (at start and on every reload).
  void SetConfigured(std::map<std::string, std::string, std::less<>> messages);
  // Replaces a room's message (nullopt: back to the configured one).
  void Replace(std::string_view room, std::optional<std::string> text);
  Message Get(std::string_view room) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> configured_;
  std::map<std::string, std::string, std::less<>> replaced_;
};

}  // namespace vwr::admin
