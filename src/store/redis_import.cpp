#include "store/redis_import.hpp"

#include <fmt/format.h>

#include <map>
#include <type_traits>
#include <variant>

#include "core/room.hpp"
#include "store/redis_store.hpp"

namespace vwr::store {
namespace {

// A session's member name in the sess / sinfo / tident keys (see prelude.lua).
std::string MemberOf(std::uint64_t number) {
  if (number >= core::kBypassTicketBase) {
    return "b" + std::to_string(number - core::kBypassTicketBase);
  }
  return std::to_string(number);
}

// Appends `command` + pairs, `batch` pairs (or members) per command.
class Batcher {
 public:
  Batcher(std::vector<std::vector<std::string>>& out, std::size_t batch)
      : out_(out), batch_(batch) {}

  void Add(const std::string& verb, const std::string& key, std::string a, std::string b) {
    auto& pending = pending_[{verb, key}];
    pending.push_back(std::move(a));
    pending.push_back(std::move(b));
    if (pending.size() / 2 >= batch_) Flush(verb, key);
  }

  void FlushAll() {
    for (auto& [verb_key, values] : pending_) {
      if (!values.empty()) Emit(verb_key.first, verb_key.second, values);
    }
    pending_.clear();
  }

 private:
  void Flush(const std::string& verb, const std::string& key) {
    auto& values = pending_[{verb, key}];
    Emit(verb, key, values);
    values.clear();
  }
  void Emit(const std::string& verb, const std::string& key, std::vector<std::string>& values) {
    std::vector<std::string> command{verb, key};
    command.insert(command.end(), std::make_move_iterator(values.begin()),
                   std::make_move_iterator(values.end()));
    out_.push_back(std::move(command));
  }

  std::vector<std::vector<std::string>>& out_;
  std::size_t batch_;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> pending_;
};

}  // namespace

std::vector<std::string> RoomKeys(const std::string& key_prefix, const std::string& room_id) {
  std::vector<std::string> keys;
  const std::string base = fmt::format("{}:{{{}}}:", key_prefix, room_id);
  for (const char* part : {"room", "ident", "tident", "calls", "sess", "sinfo", "revoked", "sadm",
                           "lease", "nodes", "due", "aband", "draw", "drawp"}) {
    keys.push_back(base + part);
  }
  return keys;
}

std::vector<std::vector<std::string>> PlanRoomImport(const std::string& key_prefix,
                                                     const RoomExport& room, ImportCounts* counts,
                                                     std::size_t batch) {
  const std::vector<std::string> keys = RoomKeys(key_prefix, room.room_id);
  const std::string& k_room = keys[0];
  const std::string& k_ident = keys[1];
  const std::string& k_tident = keys[2];
  const std::string& k_calls = keys[3];
  const std::string& k_sess = keys[4];
  const std::string& k_sinfo = keys[5];
  const std::string& k_sadm = keys[7];

  std::vector<std::vector<std::string>> out;
  Batcher batcher(out, batch == 0 ? 1 : batch);
  ImportCounts c;
  core::RoomCheckpoint checkpoint;
  core::BypassCheckpoint bypass;
  std::uint64_t withdrawn = 0;
  core::Policy in_force = room.configured;
  for (const core::RoomEvent& event : room.snapshot) {
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, core::RoomCheckpoint>) {
            checkpoint = e;
          } else if constexpr (std::is_same_v<E, core::BypassCheckpoint>) {
            bypass = e;
          } else if constexpr (std::is_same_v<E, core::CallRestored>) {
            // Only unclaimed calls are kept: claimed ones are sessions, expired ones are gone.
            if (e.status == core::CallStatus::kUnclaimed) {
              batcher.Add("ZADD", k_calls, std::to_string(e.called_unix_ms),
                          std::to_string(e.number));
              ++c.calls;
            }
          } else if constexpr (std::is_same_v<E, core::SessionRestored>) {
            const std::string member = MemberOf(e.number);
            batcher.Add("ZADD", k_sess, std::to_string(e.last_seen_unix_ms), member);
            batcher.Add("HSET", k_sinfo, member, std::to_string(e.admitted_unix_ms));
            batcher.Add("ZADD", k_sadm, std::to_string(e.admitted_unix_ms), member);
            if (!e.identity.empty()) {
              batcher.Add("HSET", k_tident, member, e.identity);
              if (e.number >= core::kBypassTicketBase) {
                batcher.Add("HSET", k_ident, "b:" + e.identity, member);
              }
            }
            ++c.sessions;
          } else if constexpr (std::is_same_v<E, core::IdentityRestored>) {
            batcher.Add("HSET", k_ident, e.identity,
                        fmt::format("{}:{}", e.number, e.frontier_at_join));
            batcher.Add("HSET", k_tident, std::to_string(e.number), e.identity);
            ++c.identities;
          } else if constexpr (std::is_same_v<E, core::TicketWithdrawn>) {
            batcher.Add("HSET", k_ident, fmt::format("w:{}", e.number), "1");
            ++c.given_back;
          } else if constexpr (std::is_same_v<E, core::WithdrawnCheckpoint>) {
            withdrawn = e.withdrawn;
          } else if constexpr (std::is_same_v<E, core::PolicyChanged>) {
            in_force = e.policy;  // an operator's change, kept as the embedded room kept it
          }
        },
        event);
  }
  batcher.FlushAll();

  // The room hash last: a node adopts a room by its incarnation (adopt.lua), so until this
  // command the room does not exist for any node.
  const std::string rate = fmt::format("{:.6f}", in_force.admit_rate);
  out.push_back({"HSET",        k_room,
                 "last",        std::to_string(checkpoint.last_issued),
                 "front",       std::to_string(checkpoint.frontier),
                 "joins",       std::to_string(checkpoint.joins),
                 "rejected",    std::to_string(checkpoint.rejected),
                 "full",        std::to_string(checkpoint.full),
                 "admissions",  std::to_string(checkpoint.admissions),
                 "immediate",   std::to_string(checkpoint.immediate),
                 "no_shows",    std::to_string(checkpoint.no_shows),
                 "expired",     std::to_string(checkpoint.expired_sessions),
                 "leaves",      std::to_string(checkpoint.leaves),
                 "bypass_last", std::to_string(bypass.issued),
                 "bypass",      std::to_string(bypass.bypass),
                 "withdrawn",   std::to_string(withdrawn),
                 "departed",    std::to_string(c.given_back),
                 "policy_base", EncodePolicy(room.configured),
                 "policy",      EncodePolicy(in_force),
                 "rate",        rate,
                 "inc",         std::to_string(room.incarnation)});
  // The session lengths measured so far, as prelude.lua's count_length keeps them.
  if (!checkpoint.session_lengths.empty()) {
    std::vector<std::string>& hset = out.back();
    for (std::size_t b = 0; b < core::kSessionLengthBuckets; ++b) {
      hset.push_back(fmt::format("sl{}", b + 1));
      hset.push_back(std::to_string(checkpoint.session_lengths.buckets[b]));
    }
    hset.push_back("sl_ms");
    hset.push_back(std::to_string(checkpoint.session_lengths.sum_ms));
  }
  c.last_ticket = checkpoint.last_issued;
  c.frontier = checkpoint.frontier;
  c.waiting = checkpoint.last_issued - checkpoint.frontier - c.given_back;
  if (counts != nullptr) *counts = c;
  return out;
}

}  // namespace vwr::store
