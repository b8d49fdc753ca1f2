#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "http/api_metrics.hpp"
#include "http/http.hpp"
#include "server/serialize.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace vwr::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct ListenerOptions {
  std::string name;  // for logs and metrics: "public", "admin"
  tcp::endpoint endpoint;
  http::Handler* handler = nullptr;
  // Where an exception that reaches a connection's catch-all is counted
  // (vwr_http_handler_exceptions_total{listener=name}); null: logged only.
  http::ApiMetrics* metrics = nullptr;
  std::size_t header_limit_bytes = 8 * 1024;  // request line and header fields: else 431
  std::size_t body_limit_bytes = 64 * 1024;   // else 413

  // The life of a connection, each step with its own deadline (a missed one closes it):
  //   accepted          -> the first request's head complete       within header_timeout
  //   answer sent       -> the next request's first byte           within keepalive_timeout
  //   first byte in     -> that request's head complete            within header_timeout
  //   head in           -> its body complete                       within body_timeout
  //   answer ready      -> answer written                          within body_timeout
  // so a slow-loris client is cut off after header_timeout however it paces its bytes, while an
  // idle keep-alive connection may wait for its user's next poll.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{10'000};
  std::chrono::milliseconds keepalive_timeout{60'000};

  // Connections open at once on this listener, in total and per client address (the socket
  // peer). A connection beyond either is answered 503 and closed at once. 0 = no limit.
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_ip = 256;
  // The answer to this many-th request on a connection carries "Connection: close". 0 = no limit.
  std::size_t max_requests_per_connection = 10'000;

  // Answers that go on (http::StreamOpener: Server-Sent Events) open at once on this listener;
  // one more is refused (its handler answers 503). A stream holds its connection until the
  // client leaves or the server drains; it ends at once on a failed write, or a write the
  // client does not take within body_timeout. 0 = none.
  std::size_t max_streams = 32;

  // Set: the listener speaks HTTPS only (see MakeTlsContext), and a connection's TLS handshake
  // comes out of its first request's header_timeout. Null: plain HTTP.
  std::shared_ptr<asio::ssl::context> tls;
};

// What a listener has counted since it started. Read from any thread.
struct ListenerStats {
  std::string name;
  std::size_t open_connections = 0;
  std::uint64_t refused_connections = 0;     // over max_connections or max_connections_per_ip
  std::uint64_t accept_failures = 0;         // accept() errors, such as running out of descriptors
  std::uint64_t tls_handshake_failures = 0;  // handshakes that failed or ran out of time
};

// A connection as its worker sees it (the sessions themselves are in http_server.cpp).
class HttpSession;

// One worker thread with its own io_context. Every connection it owns is served on this thread
// only, so per-connection state needs no locks.
struct Worker {
  std::unordered_set<HttpSession*> sessions;  // touched only on this worker's thread
  // Set by Stop() on every worker before any connection is closed for the drain, so that once
  // a client sees one connection closed, every answer from every worker says Connection: close.
  std::atomic<bool> draining{false};
  std::thread thread;
  // Last, so it is destroyed first: handlers it still holds end sessions that unregister above.
  asio::io_context ioc{1};
  // Keeps run() going while the worker has no connection yet; released by Stop().
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> keep_running{
      ioc.get_executor()};
};

// The HTTP/1.1 server: N workers, listeners whose accepted connections are handed out to the
// workers in turn, keep-alive, one request at a time per connection (pipelined requests are
// answered in order, from the read buffer), a fresh parser per request with header and body
// limits, and a deadline on every step (see ListenerOptions). A listener speaks either plain HTTP
// or, with ListenerOptions::tls, HTTPS only.
//
// Connection limits are checked by the accepting thread (each listener's acceptor runs on the
// first worker) against counts shared by all workers; a connection gives its place back when it
// ends. Refused connections and failed accepts are counted and logged, a few lines a second at
// most. After a failed accept (out of descriptors, say) the listener waits 50 ms before the next
// one rather than spinning.
//
// Shutdown: Stop() closes the listeners, lets every in-flight request finish with
// "Connection: close", closes idle connections, and forces the rest closed at the deadline.
class HttpServer {
 public:
  // `clock` paces the log lines about misbehaving clients; deadlines use Asio's steady timers.
  HttpServer(unsigned workers, const util::Clock& clock);
  ~HttpServer();

  // Binds and listens; returns the bound endpoint (port 0 becomes the port chosen). When
  // options.max_connections needs more file descriptors than the soft RLIMIT_NOFILE allows, the
  // soft limit is raised (up to the hard limit), and a warning logged if that is not enough.
  boost::system::result<tcp::endpoint> AddListener(const ListenerOptions& options);
  void Start();
  // Drains and joins every worker. Returns true when everything finished before the deadline.
  bool Stop(std::chrono::milliseconds deadline);

  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // One entry per listener, in the order they were added. Thread-safe.
  std::vector<ListenerStats> Stats() const;

 private:
  struct Listener;
  void Accept(Listener& listener);
  void OnAccepted(Listener& listener, Worker& worker,
                  asio::basic_stream_socket<tcp, asio::io_context::executor_type> socket);

  // Everything a connection refers to is declared before workers_, so that it outlives the
  // connections that a worker's io_context destroys with it after an unclean stop.
  util::LogLimiter client_log_;  // lines about what clients did: slow requests, refused connections
  util::LogLimiter accept_log_;  // lines about failing accepts
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::size_t next_worker_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace vwr::server
