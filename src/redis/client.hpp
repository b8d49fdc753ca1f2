#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/options.hpp"
#include "redis/reply.hpp"
#include "redis/script.hpp"
#include "util/clock.hpp"

namespace vwr::redis {

namespace detail {
class ClientCore;
}

// An asynchronous Redis client for one Redis or a Redis Cluster, over hiredis.
//
// Threads: all I/O runs on `ioc`, which the caller runs on one thread of its own (the "redis
// thread"). Command, Eval, Start, Stop, connected and stats may be called from any thread;
// callbacks run on the redis thread only, never inside the call that issued them.
//
// Failures are fast: a command for a node with no live connection fails at once with
// kDisconnected instead of waiting in a queue, so the caller decides (fail open, retry, 503).
// Every callback runs exactly once, provided the redis thread keeps running the io_context until
// Stop() has taken effect (it then runs out of work from this client) or the Client is destroyed.
//
// Time: command deadlines and the cluster map's refresh spacing are read from `clock` (the
// node's util::Clock); Asio timers only wake the client up to look.
//
// Cluster: the slot map comes from CLUSTER SLOTS (refreshed on MOVED, on a lost or failed
// connection, and every slots_refresh_interval; every 250 ms while a slot has no live master),
// with one connection per master. MOVED updates the map and retries on the named node, ASK sends
// ASKING and retries there once, TRYAGAIN and CLUSTERDOWN are retried with back-off until the
// command's deadline. Keys of one command must share a slot: hash-tag them (e.g. "{room}:x").
class Client {
 public:
  Client(boost::asio::io_context& ioc, ClientOptions options, const util::Clock& clock);
  // Destroy on the redis thread, or once no thread runs `ioc` any more: commands still pending
  // fail with kStopped right here.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects (asynchronously) and keeps reconnecting with back-off while started. Once only.
  void Start();
  // Fails pending commands with kStopped and closes every connection. Safe from any thread;
  // idempotent; later commands fail with kStopped.
  void Stop();

  using Callback = std::function<void(boost::system::result<Reply>)>;

  // Sends one command; `done` runs exactly once, on the redis thread, with the reply (an error
  // reply from Redis is a Reply of Type::kError, not a failed result) or a ClientError.
  // `routing_key` selects the cluster node by hash slot (any master when empty); ignored for a
  // single Redis. Commands that would change a shared connection's state or break the in-order
  // matching of replies (pub/sub, MONITOR, MULTI/EXEC/WATCH, SELECT, AUTH, HELLO, RESET, QUIT)
  // fail with kProtocol: connections are shared by every caller.
  void Command(std::vector<std::string> args, std::string routing_key, Callback done);

  // EVALSHA, and on NOSCRIPT, EVAL with the source (later calls try EVALSHA again). All `keys`
  // must share a hash slot, on a single Redis too (so that code tested against one Redis runs on
  // a cluster); otherwise `done` gets kProtocol.
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            Callback done);

  // Every node of the slot map (or the single Redis) has a live, authenticated connection.
  bool connected() const;
  // Calls `done(true)` as soon as connected() holds (at once if it does), or `done(false)` when
  // it has not within `within` or the client stops first. Runs on the redis thread, from a
  // handler of its own. What a caller that must not serve before Redis answers waits for,
  // instead of polling connected().
  void WhenConnected(std::chrono::milliseconds within, std::function<void(bool)> done);

  struct Stats {
    std::uint64_t commands = 0;       // Command and Eval calls
    std::uint64_t errors = 0;         // of them, finished with a ClientError
    std::uint64_t timeouts = 0;       // commands that missed their deadline on the wire
    std::uint64_t reconnects = 0;     // connections re-established after a loss
    std::uint64_t redirections = 0;   // MOVED and ASK followed
    std::uint64_t error_replies = 0;  // commands answered with an error reply
    std::uint64_t max_in_flight = 0;  // most commands outstanding at once on one connection
  };
  Stats stats() const;

 private:
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace vwr::redis
