#include "server/http_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "http/answer_body.hpp"
#include "http/errors.hpp"
#include "server/connection_limits.hpp"
#include "server/request_parser.hpp"
#include "server/serialize.hpp"
#include "util/log_escape.hpp"

namespace vwr::server {

namespace beast = boost::beast;

namespace {

using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

// How long a listener waits after a failed accept before the next one. Accept fails when the
// process is out of descriptors (EMFILE) or memory; retrying at once would spin a core while
// nothing changes.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
// Descriptors kept for everything but the public connections: listeners, admin connections,
// the store's files, logs.
constexpr rlim_t kSpareDescriptors = 256;
// Log lines per second about misbehaving clients, and about failed accepts.
constexpr std::uint32_t kClientLogLinesPerSecond = 10;
constexpr std::uint32_t kAcceptLogLinesPerSecond = 1;

std::string Suppressed(std::uint64_t count) {
  return count == 0 ? std::string() : " (" + std::to_string(count) + " similar lines suppressed)";
}

// Makes room for `connections` open sockets under RLIMIT_NOFILE; see AddListener.
void ProvideDescriptors(const std::string& listener, std::size_t connections) {
  rlimit limit{};
  if (connections == 0 || ::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(connections) + kSpareDescriptors;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    if (limit.rlim_cur > before && ::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      spdlog::info("{}: raised the open-file limit from {} to {} for max_connections {}", listener,
                   before, limit.rlim_cur, connections);
    } else {
      limit.rlim_cur = before;
    }
    if (limit.rlim_cur < wanted) {
      spdlog::warn(
          "{}: max_connections is {}, but the open-file limit (ulimit -n) is {}: accepts will "
          "fail before that many connections are open; raise the limit to at least {}",
          listener, connections, limit.rlim_cur, wanted);
    }
  }
}

}  // namespace

struct HttpServer::Listener {
  ListenerOptions options;
  ConnectionLimits limits;
  std::string refusal;  // the whole 503 answer written to a refused connection
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> accept_failures{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  // vwr_http_handler_exceptions_total{listener}, when the options name where to count it.
  analytics::Counter* handler_exceptions = nullptr;
  // Streams open now, against options.max_streams; and where they are counted (or null).
  std::atomic<std::size_t> streams{0};
  http::ApiMetrics::ListenerStreams* stream_metrics = nullptr;
  // Bound to the first worker's io_context; destroyed by ~HttpServer before it.
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> retry_timer;  // waits out kAcceptRetryDelay

  Listener(const ListenerOptions& o, asio::io_context& ioc)
      : options(o),
        limits(o.max_connections, o.max_connections_per_ip),
        handler_exceptions(o.metrics != nullptr ? &o.metrics->HandlerExceptions(o.name) : nullptr),
        stream_metrics(o.metrics != nullptr ? &o.metrics->Streams(o.name) : nullptr),
        acceptor(std::in_place, ioc),
        retry_timer(std::in_place, ioc) {
    http::Response res =
        http::MakeError(http::ApiError::kUnavailable, "too many connections", 11, false);
    Serialize(res, refusal);
  }
};

// What a worker needs of a connection: to tell it that the server is stopping.
class HttpSession {
 public:
  virtual ~HttpSession() = default;
  // The server is stopping: an idle connection closes now, a busy one after its response.
  virtual void Drain() = 0;
};

namespace {

using TcpStream =
    beast::basic_stream<tcp, asio::io_context::executor_type, beast::unlimited_rate_policy>;
using TlsStream = beast::ssl_stream<TcpStream>;

// A listener's count of open streams, against ListenerOptions::max_streams.
struct StreamCount {
  std::atomic<std::size_t>* open = nullptr;
  http::ApiMetrics::ListenerStreams* metrics = nullptr;  // null: not counted in /metrics
};

// How long a TLS connection that is done waits for the client's close_notify after sending its
// own. Most clients just close; this only bounds the wait for those that do neither.
constexpr std::chrono::milliseconds kTlsShutdownTimeout{1000};

// One connection, over plain TCP (TcpStream) or TLS (TlsStream). Lives on one worker; owned by
// the pending asynchronous operation. A template rather than a virtual stream, so that the plain
// hot path compiles to exactly what it was before TLS existed.
//
// A TLS connection first completes its handshake, under the deadline of its first request's
// head (header_timeout from the accept), so that a client which connects and never handshakes,
// or handshakes slowly, is cut off as a plain slow-loris client is.
//
// Reading a request, step by step (each step's deadline is in ListenerOptions):
//
//   Read():  fresh parser; bytes already buffered (pipelining) -> Parse
//            else wait for bytes: a new connection under header_timeout (its head's deadline
//            runs from the accept), a kept-alive one under keepalive_timeout
//   Parse(): feed the parser what the buffer holds, without I/O
//            whole request in (the usual case: one read brings a poll) -> OnRequest
//            head incomplete -> read more under header_timeout (started now unless already
//                               running) -> Parse
//            body incomplete -> read more under body_timeout (started when the head came in)
//                               -> Parse
//
// The parser (RequestParser) keeps what it leaves unparsed in buffer_ under the header limit,
// so buffer_ never holds more than header_limit_bytes plus one read; its maximum size says so
// too, should that ever fail.
//
// On the hot path (a keep-alive poll) that is one read, one write and two timer re-arms, no lock
// of its own, and no heap allocation once the worker is warm, end to end through PublicApi
// (tests/unit/server/poll_allocations_test.cpp counts them). A poll makes and drops seven pieces
// of memory, and each comes from what the worker recycled from the polls before it:
//   - the request's target and its two header fields (Host, X-VWR-Ticket), in Beast's parser,
//     and the answer's three (Content-Type, Cache-Control, Content-Length): nodes of
//     http::Fields, whose allocator keeps freed blocks per thread (util::RecyclingAllocator);
//   - the answer's body: a string the handler takes from the worker's stock
//     (http::TakeAnswerBody), given back once the answer is serialised (Write).
// Both stocks are per thread and bounded (64 KiB of blocks per size class, four bodies), so nothing
// is locked and a worker keeps little memory idle. The callback that takes the answer holds this
// session's shared_ptr in place (http::Respond), and Asio keeps the read's and the write's handler
// memory per thread; the timers, the guard, the ticket's check and the published frontier allocate
// nothing. Reads and writes strictly alternate, so there is never more than one operation
// outstanding on the stream (which TLS requires, and Boost 1.81's own write loop would break).
template <class Stream>
class BasicHttpSession final : public HttpSession,
                               public http::StreamOpener,
                               public std::enable_shared_from_this<BasicHttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  BasicHttpSession(Stream&& stream, const tcp::endpoint& peer, ConnectionLimits::Slot slot,
                   Worker& worker, const ListenerOptions& options, util::LogLimiter& log,
                   std::atomic<std::uint64_t>& tls_handshake_failures,
                   analytics::Counter* handler_exceptions, StreamCount streams)
      : stream_(std::move(stream)),
        slot_(std::move(slot)),
        worker_(worker),
        options_(options),
        log_(log),
        tls_handshake_failures_(tls_handshake_failures),
        handler_exceptions_(handler_exceptions),
        streams_(streams),
        buffer_(options.header_limit_bytes + kReadSizeHint),
        stream_timer_(stream_.get_executor()) {
    connection_.peer = peer.address();
    connection_.streams = this;
    boost::system::error_code ec;
    Tcp().socket().set_option(tcp::no_delay(true), ec);
  }

  ~BasicHttpSession() override {
    worker_.sessions.erase(this);
    ReleaseStream();
  }

  // http::StreamOpener: the answer to the current request becomes a stream (see Stream()).
  bool Open(std::shared_ptr<http::StreamSource> source, std::chrono::milliseconds period) override {
    if (source_ || !source) return false;
    std::size_t open = streams_.open->load(std::memory_order_relaxed);
    do {
      if (open >= options_.max_streams) {
        if (streams_.metrics != nullptr) streams_.metrics->refused.Add();
        return false;
      }
    } while (!streams_.open->compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
    if (streams_.metrics != nullptr) streams_.metrics->open.fetch_add(1, std::memory_order_relaxed);
    source_ = std::move(source);
    stream_period_ = std::max(period, std::chrono::milliseconds(10));
    return true;
  }

  void Start() {
    worker_.sessions.insert(this);
    if (worker_.draining.load(std::memory_order_acquire)) return Close();
    // The first request's head is due header_timeout after the accept, TLS handshake included.
    Tcp().expires_after(options_.header_timeout);
    if constexpr (kTls) {
      step_ = Step::kHandshake;
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      Read();
    }
  }

  void Drain() override {
    // A stream ends now, with its closing chunk: it has no last answer to wait for.
    if (streaming_) return EndStream(/*clean=*/true);
    // A handshake under way has no request in it yet: it is idle too.
    if (step_ == Step::kHandshake ||
        (reading_ && parser_ && !parser_->got_some() && buffer_.size() == 0)) {
      Close();
    }
  }

 private:
  // Where a connection is, for what a timeout means.
  enum class Step { kHandshake, kWaiting, kHead, kBody, kAnswer };

  // How many bytes to ask the socket for at most, as Beast's own reads do.
  static constexpr std::size_t kReadSizeHint = 64 * 1024;
  // The read that watches a stream's client for leaving (WatchClient).
  static constexpr std::size_t kWatchReadBytes = 512;

  // The TCP layer, which carries the deadlines and the socket.
  TcpStream& Tcp() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    if (ec) return OnHandshakeError(ec);
    Read();
  }

  void OnHandshakeError(beast::error_code ec) {
    // Closed before a word was said (a load balancer's TCP check, a port scan), or by Drain().
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return Close();
    }
    tls_handshake_failures_.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t suppressed = 0;
    if (log_.Allow(suppressed)) {
      if (ec == beast::error::timeout) {
        spdlog::info("{}: {} did not complete the TLS handshake within {} ms; closing{}",
                     options_.name, connection_.peer.to_string(), options_.header_timeout.count(),
                     Suppressed(suppressed));
      } else {
        // Plain HTTP sent to this port shows here too ("http request").
        spdlog::info("{}: TLS handshake with {} failed: {}; closing{}", options_.name,
                     connection_.peer.to_string(), ec.message(), Suppressed(suppressed));
      }
    }
    Close();
  }

  void Read() {
    parser_.emplace(options_.header_limit_bytes, options_.body_limit_bytes);
    reading_ = true;
    if (buffer_.size() > 0) {
      step_ = Step::kHead;
      return Parse(/*head_deadline_set=*/false);
    }
    step_ = Step::kWaiting;
    // Idle now. The server may have begun draining while the last answer (or the handshake) was
    // on its way, when Drain() passed this connection by as busy: waiting for another request
    // would then hold the stop up until keepalive_timeout or the shutdown deadline.
    if (worker_.draining.load(std::memory_order_acquire)) return Close();
    // A new connection's deadline has been running since the accept (see Start).
    if (requests_ > 0) Tcp().expires_after(options_.keepalive_timeout);
    ReadMore();
  }

  // Waits for more bytes of the request, under the deadline already set, then Parse.
  void ReadMore() {
    const std::size_t room = beast::read_size(buffer_, kReadSizeHint);
    // Full: the parser would have had to keep more than header_limit_bytes unparsed.
    if (room == 0) return OnReadError(http::error::buffer_overflow);
    stream_.async_read_some(buffer_.prepare(room), [self = this->shared_from_this()](
                                                       beast::error_code ec, std::size_t bytes) {
      self->OnBytes(ec, bytes);
    });
  }

  void OnBytes(beast::error_code ec, std::size_t bytes) {
    if (ec) return OnReadError(ec);
    buffer_.commit(bytes);
    if (step_ != Step::kWaiting) return Parse(/*head_deadline_set=*/true);
    step_ = Step::kHead;
    // On a new connection the head's deadline has been running since the accept.
    Parse(/*head_deadline_set=*/requests_ == 0);
  }

  void Parse(bool head_deadline_set) {
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const std::size_t used = parser_->Put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec || used == 0) break;
    }
    if (ec && ec != http::error::need_more) return OnReadError(ec);
    if (parser_->is_done()) return OnRequest();
    if (!parser_->is_header_done()) {
      if (!head_deadline_set) Tcp().expires_after(options_.header_timeout);
    } else if (step_ != Step::kBody) {
      // The head is in: its body is due body_timeout from now.
      step_ = Step::kBody;
      Tcp().expires_after(options_.body_timeout);
    }
    ReadMore();
  }

  void OnRequest() {
    reading_ = false;
    step_ = Step::kAnswer;
    ++requests_;
    const http::Request& request = parser_->get();
    // The handler answers now (a poll) or later, from another thread (a change that must be
    // made durable first, a round trip to a shared store). Whichever comes second of "the
    // handler returned" and "the answer came" goes on. The work guard keeps the worker's
    // io_context running until then, even while the server drains and has nothing else to do.
    answer_state_.store(kServing, std::memory_order_relaxed);
    pending_work_.emplace(stream_.get_executor());
    try {
      // The answer may come on another thread (the journal's, the Redis store's), which may
      // destroy this callback only later: the callback gives its reference to the session
      // away with the answer, so that the session is never destroyed off its worker.
      options_.handler->Serve(request, connection_,
                              [self = this->shared_from_this()](http::Response response) mutable {
                                BasicHttpSession* session = self.get();
                                session->OnAnswer(std::move(response), std::move(self));
                              });
    } catch (const std::exception& e) {
      OnHandlerException(request, e.what());
    } catch (...) {
      OnHandlerException(request, "an exception of unknown type");
    }
    if (answer_state_.exchange(kReturned, std::memory_order_acq_rel) == kAnswered) SendAnswer();
  }

  // Handlers answer whatever a client sends, and their errors are values: an exception that
  // comes this far is a bug. It is logged and counted (vwr_http_handler_exceptions_total), and
  // unless the handler had answered already, the request gets 500 and the connection closes;
  // the worker serves its other connections on.
  void OnHandlerException(const http::Request& request, std::string_view what) {
    if (handler_exceptions_ != nullptr) handler_exceptions_->Add();
    spdlog::error("{}: handler failed on {} {}: {}", options_.name,
                  std::string_view(request.method_string()),
                  util::LogEscaped(std::string_view(request.target())), what);
    if (answer_state_.load(std::memory_order_acquire) == kServing) {
      OnAnswer(
          http::MakeError(http::ApiError::kInternal, "internal error", request.version(), false),
          this->shared_from_this());
    }
  }

  // The handler's answer: on this worker while Serve runs, or on any thread later. `self` is
  // the caller's reference to this session; it goes to the worker (in the posted handler, or
  // for SendAnswer to drop), so that a caller on another thread never holds the last one: the
  // session must end on its worker, which alone touches the worker's set of sessions.
  void OnAnswer(http::Response response, std::shared_ptr<BasicHttpSession> self) {
    response_ = std::move(response);  // the worker does not touch these until told below
    answer_holder_ = std::move(self);
    if (answer_state_.exchange(kAnswered, std::memory_order_acq_rel) == kReturned) {
      // The worker is done with the request: only this thread touches answer_holder_ now.
      asio::post(stream_.get_executor(),
                 [holder = std::move(answer_holder_)] { holder->SendAnswer(); });
    }
  }

  void SendAnswer() {
    pending_work_.reset();
    // Dropped here, on the worker, which holds other references until the answer is written.
    answer_holder_.reset();
    const http::Request& request = parser_->get();
    if (worker_.draining.load(std::memory_order_acquire) ||
        requests_ == options_.max_requests_per_connection) {
      response_.keep_alive(false);
    }
    const unsigned status = response_.result_int();
    if (source_) {
      // A stream opened for this request: its head now, its chunks from the timer. Any other
      // answer than 200 (the handler changed its mind, a HEAD) is an ordinary one.
      if (status == 200 && request.method() == http::verb::get &&
          !worker_.draining.load(std::memory_order_acquire)) {
        streaming_ = true;
        writing_ = true;
        SerializeStreamHead(response_, out_);
        Tcp().expires_after(options_.body_timeout);
        return asio::async_write(
            stream_, asio::buffer(out_),
            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
              self->OnStreamWrite(ec);
            });
      }
      ReleaseStream();
    }
    if (request.method() == http::verb::head && status != 204 && status != 304 && status >= 200) {
      // The headers of the GET answer, Content-Length included, and no body (RFC 9110 9.3.2).
      // (204 and 304 answers carry no Content-Length: RFC 9110 8.6.)
      const std::size_t length = response_.body().size();
      response_.body().clear();
      response_.content_length(length);
    }
    Write();
  }

  void OnReadError(beast::error_code ec) {
    reading_ = false;
    // stream_truncated: a TLS client closed the connection without a close_notify, which most
    // do between requests; the answers are framed by Content-Length, so nothing is lost.
    if (ec == asio::error::eof || ec == http::error::end_of_stream ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      // An idle connection timing out is normal; a half-sent request is not.
      if (step_ != Step::kWaiting) {
        std::uint64_t suppressed = 0;
        if (log_.Allow(suppressed)) {
          const bool head = step_ == Step::kHead;
          spdlog::info("{}: {} did not send a request {} within {} ms; closing{}", options_.name,
                       connection_.peer.to_string(), head ? "head" : "body",
                       (head ? options_.header_timeout : options_.body_timeout).count(),
                       Suppressed(suppressed));
        }
      }
      return Close();
    }
    // Anything but an HTTP parse error is a socket (or TLS) error: nobody to answer.
    if (ec.category() != http::make_error_code(http::error::bad_target).category()) return Close();
    const ReadRefusal refusal = parser_->Refusal(ec);
    std::uint64_t suppressed = 0;
    if (log_.Allow(suppressed)) {
      spdlog::info("{}: {} from {}; closing{}", options_.name, refusal.message,
                   connection_.peer.to_string(), Suppressed(suppressed));
    }
    const unsigned version = parser_->is_header_done() ? parser_->get().version() : 11;
    response_ = http::MakeError(refusal.error, refusal.message, version, false);
    step_ = Step::kAnswer;
    Write();
  }

  void Write() {
    // The whole answer goes out as one contiguous buffer: Beast's generic serializer costs more
    // than the rest of a poll. A client that does not take it in time is cut off.
    Serialize(response_, out_);
    // The body is in out_ now: its memory serves the next answer this worker's handlers make
    // (http::TakeAnswerBody).
    http::RecycleAnswerBody(response_.body());
    Tcp().expires_after(options_.body_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnWrite(ec);
                      });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return Close();
    if (!response_.keep_alive()) return Finish();
    response_ = {};
    Read();
  }

  // ---- a stream (http::StreamOpener) ----
  //
  //   head written    -> watch the socket for the client leaving (a read that only ends on
  //                      EOF or an error; bytes the client sends are dropped), tick
  //   tick (period)   -> source->Next(): something -> write it as one chunk (within
  //                      body_timeout, or the connection is cut), then tick again
  //   end             -> the client left, Drain(), Next() said so, a write failed: the closing
  //                      chunk when the connection is still good, then close; the source hears
  //                      Ended() once, and the listener's count goes down
  //
  // One write at a time; the watching read is the only other operation on the stream.

  void OnStreamWrite(beast::error_code ec) {
    writing_ = false;
    if (ec) return EndStream(/*clean=*/false);
    if (stream_ended_) {
      // Ended cleanly while this chunk was on its way: the closing chunk follows it.
      if (std::exchange(closing_chunk_due_, false)) return WriteClosingChunk();
      return Close();  // the closing chunk is out
    }
    if (!watching_) {
      watching_ = true;
      // No deadline on the watching read; each write sets its own (see ListenerOptions).
      Tcp().expires_never();
      WatchClient();
    }
    if (!more_) return EndStream(/*clean=*/true);
    Tick();
  }

  void WatchClient() {
    buffer_.clear();
    // What a streaming client sends is dropped: the room the buffer already has is enough, and
    // a stream does not grow it to kReadSizeHint (thousands of streams sit here at once).
    stream_.async_read_some(buffer_.prepare(kWatchReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->EndStream(/*clean=*/false);
                              if (!self->stream_ended_) self->WatchClient();
                            });
  }

  void Tick() {
    stream_timer_.expires_after(stream_period_);
    stream_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->stream_ended_) return;
      if (self->worker_.draining.load(std::memory_order_acquire)) {
        return self->EndStream(/*clean=*/true);
      }
      self->stream_chunk_.clear();
      self->more_ = self->source_->Next(self->stream_chunk_);
      if (self->stream_chunk_.empty()) {
        if (!self->more_) return self->EndStream(/*clean=*/true);
        return self->Tick();
      }
      self->WriteChunk(self->stream_chunk_);
    });
  }

  // `data` as one chunk (HTTP/1.1) or as it is (HTTP/1.0, whose end is the connection's).
  void WriteChunk(std::string_view data) {
    out_.clear();
    const bool chunked = response_.version() == 11;
    if (chunked) {
      char size[20];
      const auto [end, ec] = std::to_chars(size, size + sizeof size, data.size(), 16);
      out_.append(size, end);
      out_ += "\r\n";
    }
    out_ += data;
    if (chunked) out_ += "\r\n";
    writing_ = true;
    Tcp().expires_after(options_.body_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnStreamWrite(ec);
                      });
  }

  // The stream is over: `clean` sends the closing chunk first (when no write is under way).
  void EndStream(bool clean) {
    if (stream_ended_) return;
    stream_ended_ = true;
    stream_timer_.cancel();
    ReleaseStream();
    const bool chunked = response_.version() == 11;
    if (clean && chunked && !writing_) return WriteClosingChunk();
    if (!writing_) return Close();
    // A write is under way: it ends, and OnStreamWrite sends the closing chunk (clean) or
    // closes.
    closing_chunk_due_ = clean && chunked;
  }

  // The last chunk of a stream that ended cleanly, then the connection's end.
  void WriteClosingChunk() {
    out_ = "0\r\n\r\n";
    writing_ = true;
    Tcp().expires_after(kTlsShutdownTimeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](beast::error_code, std::size_t) {
                        self->writing_ = false;
                        self->Finish();
                      });
  }

  // Tells the source its stream has ended, gives the listener's place back and drops the
  // source (once).
  void ReleaseStream() {
    if (!source_) return;
    // The place is given back before the source hears of the end, so that whoever the source
    // tells finds the count already down.
    streams_.open->fetch_sub(1, std::memory_order_relaxed);
    if (streams_.metrics != nullptr) streams_.metrics->open.fetch_sub(1, std::memory_order_relaxed);
    std::exchange(source_, nullptr)->Ended();
  }

  // The last answer is out ("Connection: close"): end the connection in good order.
  void Finish() {
    if constexpr (kTls) {
      // Send close_notify, so that the client sees a clean end rather than a truncation, and
      // wait for its own at most kTlsShutdownTimeout: whatever comes back (its close_notify, a
      // plain close, the deadline), the socket is closed then. The write above is complete, so
      // this is the stream's only operation. Idle connections closed by Drain() and broken ones
      // are just closed: there is no answer on them to mark the end of.
      Tcp().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->Close(); });
    } else {
      beast::error_code ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Close();
    }
  }

  void Close() {
    beast::error_code ignored;
    Tcp().socket().close(ignored);
  }

  Stream stream_;
  ConnectionLimits::Slot slot_;  // this connection's place under the listener's limits
  Worker& worker_;
  const ListenerOptions& options_;
  util::LogLimiter& log_;
  std::atomic<std::uint64_t>& tls_handshake_failures_;  // the listener's count
  analytics::Counter* handler_exceptions_;              // the listener's count, or null
  StreamCount streams_;                                 // the listener's streams
  http::ConnectionInfo connection_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  http::Response response_;
  // Where the answer to the current request is (OnRequest / OnAnswer).
  static constexpr int kServing = 0;   // the handler is running, no answer yet
  static constexpr int kAnswered = 1;  // the answer came while the handler ran
  static constexpr int kReturned = 2;  // the handler returned without an answer: it comes later
  std::atomic<int> answer_state_{kServing};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> pending_work_;
  std::shared_ptr<BasicHttpSession> answer_holder_;  // the answerer's reference (OnAnswer)
  std::string out_;                                  // the serialized answer being written
  std::size_t requests_ = 0;                         // requests read on this connection
  Step step_ = Step::kWaiting;
  bool reading_ = false;
  // A stream (Open): its source, holding a place among the listener's streams while set.
  std::shared_ptr<http::StreamSource> source_;
  std::chrono::milliseconds stream_period_{1000};
  asio::steady_timer stream_timer_;
  std::string stream_chunk_;        // what Next() gave
  bool streaming_ = false;          // the head has gone out (or is going)
  bool watching_ = false;           // the read that notices the client leaving is under way
  bool writing_ = false;            // a write of the stream is under way
  bool more_ = true;                // Next() has not said "the end"
  bool stream_ended_ = false;       // EndStream ran
  bool closing_chunk_due_ = false;  // ended cleanly during a write: the closing chunk follows
};

}  // namespace

HttpServer::HttpServer(unsigned workers, const util::Clock& clock)
    : client_log_(clock, kClientLogLinesPerSecond), accept_log_(clock, kAcceptLogLinesPerSecond) {
  if (workers == 0) workers = 1;
  for (unsigned i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>());
}

HttpServer::~HttpServer() {
  if (started_ && !stopped_) Stop(std::chrono::milliseconds(1000));
  // The acceptors and timers belong to the first worker's io_context: gone before it is.
  for (auto& listener : listeners_) {
    listener->retry_timer.reset();
    listener->acceptor.reset();
  }
}

boost::system::result<tcp::endpoint> HttpServer::AddListener(const ListenerOptions& options) {
  // The acceptor lives on the first worker; accepted sockets go to every worker in turn.
  auto listener = std::make_unique<Listener>(options, workers_.front()->ioc);
  boost::system::error_code ec;
  tcp::acceptor& a = *listener->acceptor;
  a.open(options.endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(options.endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  const tcp::endpoint bound = a.local_endpoint(ec);
  if (ec) return ec;
  listener->options.endpoint = bound;
  ProvideDescriptors(options.name, options.max_connections);
  listeners_.push_back(std::move(listener));
  return bound;
}

std::vector<ListenerStats> HttpServer::Stats() const {
  std::vector<ListenerStats> stats;
  for (const auto& listener : listeners_) {
    stats.push_back({listener->options.name, listener->limits.open(),
                     listener->refused.load(std::memory_order_relaxed),
                     listener->accept_failures.load(std::memory_order_relaxed),
                     listener->tls_handshake_failures.load(std::memory_order_relaxed)});
  }
  return stats;
}

void HttpServer::Accept(Listener& listener) {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  listener.acceptor->async_accept(
      worker.ioc.get_executor(),
      [this, &listener, &worker](boost::system::error_code ec, Socket socket) {
        if (ec == asio::error::operation_aborted || !listener.acceptor->is_open()) return;
        if (!ec) {
          OnAccepted(listener, worker, std::move(socket));
          return Accept(listener);
        }
        // Out of descriptors and the like: say so, and try again a little later, when
        // connections may have ended; at once, it would fail again at once.
        listener.accept_failures.fetch_add(1, std::memory_order_relaxed);
        std::uint64_t suppressed = 0;
        if (accept_log_.Allow(suppressed)) {
          spdlog::warn("{}: accept failed: {}; retrying in {} ms{}", listener.options.name,
                       ec.message(), kAcceptRetryDelay.count(), Suppressed(suppressed));
        }
        listener.retry_timer->expires_after(kAcceptRetryDelay);
        listener.retry_timer->async_wait([this, &listener](boost::system::error_code wait_ec) {
          if (wait_ec || !listener.acceptor->is_open()) return;
          Accept(listener);
        });
      });
}

void HttpServer::OnAccepted(Listener& listener, Worker& worker, Socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone; the socket closes here
  ConnectionLimits::Slot slot;
  const ConnectionLimits::Verdict verdict = listener.limits.TryAcquire(peer.address(), slot);
  if (verdict != ConnectionLimits::Verdict::kAccepted) {
    // Refused at once, on this thread: a fresh socket's send buffer takes the short answer
    // without blocking, and nothing else is spent on it. A TLS client cannot read a plain answer,
    // and a handshake to give it one is the cost the limit is there to save: it is just closed.
    listener.refused.fetch_add(1, std::memory_order_relaxed);
    socket.non_blocking(true, ec);
    if (!ec && !listener.options.tls) socket.write_some(asio::buffer(listener.refusal), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
    std::uint64_t suppressed = 0;
    if (client_log_.Allow(suppressed)) {
      const bool per_ip = verdict == ConnectionLimits::Verdict::kTooManyFromAddress;
      spdlog::warn(
          "{}: refused a connection from {}: {} connections {}open "
          "(server.limits.{}){}",
          listener.options.name, peer.address().to_string(),
          per_ip ? listener.limits.max_per_address() : listener.limits.max_connections(),
          per_ip ? "from this address " : "", per_ip ? "max_connections_per_ip" : "max_connections",
          Suppressed(suppressed));
    }
    return;
  }
  asio::post(worker.ioc, [this, &worker, &listener, peer, s = std::move(socket),
                          slot = std::move(slot)]() mutable {
    if (listener.options.tls) {
      std::make_shared<BasicHttpSession<TlsStream>>(
          TlsStream(std::move(s), *listener.options.tls), peer, std::move(slot), worker,
          listener.options, client_log_, listener.tls_handshake_failures,
          listener.handler_exceptions, StreamCount{&listener.streams, listener.stream_metrics})
          ->Start();
    } else {
      std::make_shared<BasicHttpSession<TcpStream>>(
          TcpStream(std::move(s)), peer, std::move(slot), worker, listener.options, client_log_,
          listener.tls_handshake_failures, listener.handler_exceptions,
          StreamCount{&listener.streams, listener.stream_metrics})
          ->Start();
    }
  });
}

void HttpServer::Start() {
  started_ = true;
  for (auto& listener : listeners_) Accept(*listener);
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([w] {
      // Runs until no work is left: listeners closed and every connection finished.
      w->ioc.run();
    });
  }
}

bool HttpServer::Stop(std::chrono::milliseconds deadline) {
  if (stopped_) return true;
  stopped_ = true;
  if (!started_) return true;
  asio::post(workers_.front()->ioc, [this] {
    for (auto& listener : listeners_) {
      boost::system::error_code ignored;
      listener->acceptor->close(ignored);
      listener->retry_timer->cancel();
    }
  });
  // Every worker is draining before any of them closes a connection (see Worker::draining).
  for (auto& worker : workers_) worker->draining.store(true, std::memory_order_release);
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    asio::post(w->ioc, [w] {
      w->keep_running.reset();
      // Drain() may close and so destroy sessions; iterate over a copy.
      const std::vector<HttpSession*> sessions(w->sessions.begin(), w->sessions.end());
      for (HttpSession* s : sessions) {
        if (w->sessions.contains(s)) s->Drain();
      }
    });
  }

  // Wait for the workers to run out of work, up to the deadline.
  std::mutex mu;
  std::condition_variable cv;
  std::size_t finished = 0;
  std::vector<std::thread> waiters;
  for (auto& worker : workers_) {
    waiters.emplace_back([&, w = worker.get()] {
      w->thread.join();
      std::lock_guard lock(mu);
      ++finished;
      cv.notify_all();
    });
  }
  bool clean = true;
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, deadline, [&] { return finished == workers_.size(); })) {
      clean = false;
      spdlog::warn("server: connections still open at the shutdown deadline; closing them");
      for (auto& worker : workers_) worker->ioc.stop();
    }
  }
  for (auto& waiter : waiters) waiter.join();
  return clean;
}

}  // namespace vwr::server
