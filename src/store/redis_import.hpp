#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "core/room_events.hpp"

namespace vwr::store {

// One room's state as the embedded store holds it, ready to move to the Redis store (`vwr
// migrate`): its snapshot events (core::Room::Snapshot), its incarnation and the policy its
// configuration gives.
struct RoomExport {
  std::string room_id;
  std::uint64_t incarnation = 0;
  core::Policy configured;  // the file's policy (the room hash's policy_base)
  std::vector<core::RoomEvent> snapshot;
};

// What an import holds, for the operator's report.
struct ImportCounts {
  std::uint64_t last_ticket = 0;
  std::uint64_t frontier = 0;
  std::uint64_t waiting = 0;   // places in line (nothing is stored for them but the two numbers)
  std::uint64_t calls = 0;     // called, not yet claimed
  std::uint64_t sessions = 0;  // admitted, from the line or not
  std::uint64_t identities = 0;
  std::uint64_t given_back = 0;  // places given back above the frontier
};

// The Redis commands that write `room` into the Redis store's keys for it under `key_prefix`
// (the layout of src/store/redis/prelude.lua), so that a Redis node serving the room goes on
// where the embedded node stopped: the same incarnation (every ticket and admission token issued
// before stays valid), numbering, frontier, called tickets with their call times, sessions with
// their last activity, identities, bypass sessions, places given back, counters and the policy
// in force. The rate budget and the advance-rate estimate start afresh, as after a restart.
//
// The commands are in order, the room hash last: a node that adopts the room before the import
// is complete finds no incarnation and does not serve a half-written room. Each command touches
// one key and carries at most `batch` members. Pure: no I/O.
std::vector<std::vector<std::string>> PlanRoomImport(const std::string& key_prefix,
                                                     const RoomExport& room,
                                                     ImportCounts* counts = nullptr,
                                                     std::size_t batch = 1000);

// The keys of `room_id` under `key_prefix` (to check they are free, or to delete them first).
std::vector<std::string> RoomKeys(const std::string& key_prefix, const std::string& room_id);

}  // namespace vwr::store
