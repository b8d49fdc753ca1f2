#pragma once

#include <vector>

#include "core/room_events.hpp"

namespace vwr::core::test_support {

// A room's event sink that keeps every event, in order, for a test to read or replay.
class Recorder final : public RoomEventSink {
 public:
  void OnEvent(const RoomEvent& event) override { events.push_back(event); }
  std::vector<RoomEvent> events;
};

}  // namespace vwr::core::test_support
