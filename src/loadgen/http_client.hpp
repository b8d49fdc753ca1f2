#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/spec.hpp"
#include "util/clock.hpp"

namespace vwr::loadgen {

namespace asio = boost::asio;
using SteadyTime = util::TimePoint;

// One base URL to load: http://host[:port][/prefix]. Resolved once, before the run.
struct Target {
  std::string url;   // as given, without a trailing slash
  std::string host;  // for the Host header and TRACER's `host` field
  std::string port;
  std::string host_header;  // host[:port] as the URL names it
  std::string prefix;       // a path in front of every request ("" or "/something")
  asio::ip::tcp::endpoint endpoint;
};
// Parses and resolves `url` (plain http only).
Parsed<Target> ResolveTarget(std::string_view url);

// Why a request got no HTTP answer.
enum class Failure : std::uint8_t {
  kNone,
  kConnect,  // the connection could not be made (not sent)
  kTimeout,  // no answer within --timeout (sent, or waited that long for a connection)
  kClosed,   // the server closed or reset the connection before answering
  kParse,    // what came back is not an HTTP answer this client reads
};
const char* FailureName(Failure f);

struct Answer {
  Failure failure = Failure::kNone;
  bool sent = false;  // the request went out on a connection (the server may have counted it)
  int status = 0;
  std::string_view body;  // valid only during OnAnswer
  Duration latency{};     // from Send() to the answer: what the person waited
  Duration queued{};      // of which waiting for a free connection in this pool
};

// Receives every answer of a pool, on the pool's thread.
class AnswerSink {
 public:
  virtual ~AnswerSink() = default;
  virtual void OnAnswer(std::uint64_t cookie, const Answer& answer) = 0;
};

// Keep-alive HTTP/1.1 connections to one target, shared by many simulated people: a request
// takes an idle connection, or opens a new one up to `max_connections`, or waits its turn in
// the pool's queue. One request at a time per connection (no pipelining), so an answer always
// belongs to the request the connection carries.
//
// Built for volume: requests are complete texts written with one write; answers are read into
// a per-connection buffer and framed here (status line, Content-Length, Connection: close;
// chunked bodies are refused as a parse error: VWR and nginx never send them to these
// requests); no allocation per request beyond the request's own text. Timeouts come from
// Sweep(), called every 100 ms by the owner, not from a timer per request.
//
// A request that finds its reused connection closed by the server before any byte of an answer
// (an idle keep-alive connection the server just dropped) is sent once more on a new
// connection: the server did not see it. Not thread-safe: one pool per worker thread.
class ConnectionPool {
 public:
  ConnectionPool(asio::io_context& io, const Target& target, std::size_t max_connections,
                 Duration timeout, AnswerSink& sink, const util::Clock& clock);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Sends the complete request `text`; the answer goes to the sink with `cookie`.
  void Send(std::string text, std::uint64_t cookie, SteadyTime now);
  // Fails requests that have waited longer than the timeout, answered or not.
  void Sweep(SteadyTime now);
  // Closes every connection; requests in flight or queued are dropped without an answer.
  void Close();

  std::size_t in_flight() const { return in_flight_; }
  std::size_t queued() const { return queue_.size(); }
  std::uint64_t connections_opened() const { return opened_; }

 private:
  struct Pending {
    std::string text;
    std::uint64_t cookie = 0;
    SteadyTime issued{};
    bool retried = false;
  };
  struct Connection;

  void Start(Connection& c, Pending p, SteadyTime now);
  void Connect(Connection& c);
  void Write(Connection& c);
  void Read(Connection& c);
  // Frames what the buffer holds; true when a whole answer was delivered or failed.
  bool TryDeliver(Connection& c, bool at_eof);
  void Deliver(Connection& c, Failure failure, int status, std::string_view body);
  void Fail(Connection& c, Failure failure);
  void Release(Connection& c, bool keep_alive);
  void Dispatch();  // hands queued requests to free connections
  Connection* FreeConnection();

  asio::io_context& io_;
  Target target_;
  std::size_t max_connections_;
  Duration timeout_;
  AnswerSink& sink_;
  const util::Clock& clock_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Pending> queue_;
  std::size_t in_flight_ = 0;
  std::uint64_t opened_ = 0;
  bool closed_ = false;
};

}  // namespace vwr::loadgen
