#include "redis/client.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "redis/connection.hpp"
#include "redis/slot.hpp"
#include "util/clock.hpp"
#include "util/random.hpp"

namespace vwr::redis {
namespace detail {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// A MOVED storm (a resharding) asks for one refresh, not one per command.
constexpr milliseconds kMinRefreshInterval{100};
// While some slot has no live master (a failover in progress) the map is polled this often.
constexpr milliseconds kDegradedRefreshInterval{250};
// A command is redirected at most this often before it fails with kClusterDown: more means the
// cluster is reconfiguring faster than we can follow.
constexpr int kMaxRedirects = 5;

// "MOVED 3999 127.0.0.1:6381" and "ASK 3999 127.0.0.1:6381" -> slot and endpoint. An empty host
// (Redis 7 with an unknown preferred endpoint) means the node that sent the error.
std::optional<std::pair<std::uint16_t, Endpoint>> ParseRedirect(std::string_view text,
                                                                const Endpoint& sender) {
  const std::size_t space1 = text.find(' ');
  if (space1 == std::string_view::npos) return std::nullopt;
  const std::size_t space2 = text.find(' ', space1 + 1);
  if (space2 == std::string_view::npos) return std::nullopt;
  const std::string_view slot_text = text.substr(space1 + 1, space2 - space1 - 1);
  const std::string_view address = text.substr(space2 + 1);
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  unsigned slot = 0, port = 0;
  const std::string_view port_text = address.substr(colon + 1);
  if (std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot).ec !=
          std::errc() ||
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port).ec !=
          std::errc() ||
      slot >= kClusterSlots || port == 0 || port > 65535) {
    return std::nullopt;
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = sender.host;
  return std::pair{static_cast<std::uint16_t>(slot),
                   Endpoint{std::move(host), static_cast<std::uint16_t>(port)}};
}

// Commands that would change the state of a connection that many callers share, or that
// hiredis's in-order reply matching cannot follow: pub/sub and MONITOR (replies without
// commands), MULTI/EXEC across calls (other callers' commands would land inside the
// transaction), SELECT/AUTH/HELLO/RESET (the next caller would find another database, user or
// protocol; hiredis 0.14 cannot parse RESP3), QUIT. Scripts give atomicity instead.
bool ChangesConnectionState(std::string_view command) {
  static constexpr std::string_view kRefused[] = {
      "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
      "MONITOR",   "MULTI",      "EXEC",       "DISCARD",     "WATCH",        "UNWATCH",
      "SELECT",    "AUTH",       "HELLO",      "RESET",       "QUIT"};
  for (std::string_view refused : kRefused) {
    if (command.size() == refused.size() &&
        std::equal(command.begin(), command.end(), refused.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
  }
  return false;
}

bool StartsWithWord(std::string_view text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ');
}

}  // namespace

// A command from Command or Eval until its callback runs.
struct Pending {
  std::vector<std::string> args;
  std::optional<std::uint16_t> slot;  // cluster routing; none: any master
  Client::Callback done;
  TimePoint deadline;
  std::optional<Script> script;  // Eval: the source for the NOSCRIPT fallback
  std::optional<Endpoint> ask;   // send once to this node, after ASKING
  int redirects = 0;
  int retries = 0;  // parked and retried (TRYAGAIN, CLUSTERDOWN, node not up)
  ClientError give_up = ClientError::kTimeout;  // what it fails with at its deadline
};

// Everything behind Client, on the redis thread. Shared so that handlers posted to the
// io_context can find out (through a weak_ptr) that the client is gone.
class ClientCore final : public Connection::Listener,
                         public std::enable_shared_from_this<ClientCore> {
 public:
  ClientCore(asio::io_context& ioc, ClientOptions options, const util::Clock& clock)
      : ioc_(ioc),
        clock_(clock),
        options_(std::move(options)),
        log_(clock, 5),
        periodic_timer_(ioc),
        refresh_timer_(ioc) {}

  ~ClientCore() { StopNow(); }

  // --- any thread ---------------------------------------------------------------------------

  void Start() {
    asio::dispatch(ioc_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->StartNow();
    });
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    asio::post(ioc_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->StopNow();
    });
  }

  void Submit(std::unique_ptr<Pending> pending, std::optional<ClientError> fail) {
    counters_.commands.fetch_add(1, std::memory_order_relaxed);
    pending->deadline = clock_.Now() + options_.command_timeout;
    asio::dispatch(ioc_, [weak = weak_from_this(), pending = std::move(pending), fail]() mutable {
      auto self = weak.lock();
      if (!self) {
        pending->done(make_error_code(ClientError::kStopped));
        return;
      }
      if (fail) {
        self->Finish(std::move(pending), make_error_code(*fail));
      } else {
        self->Route(std::move(pending));
      }
    });
  }

  void WhenConnected(milliseconds within, std::function<void(bool)> done) {
    asio::post(ioc_, [weak = weak_from_this(), within, done = std::move(done)]() mutable {
      auto self = weak.lock();
      if (!self) return done(false);
      self->AwaitConnected(within, std::move(done));
    });
  }

  const ClientOptions& options() const { return options_; }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  Client::Stats stats() const {
    Client::Stats s;
    s.commands = counters_.commands.load(std::memory_order_relaxed);
    s.errors = counters_.errors.load(std::memory_order_relaxed);
    s.timeouts = counters_.timeouts.load(std::memory_order_relaxed);
    s.reconnects = counters_.reconnects.load(std::memory_order_relaxed);
    s.redirections = counters_.redirections.load(std::memory_order_relaxed);
    s.error_replies = counters_.error_replies.load(std::memory_order_relaxed);
    s.max_in_flight = counters_.max_in_flight.load(std::memory_order_relaxed);
    return s;
  }

  // --- redis thread -------------------------------------------------------------------------

  void StopNow() {
    stopped_.store(true);
    if (stopping_) return;
    stopping_ = true;
    periodic_timer_.cancel();
    refresh_timer_.cancel();
    for (auto& [id, parked] : parked_) {
      parked.timer->cancel();
      Finish(std::move(parked.pending), make_error_code(ClientError::kStopped));
    }
    parked_.clear();
    ReleaseConnectWaiters(false);
    std::fill(slot_table_.begin(), slot_table_.end(), nullptr);
    // Moved out first: closing runs callbacks, and nothing may see a half-closed map.
    auto nodes = std::move(nodes_);
    nodes_.clear();
    for (auto& [name, node] : nodes) node->Close(ClientError::kStopped);
    if (single_) single_->Close(ClientError::kStopped);
    single_.reset();
    connected_.store(false);
  }

  // Runs the callbacks that are due. Those that their callbacks cause (a command retried at once
  // on kDisconnected) wait for the next handler, so that a retry loop cannot starve the I/O;
  // ~Client, with no thread running the io_context, runs them all.
  void DrainNow(bool until_empty = false) {
    do {
      auto batch = std::move(completions_);
      completions_.clear();
      for (auto& [done, result] : batch) done(std::move(result));
    } while (until_empty && !completions_.empty());
  }

  // Called from inside hiredis callbacks (through UserOp): only decides, never sends.
  void OnUserReply(std::unique_ptr<Pending> pending, const redisReply& raw,
                   const Endpoint& sender) {
    if (raw.type != REDIS_REPLY_ERROR) {
      Finish(std::move(pending), CopyReply(raw));
      return;
    }
    const std::string_view error(raw.str, raw.len);
    if (pending->script && StartsWithWord(error, "NOSCRIPT") && pending->args[0] == "EVALSHA") {
      // The script cache was flushed (or this is a new node or a restart): send the source.
      pending->args[0] = "EVAL";
      pending->args[1] = pending->script->source();
      PostRoute(std::move(pending));
      return;
    }
    if (options_.cluster) {
      const bool moved = StartsWithWord(error, "MOVED");
      if (moved || StartsWithWord(error, "ASK")) {
        auto target = ParseRedirect(error, sender);
        if (target && ++pending->redirects <= kMaxRedirects) {
          counters_.redirections.fetch_add(1, std::memory_order_relaxed);
          PostRedirect(std::move(pending), moved, target->first, std::move(target->second));
          return;
        }
        if (target) {
          Finish(std::move(pending), make_error_code(ClientError::kClusterDown));
          return;
        }
      } else if (StartsWithWord(error, "TRYAGAIN") || StartsWithWord(error, "CLUSTERDOWN")) {
        // TRYAGAIN: a multi-key command during a slot migration; CLUSTERDOWN: a failover in
        // progress. Both pass by themselves, usually well within a command timeout.
        pending->give_up = StartsWithWord(error, "CLUSTERDOWN") ? ClientError::kClusterDown
                                                                : ClientError::kTimeout;
        asio::post(ioc_, [weak = weak_from_this(), pending = std::move(pending)]() mutable {
          if (auto self = weak.lock()) {
            self->Park(std::move(pending));
          } else {
            pending->done(make_error_code(ClientError::kStopped));
          }
        });
        return;
      }
    }
    Finish(std::move(pending), CopyReply(raw));
  }

  void Finish(std::unique_ptr<Pending> pending, boost::system::result<Reply> result) {
    if (!result) {
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
    } else if (result->is_error()) {
      counters_.error_replies.fetch_add(1, std::memory_order_relaxed);
    }
    completions_.emplace_back(std::move(pending->done), std::move(result));
    // Callbacks run from a handler of their own, never inside hiredis or inside Command: a
    // callback may then issue commands, stop the client or destroy what it likes.
    if (completions_.size() == 1) {
      asio::post(ioc_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->DrainNow();
      });
    }
  }

  void OnSlotsReply(std::optional<Reply> reply, const Endpoint& via) {
    refresh_in_flight_ = false;
    if (stopping_) return;
    if (reply && reply->type == Reply::Type::kArray) {
      ApplySlots(*reply, via);
    } else {
      std::uint64_t suppressed = 0;
      if (log_.Allow(suppressed)) {
        spdlog::warn("redis {}: CLUSTER SLOTS failed: {} (suppressed {} similar)", via.ToString(),
                     reply ? ToString(*reply) : "no reply", suppressed);
      }
      refresh_again_ = true;
    }
    if (refresh_again_) {
      refresh_again_ = false;
      RequestRefresh();
    }
  }

  // Connection::Listener
  void OnConnectionUp(Connection& /*connection*/) override {
    UpdateConnected();
    if (options_.cluster && (refresh_wanted_ || !have_map_)) RequestRefresh();
  }

  void OnConnectionDown(Connection& /*connection*/, bool /*was_ready*/) override {
    UpdateConnected();
    // A lost master may have been failed over: the map says who serves its slots now.
    if (options_.cluster) RequestRefresh();
  }

 private:
  struct Parked {
    std::unique_ptr<Pending> pending;
    std::unique_ptr<asio::steady_timer> timer;
  };
  struct ConnectWaiter {
    std::function<void(bool)> done;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void StartNow() {
    if (stopping_ || started_) return;
    started_ = true;
    if (options_.seeds.empty()) {
      spdlog::error("redis: no endpoint configured; every command fails");
      return;
    }
    if (!options_.cluster) {
      single_ = std::make_shared<Connection>(ioc_, clock_, options_.seeds.front(), options_, true,
                                             *this, counters_, log_);
      single_->Start();
      return;
    }
    EnsureSeedConnections();
    ArmPeriodicRefresh();
  }

  void PostRoute(std::unique_ptr<Pending> pending) {
    asio::post(ioc_, [weak = weak_from_this(), pending = std::move(pending)]() mutable {
      if (auto self = weak.lock()) {
        self->Route(std::move(pending));
      } else {
        pending->done(make_error_code(ClientError::kStopped));
      }
    });
  }

  void PostRedirect(std::unique_ptr<Pending> pending, bool moved, std::uint16_t slot,
                    Endpoint target) {
    asio::post(ioc_, [weak = weak_from_this(), pending = std::move(pending), moved, slot,
                      target = std::move(target)]() mutable {
      auto self = weak.lock();
      if (!self) {
        pending->done(make_error_code(ClientError::kStopped));
        return;
      }
      if (self->stopping_) {
        self->Finish(std::move(pending), make_error_code(ClientError::kStopped));
        return;
      }
      if (moved) {
        // The slot lives elsewhere for good: remember it now, and fetch the whole map, since a
        // resharding or failover rarely moves just one slot.
        self->slot_table_[slot] = self->Node(target).get();
        self->RequestRefresh();
      } else {
        pending->ask = std::move(target);
      }
      self->Route(std::move(pending));
    });
  }

  void Route(std::unique_ptr<Pending> pending) {
    if (stopping_) {
      Finish(std::move(pending), make_error_code(ClientError::kStopped));
      return;
    }
    if (clock_.Now() >= pending->deadline) {
      Finish(std::move(pending), make_error_code(pending->give_up));
      return;
    }
    Connection* connection = nullptr;
    if (!options_.cluster) {
      connection = single_.get();
    } else if (pending->ask) {
      connection = Node(*pending->ask).get();
    } else if (pending->slot) {
      connection = slot_table_[*pending->slot];
    } else {
      connection = AnyReadyNode();
    }
    if (connection == nullptr || !connection->ready()) {
      if (options_.cluster) RequestRefresh();
      // A new command fails fast; one that was already redirected or retried is on its way to a
      // node that is coming up (a MOVED to a new master), so it waits for it within its deadline.
      if (pending->redirects > 0 || pending->retries > 0) {
        if (pending->give_up == ClientError::kTimeout)
          pending->give_up = ClientError::kDisconnected;
        Park(std::move(pending));
      } else {
        Finish(std::move(pending), make_error_code(ClientError::kDisconnected));
      }
      return;
    }
    if (pending->ask) {
      pending->ask.reset();
      // ASKING applies to the next command on this connection only; both go out back to back.
      static const std::vector<std::string> kAsking{"ASKING"};
      (void)connection->Send(kAsking, std::make_unique<IgnoreOp>());
    }
    const TimePoint deadline = pending->deadline;
    Pending* raw = pending.get();
    auto op = std::make_unique<UserOp>(*this, std::move(pending), connection->endpoint());
    op->deadline = deadline;
    if (auto unsent = connection->Send(raw->args, std::move(op))) {
      auto* user_op = static_cast<UserOp*>(unsent.get());
      Finish(user_op->Take(), make_error_code(ClientError::kDisconnected));
    }
  }

  // Retries a little later (TRYAGAIN, CLUSTERDOWN, a redirection target still connecting), and
  // no later than the command's deadline, when it fails with `give_up`.
  void Park(std::unique_ptr<Pending> pending) {
    if (stopping_) {
      Finish(std::move(pending), make_error_code(ClientError::kStopped));
      return;
    }
    const int exponent = std::min(pending->retries, 4);
    ++pending->retries;
    const auto delay = std::chrono::duration_cast<util::Duration>(
        milliseconds(10 << exponent) * (0.5 + 0.5 * util::FastUniform()));
    const TimePoint now = clock_.Now();
    const TimePoint at = std::min(now + delay, pending->deadline);
    const std::uint64_t id = ++next_parked_id_;
    auto timer = std::make_unique<asio::steady_timer>(ioc_, at - now);
    timer->async_wait([weak = weak_from_this(), id](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      auto it = self->parked_.find(id);
      if (it == self->parked_.end()) return;
      auto parked_pending = std::move(it->second.pending);
      self->parked_.erase(it);
      self->Route(std::move(parked_pending));
    });
    parked_.emplace(id, Parked{std::move(pending), std::move(timer)});
  }

  // On the redis thread, from a handler of its own (WhenConnected posts it).
  void AwaitConnected(milliseconds within, std::function<void(bool)> done) {
    if (stopping_ || connected_.load()) return done(connected_.load() && !stopping_);
    const std::uint64_t id = ++next_waiter_id_;
    auto timer = std::make_unique<asio::steady_timer>(ioc_, within);
    timer->async_wait([weak = weak_from_this(), id](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      auto it = self->connect_waiters_.find(id);
      if (it == self->connect_waiters_.end()) return;
      auto waiter_done = std::move(it->second.done);
      self->connect_waiters_.erase(it);
      waiter_done(false);
    });
    connect_waiters_.emplace(id, ConnectWaiter{std::move(done), std::move(timer)});
  }

  void ReleaseConnectWaiters(bool connected) {
    auto waiters = std::move(connect_waiters_);
    connect_waiters_.clear();
    for (auto& [id, waiter] : waiters) {
      waiter.timer->cancel();
      waiter.done(connected);
    }
  }

  // --- cluster topology ---------------------------------------------------------------------

  std::shared_ptr<Connection> Node(const Endpoint& endpoint) {
    const std::string name = endpoint.ToString();
    auto it = nodes_.find(name);
    if (it != nodes_.end()) return it->second;
    auto node = std::make_shared<Connection>(ioc_, clock_, endpoint, options_, false, *this,
                                             counters_, log_);
    nodes_.emplace(name, node);
    node->Start();
    return node;
  }

  Connection* AnyReadyNode() {
    if (nodes_.empty()) return nullptr;
    // Round robin, so that keyless commands and map refreshes spread over the nodes.
    auto it = nodes_.upper_bound(last_any_);
    for (std::size_t i = 0; i < nodes_.size(); ++i, ++it) {
      if (it == nodes_.end()) it = nodes_.begin();
      if (it->second->ready()) {
        last_any_ = it->first;
        return it->second.get();
      }
    }
    return nullptr;
  }

  void EnsureSeedConnections() {
    for (const Endpoint& seed : options_.seeds) (void)Node(seed);
  }

  void ArmPeriodicRefresh() {
    periodic_timer_.expires_after(connected_.load() ? options_.slots_refresh_interval
                                                    : kDegradedRefreshInterval);
    periodic_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || self->stopping_) return;
      self->RequestRefresh();
      self->ArmPeriodicRefresh();
    });
  }

  void RequestRefresh() {
    if (!options_.cluster || stopping_ || !started_) return;
    if (refresh_in_flight_) {
      refresh_again_ = true;
      return;
    }
    const TimePoint now = clock_.Now();
    if (now < last_refresh_ + kMinRefreshInterval) {
      if (!refresh_timer_armed_) {
        refresh_timer_armed_ = true;
        refresh_timer_.expires_after(last_refresh_ + kMinRefreshInterval - now);
        refresh_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
          auto self = weak.lock();
          if (!self || ec) return;
          self->refresh_timer_armed_ = false;
          self->RequestRefresh();
        });
      }
      return;
    }
    Connection* via = AnyReadyNode();
    if (via == nullptr) {
      // Nobody to ask: make sure the seeds are being connected to; the first one up asks.
      refresh_wanted_ = true;
      EnsureSeedConnections();
      return;
    }
    refresh_wanted_ = false;
    last_refresh_ = now;
    static const std::vector<std::string> kClusterSlotsCommand{"CLUSTER", "SLOTS"};
    auto op = std::make_unique<SlotsOp>(*this, via->endpoint());
    op->deadline = now + options_.command_timeout;
    if (via->Send(kClusterSlotsCommand, std::move(op)) == nullptr) refresh_in_flight_ = true;
  }

  // CLUSTER SLOTS: [[start, end, [master ip, port, id, ...], [replica...]...], ...]
  void ApplySlots(const Reply& reply, const Endpoint& via) {
    std::vector<Connection*> table(kClusterSlots, nullptr);
    std::set<std::string> masters;
    for (const Reply& range : reply.elements) {
      if (range.type != Reply::Type::kArray || range.elements.size() < 3) continue;
      const Reply& master = range.elements[2];
      if (range.elements[0].type != Reply::Type::kInteger ||
          range.elements[1].type != Reply::Type::kInteger || master.type != Reply::Type::kArray ||
          master.elements.size() < 2 || master.elements[1].type != Reply::Type::kInteger) {
        continue;
      }
      const long long first = range.elements[0].integer, last = range.elements[1].integer;
      const long long port = master.elements[1].integer;
      if (first < 0 || last >= kClusterSlots || first > last || port <= 0 || port > 65535) {
        continue;
      }
      std::string host = master.elements[0].str;
      // "" or "?" (Redis 7): the node does not know its address; it is the one we asked.
      if (host.empty() || host == "?") host = via.host;
      Endpoint endpoint{std::move(host), static_cast<std::uint16_t>(port)};
      masters.insert(endpoint.ToString());
      Connection* node = Node(endpoint).get();
      std::fill(table.begin() + first, table.begin() + last + 1, node);
    }
    if (masters.empty()) {
      std::uint64_t suppressed = 0;
      if (log_.Allow(suppressed)) {
        spdlog::warn(
            "redis {}: CLUSTER SLOTS lists no slots; keeping the old map (suppressed {} "
            "similar)",
            via.ToString(), suppressed);
      }
      return;
    }
    const bool changed = table != slot_table_;
    slot_table_ = std::move(table);
    have_map_ = true;
    full_coverage_ =
        std::find(slot_table_.begin(), slot_table_.end(), nullptr) == slot_table_.end();
    // Nodes that serve no slot (replicas among the seeds, a demoted master) are let go; their
    // commands in flight fail with kDisconnected.
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (masters.contains(it->first)) {
        ++it;
        continue;
      }
      auto node = it->second;
      it = nodes_.erase(it);
      node->Close(ClientError::kDisconnected);
    }
    if (changed) {
      std::uint64_t suppressed = 0;
      if (log_.Allow(suppressed)) {
        spdlog::info("redis cluster: slot map from {}: {} masters{} (suppressed {} similar)",
                     via.ToString(), masters.size(), full_coverage_ ? "" : ", some slots unserved",
                     suppressed);
      }
    }
    UpdateConnected();
  }

  void UpdateConnected() {
    bool up = false;
    if (!options_.cluster) {
      up = single_ && single_->ready();
    } else if (have_map_ && full_coverage_) {
      up = std::all_of(nodes_.begin(), nodes_.end(),
                       [](const auto& entry) { return entry.second->ready(); });
    }
    const bool was = connected_.exchange(up);
    if (up && !connect_waiters_.empty()) {
      // From a handler of their own: this may run inside a connection's event.
      asio::post(ioc_, [weak = weak_from_this()] {
        auto self = weak.lock();
        if (self && self->connected_.load()) self->ReleaseConnectWaiters(true);
      });
    }
    if (options_.cluster && was && !up) ArmPeriodicRefresh();  // poll faster while degraded
  }

  // --- ops ----------------------------------------------------------------------------------

  class UserOp final : public Op {
   public:
    UserOp(ClientCore& core, std::unique_ptr<Pending> pending, Endpoint node)
        : core_(core), pending_(std::move(pending)), node_(std::move(node)) {}
    void OnReply(const redisReply* reply, ClientError failure) override {
      if (reply == nullptr) {
        core_.Finish(std::move(pending_), make_error_code(failure));
      } else {
        core_.OnUserReply(std::move(pending_), *reply, node_);
      }
    }
    std::unique_ptr<Pending> Take() { return std::move(pending_); }

   private:
    ClientCore& core_;  // alive: ops die with their connection, which the core closes first
    std::unique_ptr<Pending> pending_;
    Endpoint node_;
  };

  class IgnoreOp final : public Op {
   public:
    void OnReply(const redisReply*, ClientError) override {}
  };

  class SlotsOp final : public Op {
   public:
    SlotsOp(ClientCore& core, Endpoint via) : core_(core), via_(std::move(via)) {}
    void OnReply(const redisReply* reply, ClientError) override {
      std::optional<Reply> copy;
      if (reply != nullptr) copy = CopyReply(*reply);
      asio::post(core_.ioc_, [weak = core_.weak_from_this(), copy = std::move(copy),
                              via = std::move(via_)]() mutable {
        if (auto self = weak.lock()) self->OnSlotsReply(std::move(copy), via);
      });
    }

   private:
    ClientCore& core_;
    Endpoint via_;
  };

  asio::io_context& ioc_;
  const util::Clock& clock_;
  const ClientOptions options_;
  util::LogLimiter log_;
  Counters counters_;
  std::atomic<bool> stopped_{false};  // Stop() was called (any thread)
  std::atomic<bool> connected_{false};

  // Redis thread only from here on.
  bool started_ = false;
  bool stopping_ = false;
  std::shared_ptr<Connection> single_;
  std::map<std::string, std::shared_ptr<Connection>> nodes_;  // cluster: by "host:port"
  std::vector<Connection*> slot_table_ = std::vector<Connection*>(kClusterSlots, nullptr);
  bool have_map_ = false, full_coverage_ = false;
  std::string last_any_;
  bool refresh_in_flight_ = false, refresh_again_ = false, refresh_wanted_ = false;
  bool refresh_timer_armed_ = false;
  TimePoint last_refresh_{};
  asio::steady_timer periodic_timer_, refresh_timer_;
  std::unordered_map<std::uint64_t, Parked> parked_;
  std::uint64_t next_parked_id_ = 0;
  std::unordered_map<std::uint64_t, ConnectWaiter> connect_waiters_;  // WhenConnected
  std::uint64_t next_waiter_id_ = 0;
  std::vector<std::pair<Client::Callback, boost::system::result<Reply>>> completions_;
};

}  // namespace detail

Client::Client(boost::asio::io_context& ioc, ClientOptions options, const util::Clock& clock)
    : core_(std::make_shared<detail::ClientCore>(ioc, std::move(options), clock)) {}

Client::~Client() {
  core_->StopNow();
  core_->DrainNow(/*until_empty=*/true);
}

void Client::Start() { core_->Start(); }

void Client::Stop() { core_->Stop(); }

void Client::Command(std::vector<std::string> args, std::string routing_key, Callback done) {
  auto pending = std::make_unique<detail::Pending>();
  std::optional<ClientError> fail;
  if (args.empty() || detail::ChangesConnectionState(args.front())) fail = ClientError::kProtocol;
  pending->args = std::move(args);
  if (core_->options().cluster && !routing_key.empty()) pending->slot = HashSlot(routing_key);
  pending->done = std::move(done);
  core_->Submit(std::move(pending), fail);
}

void Client::Eval(const Script& script, std::vector<std::string> keys,
                  std::vector<std::string> args, Callback done) {
  auto pending = std::make_unique<detail::Pending>();
  std::optional<ClientError> fail;
  if (keys.size() > 1 && !CommonSlot(keys)) fail = ClientError::kProtocol;
  if (core_->options().cluster && !keys.empty()) pending->slot = HashSlot(keys.front());
  pending->args.reserve(3 + keys.size() + args.size());
  pending->args.push_back("EVALSHA");
  pending->args.push_back(script.sha1());
  pending->args.push_back(std::to_string(keys.size()));
  for (auto& key : keys) pending->args.push_back(std::move(key));
  for (auto& arg : args) pending->args.push_back(std::move(arg));
  pending->script = script;
  pending->done = std::move(done);
  core_->Submit(std::move(pending), fail);
}

bool Client::connected() const { return core_->connected(); }

void Client::WhenConnected(std::chrono::milliseconds within, std::function<void(bool)> done) {
  core_->WhenConnected(within, std::move(done));
}

Client::Stats Client::stats() const { return core_->stats(); }

}  // namespace vwr::redis
