#include "server/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "api/errors.hpp"

namespace vwr::server {

namespace beast = boost::beast;
namespace http = beast::http;

struct HttpServer::Listener {
  ListenerOptions options;
  tcp::acceptor acceptor;
  Listener(const ListenerOptions& o, asio::io_context& ioc) : options(o), acceptor(ioc) {}
};

// One connection. Lives on one worker; owned by the pending asynchronous operation.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // Sockets and streams bound to the worker's io_context executor type itself, not the
  // type-erased any_io_executor: every asynchronous step would otherwise copy and destroy one.
  using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

  HttpSession(Socket&& socket, Worker& worker, const ListenerOptions& options)
      : stream_(std::move(socket)), worker_(worker), options_(options) {
    boost::system::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) connection_.peer = peer.address();
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  ~HttpSession() { worker_.sessions.erase(this); }

  void Start() {
    worker_.sessions.insert(this);
    if (worker_.draining) return Close();
    Read();
  }

  // The server is stopping: an idle connection closes now, a busy one after its response.
  void Drain() {
    if (reading_ && parser_ && !parser_->got_some() && buffer_.size() == 0) Close();
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit_bytes));
    parser_->body_limit(options_.body_limit_bytes);
    stream_.expires_after(options_.request_timeout);
    reading_ = true;
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    if (ec) return OnReadError(ec);
    const api::Request& request = parser_->get();
    try {
      response_ = options_.handler->Handle(request, connection_);
    } catch (const std::exception& e) {
      // Handlers do not throw for client input; this is a bug, so say so and keep serving.
      spdlog::error("{}: handler failed on {} {}: {}", options_.name,
                    std::string_view(request.method_string()), std::string_view(request.target()),
                    e.what());
      response_ =
          api::MakeError(api::ApiError::kInternal, "internal error", request.version(), false);
    }
    if (worker_.draining) response_.keep_alive(false);
    if (request.method() == http::verb::head) {
      // The headers of the GET answer, Content-Length included, and no body (RFC 9110 9.3.2).
      const std::size_t length = response_.body().size();
      response_.body().clear();
      response_.content_length(length);
    }
    Write();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == http::error::partial_message) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      // An idle keep-alive connection timing out is normal; a half-sent request is not.
      if (parser_->got_some()) {
        spdlog::info("{}: {} timed out while sending a request", options_.name,
                     connection_.peer.to_string());
      }
      return Close();
    }
    // Anything but an HTTP parse error is a socket error: nobody to answer.
    if (ec.category() != http::make_error_code(http::error::bad_target).category()) return Close();
    api::ApiError error = api::ApiError::kBadRequest;
    std::string message = "malformed HTTP request: " + ec.message();
    if (ec == http::error::body_limit) {
      error = api::ApiError::kPayloadTooLarge;
      message =
          "the request body is larger than " + std::to_string(options_.body_limit_bytes) + " bytes";
    } else if (ec == http::error::header_limit) {
      error = api::ApiError::kHeadersTooLarge;
      message = "the request headers are larger than " +
                std::to_string(options_.header_limit_bytes) + " bytes";
    }
    spdlog::info("{}: {} from {}; closing", options_.name, message, connection_.peer.to_string());
    const unsigned version = parser_->is_header_done() ? parser_->get().version() : 11;
    response_ = api::MakeError(error, message, version, false);
    Write();
  }

  void Write() {
    // The deadline set by Read() covers the write too. The whole answer goes out as one
    // contiguous buffer: Beast's generic serializer costs more than the rest of a poll.
    Serialize(response_, out_);
    asio::async_write(
        stream_, asio::buffer(out_),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnWrite(ec); });
  }

  // Status line, header fields and body into `out` (reusing its capacity). Every answer here
  // has its length known up front, so there is never a chunked body to frame.
  static void Serialize(api::Response& res, std::string& out) {
    if (res.find(http::field::content_length) == res.end() &&
        res.result() != http::status::no_content) {
      res.content_length(res.body().size());
    }
    out.clear();
    out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char code[8];
    const auto [end, ec] = std::to_chars(code, code + sizeof code, res.result_int());
    out.append(code, end);
    out += ' ';
    out += std::string_view(res.reason());
    out += "\r\n";
    for (const auto& field : res) {
      out += std::string_view(field.name_string());
      out += ": ";
      out += std::string_view(field.value());
      out += "\r\n";
    }
    out += "\r\n";
    out += res.body();
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return Close();
    if (!response_.keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return Close();
    }
    response_ = {};
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::basic_stream<tcp, asio::io_context::executor_type, beast::unlimited_rate_policy> stream_;
  Worker& worker_;
  const ListenerOptions& options_;
  api::ConnectionInfo connection_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  api::Response response_;
  std::string out_;  // the serialized answer being written
  bool reading_ = false;
};

HttpServer::HttpServer(unsigned workers) {
  if (workers == 0) workers = 1;
  for (unsigned i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>());
}

HttpServer::~HttpServer() {
  if (started_ && !stopped_) Stop(std::chrono::milliseconds(1000));
}

boost::system::result<tcp::endpoint> HttpServer::AddListener(const ListenerOptions& options) {
  // The acceptor lives on the first worker; accepted sockets go to every worker in turn.
  auto listener = std::make_unique<Listener>(options, workers_.front()->ioc);
  boost::system::error_code ec;
  tcp::acceptor& a = listener->acceptor;
  a.open(options.endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(options.endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  const tcp::endpoint bound = a.local_endpoint(ec);
  if (ec) return ec;
  listener->options.endpoint = bound;
  listeners_.push_back(std::move(listener));
  return bound;
}

void HttpServer::Accept(Listener& listener) {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  listener.acceptor.async_accept(
      worker.ioc.get_executor(),
      [this, &listener, &worker](boost::system::error_code ec, HttpSession::Socket socket) {
        if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) return;
        if (ec) {
          // Out of descriptors and the like: say so, and keep accepting.
          spdlog::warn("{}: accept failed: {}", listener.options.name, ec.message());
        } else {
          asio::post(worker.ioc, [&worker, &listener, s = std::move(socket)]() mutable {
            std::make_shared<HttpSession>(std::move(s), worker, listener.options)->Start();
          });
        }
        Accept(listener);
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
      listener->acceptor.close(ignored);
    }
  });
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    asio::post(w->ioc, [w] {
      w->draining = true;
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
