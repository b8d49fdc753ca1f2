#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/room.hpp"
#include "store/store.hpp"
#include "util/clock.hpp"

namespace vwr::store {

struct RoomSpec {
  std::string id;
  core::Policy policy;
};

// One room held in this process's memory.
//
// Writes (join, claim, heartbeat, leave, tick, policy) take this room's mutex and then publish
// the figures a waiting poll needs (frontier, last issued ticket, advance rate, policy) as atomics.
// A poll of a waiting ticket reads only those atomics: no lock, no allocation. Only a poll at or
// below the frontier (a claim, or an admitted user checking in) takes the mutex.
class EmbeddedRoom final : public RoomState {
 public:
  EmbeddedRoom(const RoomSpec& spec, std::uint64_t incarnation, const util::Clock& clock);

  const std::string& id() const override { return id_; }
  std::uint64_t incarnation() const override { return incarnation_; }
  const core::Policy& policy() const override;

  TicketAnswer Join(std::string_view identity) override;
  TicketAnswer Status(std::uint64_t ticket, std::uint64_t frontier_at_join) override;
  bool Heartbeat(std::uint64_t session_ticket) override;
  bool Leave(std::uint64_t session_ticket) override;
  void SetPolicy(const core::Policy& policy) override;
  RoomFigures Figures() override;

  core::TickReport Tick();

 private:
  core::Instant Now() const;
  TicketAnswer Answer(const core::TicketOutcome& outcome) const;  // requires mu_
  void Publish();                                                 // requires mu_

  const std::string id_;
  const std::uint64_t incarnation_;
  const util::Clock& clock_;

  std::mutex mu_;
  core::Room room_;  // guarded by mu_

  // Published after every change, read without the lock.
  std::atomic<std::uint64_t> frontier_{0};
  std::atomic<std::uint64_t> last_issued_{0};
  std::atomic<double> advance_rate_{0.0};
  std::atomic<const core::Policy*> policy_{nullptr};
  // Every policy this room has had; a published pointer must outlive its readers, and policy
  // changes are rare operator actions, so old ones are simply kept.
  std::deque<core::Policy> policies_;  // guarded by mu_
};

class EmbeddedStore final : public Store {
 public:
  EmbeddedStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock);

  RoomState* Find(std::string_view room_id) override;
  const std::vector<RoomState*>& Rooms() override { return list_; }
  void Tick() override;
  bool Ready() const override { return true; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::unique_ptr<EmbeddedRoom>> rooms_;
  std::vector<RoomState*> list_;
  std::unordered_map<std::string, EmbeddedRoom*, Hash, std::equal_to<>> by_id_;
};

}  // namespace vwr::store
