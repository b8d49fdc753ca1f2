// Session lengths in the Redis store: its scripts bucket them as core::SessionLengths does (the
// bounds are written twice, C++ and Lua, so a change to one must fail here until the other
// follows), and a room moved from the embedded store (`vwr migrate`) keeps what it measured.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/room.hpp"
#include "core/room_counters.hpp"
#include "store/redis/scripts.hpp"
#include "store/redis_import.hpp"
#include "store/redis_store.hpp"
#include "support/redis_server.hpp"
#include "util/clock.hpp"

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

class Snapshot final : public core::RoomEventSink {
 public:
  void OnEvent(const core::RoomEvent& e) override { events.push_back(e); }
  std::vector<core::RoomEvent> events;
};

TEST(SessionLengthImport, AMigratedRoomKeepsItsSessionLengths) {
  using std::chrono::seconds;
  core::Policy policy;
  policy.max_active = 10;
  policy.admit_rate = 100;
  policy.burst = 10;
  policy.session_timeout = seconds(60);
  // An embedded room that measured sessions of 5 s, 20 s and 5 min, then exported.
  util::FakeClock clock;
  core::Room room("r", policy, 42, clock.Now());
  const auto now = [&] { return core::Instant::From(clock); };
  const std::uint64_t a = room.Join("", now()).ticket;
  const std::uint64_t b = room.Join("", now()).ticket;
  const std::uint64_t c = room.Join("", now()).ticket;
  clock.Advance(seconds(5));
  ASSERT_TRUE(room.Leave(a, now()));
  clock.Advance(seconds(15));
  ASSERT_TRUE(room.Leave(b, now()));
  for (int i = 0; i < 28; ++i) {
    clock.Advance(seconds(10));
    ASSERT_TRUE(room.Heartbeat(c, now()));
  }
  ASSERT_TRUE(room.Leave(c, now()));
  const core::SessionLengths measured = room.counters().session_lengths;
  ASSERT_EQ(measured.count(), 3u);
  Snapshot snapshot;
  room.Snapshot(snapshot, now());

  redis::testing::RedisServer server;
  ASSERT_TRUE(server.running());
  for (const auto& command :
       PlanRoomImport("vwr", RoomExport{"r", room.incarnation(), policy, snapshot.events})) {
    server.Run(command);
  }
  RedisStoreOptions options;
  options.client = redis::testing::OptionsFor(server);
  options.node_id = "importer-check";
  RedisStore store({{"r", policy}}, util::SystemClock::Instance(), options);
  core::SessionLengths read;
  ASSERT_TRUE(redis::testing::Eventually([&] {
    store.Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    RoomState* r = store.Find("r");
    if (r == nullptr || !store.Ready()) return false;
    read = r->Figures().counters.session_lengths;
    return r->Figures().counters.leaves == 3;
  })) << "the imported room's counters were never read";
  EXPECT_EQ(store.Find("r")->incarnation(), 42u);
  EXPECT_EQ(read, measured);
  store.Close();
}

}  // namespace
}  // namespace vwr::store
