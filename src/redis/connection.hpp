#pragma once

// Internal to vwr::redis: the hiredis <-> Asio adapter. Client is the interface to use.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>

#include "redis/options.hpp"
#include "redis/reply.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

struct redisAsyncContext;
struct redisReply;

namespace vwr::redis::detail {

// Deadlines are read from the client's util::Clock; the timers that watch them only wake the
// connection up to look (ArmDeadline waits for the time left, whatever clock that is).
using TimePoint = util::TimePoint;

// The counters behind Client::stats(), shared by a client's connections. Written on the redis
// thread, read anywhere.
struct Counters {
  std::atomic<std::uint64_t> commands{0}, errors{0}, error_replies{0}, timeouts{0}, reconnects{0},
      redirections{0}, max_in_flight{0};
};

// A deep copy of a hiredis reply.
Reply CopyReply(const redisReply& reply);

// One command on the wire, owned by its connection from Send until its reply. OnReply runs inside
// hiredis's reply callback, so it must not call into a Connection (post instead): hiredis is in
// the middle of reading and does not expect its context to change under it.
class Op {
 public:
  virtual ~Op() = default;
  // `reply` is null when the connection went away first; then `failure` says why.
  virtual void OnReply(const redisReply* reply, ClientError failure) = 0;

  TimePoint deadline = TimePoint::max();  // max: no deadline of its own
  bool timed_out = false;
};

// One connection to one Redis node: a redisAsyncContext driven by Asio on the redis thread.
//
// hiredis owns the socket and does the reading, writing and parsing; it tells us through the
// ev hooks when it wants to read or write, and we wait for readiness on a stream_descriptor that
// wraps the same fd and call redisAsyncHandleRead/Write. hiredis closes the fd when it frees the
// context, so the cleanup hook release()s it from Asio first: the fd is closed exactly once.
//
// Many commands are outstanding at once (hiredis writes them back to back and matches replies in
// order); `in_flight_` mirrors hiredis's callback queue so that deadlines can be checked. When the
// oldest command misses its deadline the whole connection is dropped and reconnected:
//   - replies come in order, so every command behind a late one is stuck behind it as well;
//   - a peer that vanished without a RST (a failed-over master, a partition) is only ever noticed
//     through a missed deadline, and reconnecting (with a slot map refresh in a cluster) is the
//     cure;
//   - nothing waits for replies that may never come, so memory stays bounded.
// The late commands fail with kTimeout, the others in flight with kDisconnected. hiredis still
// calls back for each of them once (with no reply) when it frees the context; a late reply on the
// old socket is never read.
//
// After a loss it reconnects by itself with jittered, doubling back-off until Close(). AUTH and
// SELECT go first on every new connection; the connection is ready() only once they succeeded.
//
// Not thread-safe: everything runs on the redis thread. Owned through shared_ptr because Asio
// handlers keep it alive; the owner must Close() it before the listener goes away.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Events for the owner; always posted, never called from inside hiredis.
  class Listener {
   public:
    virtual void OnConnectionUp(Connection& connection) = 0;
    // After a lost connection (was_ready) or a failed attempt to connect.
    virtual void OnConnectionDown(Connection& connection, bool was_ready) = 0;

   protected:
    ~Listener() = default;
  };

  Connection(boost::asio::io_context& ioc, const util::Clock& clock, Endpoint endpoint,
             const ClientOptions& options, bool select_db, Listener& listener, Counters& counters,
             util::LogLimiter& log);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();                    // connects now, then keeps reconnecting until Close()
  void Close(ClientError reason);  // for good; ops in flight fail with `reason`; no more events

  bool ready() const { return state_ == State::kReady; }
  const Endpoint& endpoint() const { return endpoint_; }
  const std::string& name() const { return name_; }
  std::size_t in_flight() const { return in_flight_.size(); }

  // Sends `args` when ready; the reply goes to `op`. Returns `op` back when it was not sent.
  std::unique_ptr<Op> Send(std::span<const std::string> args, std::unique_ptr<Op> op);

 private:
  enum class State { kIdle, kConnecting, kReady, kWaiting, kClosed };
  class HandshakeOp;

  void Connect();
  void OnTcpConnected();
  void OnHandshakeReply(bool ok, const std::string& error);
  void BecomeReady();
  void Drop(std::string why);  // frees the context (never from inside a hiredis callback)
  void OnContextGone();        // from the cleanup hook
  void AfterContextGone(bool was_ready, const std::string& why);
  void ScheduleReconnect();
  void ArmRead();
  void ArmWrite();
  void Track(std::unique_ptr<Op> op);
  void ArmDeadline(TimePoint at);
  void OnDeadline();
  std::unique_ptr<Op> SendRaw(std::span<const std::string> args, std::unique_ptr<Op> op);

  // hiredis hooks (ev.data / ac->data point to the Connection).
  static void AddRead(void* self);
  static void DelRead(void* self);
  static void AddWrite(void* self);
  static void DelWrite(void* self);
  static void Cleanup(void* self);
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnReplyThunk(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& ioc_;
  const util::Clock& clock_;
  const Endpoint endpoint_;
  const std::string name_;
  const ClientOptions& options_;
  const bool select_db_;
  Listener& listener_;
  Counters& counters_;
  util::LogLimiter& log_;

  State state_ = State::kIdle;
  redisAsyncContext* ac_ = nullptr;
  // Bumped whenever a context goes away: handlers from an older context see a mismatch and stop.
  std::uint64_t generation_ = 0;
  boost::asio::posix::stream_descriptor socket_;
  bool want_read_ = false, want_write_ = false;  // what hiredis asked for
  bool reading_ = false, writing_ = false;       // a wait is outstanding
  int handshake_pending_ = 0;
  bool ever_ready_ = false;
  int attempts_ = 0;  // failed connects since the last success: the back-off exponent
  std::string drop_reason_;
  ClientError close_reason_ = ClientError::kDisconnected;

  std::deque<std::unique_ptr<Op>> in_flight_;  // in hiredis's callback order
  std::size_t peak_in_flight_ = 0;
  boost::asio::steady_timer connect_timer_, reconnect_timer_, deadline_timer_;
  bool deadline_armed_ = false;
  TimePoint deadline_at_{};
};

}  // namespace vwr::redis::detail
