#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "api/http.hpp"

namespace vwr::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct ListenerOptions {
  std::string name;  // for logs: "public", "admin"
  tcp::endpoint endpoint;
  api::Handler* handler = nullptr;
  std::size_t header_limit_bytes = 8 * 1024;
  std::size_t body_limit_bytes = 64 * 1024;
  std::chrono::milliseconds request_timeout{10'000};  // to read one whole request, or stay idle
};

class HttpSession;

// One worker thread with its own io_context. Every connection it owns is served on this thread
// only, so per-connection state needs no locks.
struct Worker {
  std::unordered_set<HttpSession*> sessions;  // touched only on this worker's thread
  bool draining = false;                      // likewise
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
// limits, and a timeout on every read.
//
// Shutdown: Stop() closes the listeners, lets every in-flight request finish with
// "Connection: close", closes idle connections, and forces the rest closed at the deadline.
class HttpServer {
 public:
  explicit HttpServer(unsigned workers);
  ~HttpServer();

  // Binds and listens; returns the bound endpoint (port 0 becomes the port chosen).
  boost::system::result<tcp::endpoint> AddListener(const ListenerOptions& options);
  void Start();
  // Drains and joins every worker. Returns true when everything finished before the deadline.
  bool Stop(std::chrono::milliseconds deadline);

  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }

 private:
  struct Listener;
  void Accept(Listener& listener);

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::size_t next_worker_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace vwr::server
