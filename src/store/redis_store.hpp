#pragma once

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/drawn_order.hpp"
#include "core/wait_model.hpp"
#include "redis/client.hpp"
#include "store/poll_reports.hpp"
#include "store/published_figures.hpp"
#include "store/store.hpp"
#include "store/ticket_set.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::store {

struct RedisStoreOptions {
  redis::ClientOptions client;
  // This node's name in leases; unique per node (the app makes it from host name and pid).
  std::string node_id;
  // A room's tick lease: renewed every tick by its holder; another node takes over when it lapses,
  // so within two lease periods of the holder's death.
  std::chrono::milliseconds lease{2000};
  // The most tickets one tick calls at once (passthrough drains a long line over several ticks).
  int max_call_per_tick = 5000;
  // Keys are "<key_prefix>:{<room>}:<part>".
  std::string key_prefix = "vwr";
  // The most sessions one script of RoomState::LeaveAll ends: Redis serves other commands
  // between batches instead of stopping for a whole room's sessions at once.
  std::uint32_t end_all_batch = 1000;
  // The most waiting tickets one tick marks abandoned (the rest at the next ticks), and the most
  // polls a node reports with one tick (the rest with the next): a flood of joins that never
  // poll, or a flood of polls, makes more ticks, never a longer one.
  std::uint32_t abandon_sweep_batch = 10000;
  std::uint32_t poll_reports_per_tick = 50000;
};

class RedisStore;

// One room whose state lives in Redis, shared by every node.
//
// Every change is one Lua script (src/store/redis/*.lua), atomic in Redis, answered once Redis
// has replied. A poll of a waiting ticket is answered from PublishedFigures, which every tick
// refreshes with the room's figures (and every join with the ticket it issued): no round trip.
// Every node runs the room's wait model on the figures its own tick brings back (the whole
// cluster's counters and occupancy), so every node tells a waiting user the same kind of wait.
// Times are Redis's own (TIME in the scripts), so the nodes' clocks never decide an expiry.
//
// Revocation. Whichever node ends a session (leave, idle expiry at the lease holder's tick)
// records it in the room's `revoked` sorted set (score: when it ended). Every node's tick reads
// what was recorded since its last reading into a local TicketSet, which SessionEnded() answers
// from without I/O or lock: a session ended anywhere reads as ended everywhere within a tick or
// two. Entries are kept for RevokedKeep() (longer than any token naming the session lives), in
// Redis and locally; a node starting (or one that could not reach Redis) reads back that far.
//
// Thread-safety: every method from any thread; completions run on the store's Redis thread.
class RedisRoom final : public RoomState {
 public:
  RedisRoom(RedisStore& store, const RoomSpec& spec);

  const std::string& id() const override { return id_; }
  std::uint64_t incarnation() const override {
    return incarnation_.load(std::memory_order_acquire);
  }
  const core::Policy& policy() const override { return published_.policy(); }
  bool fail_open() const override { return fail_open_.load(std::memory_order_relaxed); }

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
  // True when this node has learned that the session ended (see Revocation above), and for
  // ticket 0 (no session); a number it has heard nothing about (live, or never a session) reads
  // as not ended. Lock-free.
  bool SessionEnded(std::uint64_t session_ticket) override;
  // SET "<prefix>:{<room>}:once:<key>" NX PX keep: refused on every node while it lives.
  void ConsumeOnce(std::string key, std::chrono::milliseconds keep, Done<bool> done) override;
  // The draw is kept in Redis (draw.lua: "<prefix>:{<room>}:draw" and ":drawp") and checked
  // there; this node uses it at once, every other node from its next tick (the room hash's
  // draw version changes: one GET of the order).
  void Draw(std::uint64_t first, std::vector<std::uint64_t> order, Done<bool> done) override;

  // The configuration file's settings (start, reload): adopts the room's shared state.
  void Adopt(const RoomSpec& spec);
  // How long an ended session stays revoked: max(token lifetime, session timeout) + a minute.
  std::chrono::milliseconds RevokedKeep();
  // One tick: runs the tick script (which ticks only on the lease holder) and refreshes the
  // published figures from its answer. On the Redis thread.
  void Tick();
  // The tick script's ARGV: the policy, this node's reading of revoked sessions, the sweep's
  // bound and the polls answered since the last tick. On the Redis thread.
  std::vector<std::string> TickArgs(std::int64_t keep_ms);
  // The policy this node's configuration file gives the room (the last Adopt's).
  core::Policy file_policy();
  // True once the room's incarnation is known (the first Adopt answered).
  bool adopted() const { return incarnation() != 0; }
  // A tick has answered since the room was adopted: the node has read the sessions ended on
  // other nodes (revocation) and the cluster's figures.
  bool ticked() const { return ticked_.load(std::memory_order_acquire); }

 private:
  std::vector<std::string> Keys() const;
  // How long a ticket joining now may stay silent before it is abandoned, from the wait a
  // newcomer is told (with abandonment off: as if abandon_after_polls were 1).
  std::int64_t NewcomerSilenceAllowedMs() const;
  // The policy in force as the scripts' ARGV[1..7], then `extra` (ARGV[8]...).
  std::vector<std::string> Args(std::initializer_list<std::string> extra) const;
  void UsePolicy(const std::string& encoded);  // on the Redis thread
  // A join or status script's answer, with the figures it brings published; nullopt when the
  // call failed or the answer has the wrong shape. On the Redis thread.
  std::optional<TicketAnswer> AnswerOf(const boost::system::result<redis::Reply>& reply,
                                       const char* what);
  std::optional<TicketAnswer> AnswerOf(const redis::Reply& reply, const char* what);
  // Sends the joins waiting (at most kMaxJoinsPerScript) as one join script, whose answer sends
  // the next; when none wait, one fewer script of joins is on its way.
  void SendJoins();
  // The room's shape as a script's answer brings it at `answer[at]`: {last, front, waiting,
  // active, called}. Published at once, so that this node's own changes show in its figures
  // before the next tick. On the Redis thread.
  void NoteShape(const std::vector<redis::Reply>& answer, std::size_t at);
  // Feeds the wait model the figures a tick's answer `e` brings, and publishes its curve. On the
  // Redis thread.
  void NoteWaits(const std::vector<redis::Reply>& e);
  // Holds session `member` (as the scripts name it) as revoked since `ended_ms`. On the Redis
  // thread.
  void NoteRevoked(const std::string& member, std::int64_t ended_ms);
  // Forgets what was revoked before `before_ms` (Redis time). On the Redis thread.
  void ForgetRevoked(std::int64_t before_ms);
  // One batch of LeaveAll, then the next until one comes back short; `ended` so far.
  void LeaveAllFrom(std::uint64_t ended, Done<std::uint64_t> done);

  RedisStore& store_;
  const std::string id_;
  const std::string key_base_;  // "<prefix>:{<room>}:"
  std::atomic<std::uint64_t> incarnation_{0};
  std::atomic<bool> fail_open_;
  PublishedFigures published_;
  std::string policy_text_;                 // as last seen in Redis; on the Redis thread only
  core::Policy file_policy_;                // guarded by figures_mu_
  std::chrono::seconds token_lifetime_{0};  // guarded by figures_mu_
  std::mutex figures_mu_;                   // guards figures_
  RoomFigures figures_;      // cluster-wide: the counters from the last tick, the shape from
                             // the last tick or answer
  bool first_read_ = false;  // guarded by figures_mu_: a tick has read the room back

  // Revocation: written on the Redis thread only; revoked_ is read by any thread.
  TicketSet revoked_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> revoked_order_;  // (ended_ms, ticket)
  std::string revoked_cursor_;  // where this node's reading stands ('' before the first)
  std::atomic<bool> ticked_{false};

  // Polls of waiting tickets answered here, reported with the next tick (abandonment).
  PollReports polls_;

  // Joins (Join): at most kJoinsInFlight scripts of joins are on their way to Redis at once;
  // the joins that come meanwhile wait and go together as the next script. A lone join goes at
  // once; under a flood Redis runs one script per round trip instead of one per join, and
  // still always has the next script queued behind the one it runs.
  static constexpr int kJoinsInFlight = 2;
  static constexpr std::size_t kMaxJoinsPerScript = 256;
  struct WaitingJoin {
    std::string identity;
    Done<TicketAnswer> done;
  };
  std::mutex joins_mu_;
  std::vector<WaitingJoin> joins_waiting_;  // guarded by joins_mu_
  int joins_in_flight_ = 0;                 // guarded by joins_mu_

  // The wait model, fed the room's figures at every tick (the same class as an embedded room's;
  // see core::WaitModel). On the Redis thread only; its curve is published in published_.
  core::WaitModel waits_;

  // Places this node gave back above the frontier: their polls go to Redis (expired), not to
  // the published figures. Written on the Redis thread (with its ordered copy, to forget those
  // the frontier has passed), read by StatusCached() on any thread. A place given back through
  // another node reads as waiting here until the frontier passes it; it is never called.
  TicketSet given_back_;
  std::set<std::uint64_t> given_back_order_;  // on the Redis thread
  // Forgets the places given back that the frontier has passed. On the Redis thread.
  void ForgetPassedGivenBack();

  // The opening draw this node uses (nullptr: none), as of the room hash's draw version
  // `draw_version_`; published_ holds the same for the polls. given_back_order_ holds places:
  // they move with their tickets when the draw changes. On the Redis thread.
  std::shared_ptr<const core::DrawnOrder> drawn_;
  std::uint64_t draw_version_ = 0;
  bool draw_reading_ = false;  // a GET of the draw is under way
  void UseDraw(std::shared_ptr<const core::DrawnOrder> drawn, std::uint64_t version);
  // Reads the draw of version `version` (or a later one) from Redis, then uses it.
  void ReadDraw(std::uint64_t version);
  std::uint64_t PlaceOf(std::uint64_t ticket) const {
    return drawn_ ? drawn_->PlaceOf(ticket) : ticket;
  }
  std::uint64_t TicketAt(std::uint64_t place) const {
    return drawn_ ? drawn_->TicketOf(place) : place;
  }
};

// All rooms, their state in one Redis or a Redis Cluster shared by every node (see
// docs/scale-out.md). Owns a Redis thread that runs the client and every completion.
class RedisStore final : public Store {
 public:
  RedisStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock,
             RedisStoreOptions options);
  ~RedisStore() override;

  RedisRoom* Find(std::string_view room_id) override;
  const std::vector<RoomState*>& Rooms() override { return served_.Get().list; }
  ReconfigureReport Reconfigure(const std::vector<RoomSpec>& rooms) override;
  void Tick() override;
  bool Ready() const override;
  void Close() override;

  redis::Client& client() { return *client_; }
  const RedisStoreOptions& options() const { return options_; }
  // This node's clock: only the wait model uses it (every time that decides is Redis's own).
  const util::Clock& clock() const { return clock_; }

 private:
  using RoomMap = std::unordered_map<std::string, RedisRoom*, util::StringHash, std::equal_to<>>;
  struct Served {
    std::vector<RoomState*> list;
    std::vector<RedisRoom*> rooms;
    RoomMap by_id;
  };

  const util::Clock& clock_;
  RedisStoreOptions options_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::unique_ptr<redis::Client> client_;
  std::thread thread_;
  std::mutex rooms_mu_;                           // guards kept_ and kept_by_id_
  std::vector<std::unique_ptr<RedisRoom>> kept_;  // never freed
  RoomMap kept_by_id_;
  util::Published<Served> served_;
  std::atomic<bool> closed_{false};
};

// The text form of a policy shared through Redis: every field, in a fixed order.
std::string EncodePolicy(const core::Policy& policy);
std::optional<core::Policy> DecodePolicy(std::string_view text);

}  // namespace vwr::store
