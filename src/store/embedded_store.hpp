#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/room.hpp"
#include "store/journal.hpp"
#include "store/published_figures.hpp"
#include "store/store.hpp"
#include "store/ticket_set.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::store {

// Where and how the embedded store keeps its state. An empty `dir` keeps it in memory only
// (tests, benchmarks).
struct EmbeddedOptions {
  std::string dir;
  FsyncMode fsync = FsyncMode::kInterval;
  std::chrono::milliseconds fsync_interval{10};
  std::chrono::milliseconds snapshot_interval{60'000};
};

// One room held in this process's memory.
//
// Writes (join, claim, heartbeat, leave, tick, policy) take this room's mutex, record the
// room's events in the journal (an append to a buffer; the disk write happens on the journal's
// thread), and then publish the figures a waiting poll needs (frontier, last issued ticket,
// policy, and at each tick the wait model's curve) as atomics. A poll of a waiting ticket reads
// only those atomics: no lock, no allocation, no disk. Only a poll at or below the frontier (a
// claim, or an admitted user checking in) takes the mutex. The room's live sessions are kept, as
// their changes happen, in a TicketSet that SessionEnded() reads without the lock.
class EmbeddedRoom final : public RoomState, private core::RoomEventSink {
 public:
  EmbeddedRoom(const RoomSpec& spec, std::uint64_t incarnation, const util::Clock& clock);

  const std::string& id() const override { return id_; }
  std::uint64_t incarnation() const override { return incarnation_; }
  const core::Policy& policy() const override;
  bool fail_open() const override { return fail_open_.load(std::memory_order_relaxed); }

  // RoomState: each answers once its change is durable.
  bool StatusCached(std::uint64_t ticket, std::uint64_t frontier_at_join,
                    TicketAnswer& answer) override;
  bool PeekWaiting(std::uint64_t ticket, TicketAnswer& answer) const override {
    return AnswerFromPublished(published_, given_back_, ticket, 0, answer);
  }
  void Join(std::string identity, Done<TicketAnswer> done) override;
  void Status(std::uint64_t ticket, std::uint64_t frontier_at_join,
              Done<TicketAnswer> done) override;
  void Heartbeat(std::uint64_t session_ticket, Done<bool> done) override;
  void Leave(std::uint64_t session_ticket, Done<bool> done) override;
  void LeaveAll(Done<std::uint64_t> done) override;
  void Withdraw(std::uint64_t ticket, Done<bool> done) override;
  void LeaveIdentity(std::string identity, Done<bool> done) override;
  void SetPolicy(const core::Policy& policy, Done<void> done) override;
  RoomFigures Figures() override;
  void Admit(std::string identity, Done<TicketAnswer> done) override;
  // True unless `session_ticket` names a live session: ended (leave, idleness), never admitted,
  // or never issued (a number no token of this room can hold). Lock-free.
  bool SessionEnded(std::uint64_t session_ticket) override;
  // In memory, by the monotonic clock; answers at once (nothing is journalled).
  void ConsumeOnce(std::string key, std::chrono::milliseconds keep, Done<bool> done) override;
  bool ConsumeOnce(std::string key, std::chrono::milliseconds keep);
  void Draw(std::uint64_t first, std::vector<std::uint64_t> order, Done<bool> done) override;
  SessionChange Draw(std::uint64_t first, std::vector<std::uint64_t> order);

  // The same, answered at once, with the journal record that makes the change durable
  // (EmbeddedStore::AwaitDurable): for tests, benchmarks and the asynchronous calls above.
  TicketAnswer Join(std::string_view identity);
  TicketAnswer Admit(std::string_view identity);
  TicketAnswer Status(std::uint64_t ticket, std::uint64_t frontier_at_join);
  SessionChange Heartbeat(std::uint64_t session_ticket);
  SessionChange Leave(std::uint64_t session_ticket);
  // How many sessions ended, with the journal record of the last.
  std::pair<std::uint64_t, std::uint64_t> LeaveAll();
  SessionChange Withdraw(std::uint64_t ticket);
  SessionChange LeaveIdentity(std::string_view identity);
  std::uint64_t SetPolicy(const core::Policy& policy);

  core::TickReport Tick();
  // The configuration file's settings for this room (see core::Room::Reconfigure); returns
  // whether the policy in force changed.
  bool Reconfigure(const RoomSpec& spec);

  // Replays one recorded event (before serving starts). What readers are shown is brought up
  // to date once, by EndReplay, not after each of the millions of events a restart may replay.
  void Apply(const core::RoomEvent& event, const core::Instant& now);
  // Publishes the state the replayed events made.
  void EndReplay();
  // From now on, every change is recorded in `journal` (nullptr: none).
  void RecordTo(Journal* journal);
  // Emits the room's whole state as encoded snapshot records.
  void WriteSnapshot(const std::function<void(std::string_view)>& emit);

 private:
  void OnEvent(const core::RoomEvent& event) override;  // requires mu_
  // Brings live_ in step with a session change `event` made (or replayed). Requires mu_.
  void TrackSessions(const core::RoomEvent& event);
  // Hands `value` to `done` once journal record `lsn` is durable.
  template <typename T>
  void Settle(std::uint64_t lsn, T value, Done<T> done);
  core::Instant Now() const;
  TicketAnswer Answer(const core::TicketOutcome& outcome) const;  // requires mu_
  void Publish();                                                 // requires mu_
  // Takes the places given back that the frontier has passed out of given_back_. Requires mu_.
  void ForgetPassedGivenBack();
  std::uint64_t TakeLsn() { return std::exchange(last_lsn_, 0); }  // requires mu_

  const std::string id_;
  const std::uint64_t incarnation_;
  const util::Clock& clock_;
  std::atomic<bool> fail_open_;

  std::mutex mu_;
  core::Room room_;             // guarded by mu_
  Journal* journal_ = nullptr;  // guarded by mu_
  std::string scratch_;         // guarded by mu_: an event being encoded
  std::uint64_t last_lsn_ = 0;  // guarded by mu_: the last record of the current operation
  TicketSet live_;              // written under mu_, read by SessionEnded() without it
  // Places given back above the frontier: a poll of one goes to the room (expired), not to the
  // published figures, which know nothing of single tickets. Written under mu_ (with its
  // ordered copy, to forget those the frontier has passed), read by StatusCached() without it.
  TicketSet given_back_;
  // Their places (core::Room::PlaceOf), in line order.
  std::set<std::uint64_t> given_back_order_;  // guarded by mu_

  // ConsumeOnce's keys and when each may be forgotten (earliest first in once_order_).
  std::mutex once_mu_;
  std::unordered_set<std::string, util::StringHash, std::equal_to<>> once_;  // by once_mu_
  std::priority_queue<std::pair<util::TimePoint, std::string>,
                      std::vector<std::pair<util::TimePoint, std::string>>, std::greater<>>
      once_order_;  // guarded by once_mu_

  // Published after every change (under mu_), read without the lock.
  PublishedFigures published_;
  std::uint64_t published_waits_ = 0;  // guarded by mu_: the wait model's version published
};

// All rooms of this node, in memory, made durable by a journal and snapshots in `dir`.
class EmbeddedStore final : public Store {
 public:
  // Recovers the rooms' state from `options.dir` (when set) and starts recording.
  static boost::system::result<std::unique_ptr<EmbeddedStore>> Open(
      const std::vector<RoomSpec>& rooms, const util::Clock& clock,
      const EmbeddedOptions& options = {});
  // In memory only.
  EmbeddedStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock);
  ~EmbeddedStore() override;

  EmbeddedRoom* Find(std::string_view room_id) override;
  const std::vector<RoomState*>& Rooms() override { return served_.Get().list; }
  ReconfigureReport Reconfigure(const std::vector<RoomSpec>& rooms) override;
  void Tick() override;
  bool Ready() const override { return journal_ == nullptr || journal_->healthy(); }
  // Calls `done(true)` once journal record `durable_lsn` is durable (at once when it already is,
  // or when the store keeps nothing on disk), `done(false)` when it never will be. `done` may
  // run on the journal's thread.
  void AwaitDurable(std::uint64_t durable_lsn, std::function<void(bool ok)> done);
  void Close() override;

  const RecoveryReport& recovery() const { return recovery_; }
  // Writes a snapshot now (the background thread also does, every snapshot_interval).
  boost::system::result<void> Snapshot();

 private:
  EmbeddedStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock,
                std::uint64_t state_id);
  void SnapshotLoop();

  using RoomMap = std::unordered_map<std::string, EmbeddedRoom*, util::StringHash, std::equal_to<>>;
  // The rooms served, as one immutable version.
  struct Served {
    std::vector<RoomState*> list;
    std::vector<EmbeddedRoom*> rooms;  // the same, for the tick
    RoomMap by_id;
  };

  // A room with this id: the one kept, or a new one. Requires rooms_mu_.
  EmbeddedRoom& Keep(const RoomSpec& spec, bool* created);
  // Every room kept, served or not. Requires rooms_mu_.
  std::vector<EmbeddedRoom*> KeptRooms() const;

  const util::Clock& clock_;
  const std::uint64_t state_id_;
  std::mutex rooms_mu_;                              // guards kept_ and kept_by_id_
  std::vector<std::unique_ptr<EmbeddedRoom>> kept_;  // every room, served or not, never freed
  RoomMap kept_by_id_;
  util::Published<Served> served_;

  EmbeddedOptions options_;
  std::unique_ptr<Journal> journal_;
  RecoveryReport recovery_;
  std::mutex snapshot_mu_;  // one snapshot at a time
  std::mutex loop_mu_;
  std::condition_variable loop_wake_;
  bool stopping_ = false;  // guarded by loop_mu_
  std::thread snapshot_thread_;
};

}  // namespace vwr::store
