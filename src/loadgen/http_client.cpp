#include "loadgen/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <charconv>
#include <cstring>

namespace vwr::loadgen {
namespace {

constexpr std::size_t kInitialBuffer = 4096;
constexpr std::size_t kMaxAnswer = 1 << 20;  // an answer larger than this is not one of ours

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IContains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const char* FailureName(Failure f) {
  switch (f) {
    case Failure::kNone:
      return "none";
    case Failure::kConnect:
      return "connect";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kClosed:
      return "closed";
    case Failure::kParse:
      return "parse";
  }
  return "?";
}

Parsed<Target> ResolveTarget(std::string_view url) {
  using P = Parsed<Target>;
  Target t;
  std::string_view rest = url;
  if (!rest.starts_with("http://")) {
    return P::Fail(std::string("--target ") + std::string(url) +
                   ": only http:// URLs (put TLS in front with a proxy that the target runs)");
  }
  rest.remove_prefix(7);
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty()) return P::Fail("--target " + std::string(url) + ": no host");
  t.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port = "80";
  if (authority.front() == '[') {  // [::1]:8080
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return P::Fail("--target " + std::string(url) + ": bad IPv6 host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  t.host = std::string(host);
  t.port = std::string(port);
  t.prefix = std::string(path);
  t.url = "http://" + t.host_header + t.prefix;
  boost::system::error_code ec;
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(t.host, t.port, ec);
  if (ec || results.empty()) {
    return P::Fail("--target " + std::string(url) + ": cannot resolve " + t.host + ":" + t.port +
                   " (" + ec.message() + ")");
  }
  t.endpoint = results.begin()->endpoint();
  return P::Ok(std::move(t));
}

struct ConnectionPool::Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  enum class State { kClosed, kConnecting, kIdle, kBusy };

  asio::ip::tcp::socket socket;
  State state = State::kClosed;
  Pending current;
  SteadyTime started{};    // when the current request got this connection
  bool reused = false;     // the connection has carried an answer before
  bool got_bytes = false;  // some of the current answer has come
  bool timed_out = false;  // Sweep() gave up on the current request
  std::vector<char> in = std::vector<char>(kInitialBuffer);
  std::size_t in_len = 0;
  std::uint64_t generation = 0;  // handlers of an earlier socket compare and leave
};

ConnectionPool::ConnectionPool(asio::io_context& io, const Target& target,
                               std::size_t max_connections, Duration timeout, AnswerSink& sink,
                               const util::Clock& clock)
    : io_(io),
      target_(target),
      max_connections_(max_connections == 0 ? 1 : max_connections),
      timeout_(timeout),
      sink_(sink),
      clock_(clock) {}

ConnectionPool::~ConnectionPool() { Close(); }

void ConnectionPool::Close() {
  closed_ = true;
  for (auto& c : connections_) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
    c->state = Connection::State::kClosed;
  }
  queue_.clear();
}

ConnectionPool::Connection* ConnectionPool::FreeConnection() {
  if (!idle_.empty()) {
    Connection* c = idle_.back();
    idle_.pop_back();
    return c;
  }
  if (connections_.size() < max_connections_) {
    connections_.push_back(std::make_unique<Connection>(io_));
    return connections_.back().get();
  }
  return nullptr;
}

void ConnectionPool::Send(std::string text, std::uint64_t cookie, SteadyTime now) {
  if (closed_) return;
  Pending p{std::move(text), cookie, now, false};
  if (!queue_.empty()) {
    queue_.push_back(std::move(p));
    return;
  }
  Connection* c = FreeConnection();
  if (c == nullptr) {
    queue_.push_back(std::move(p));
    return;
  }
  Start(*c, std::move(p), now);
}

void ConnectionPool::Dispatch() {
  while (!queue_.empty() && !closed_) {
    Connection* c = FreeConnection();
    if (c == nullptr) return;
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    Start(*c, std::move(p), clock_.Now());
  }
}

void ConnectionPool::Start(Connection& c, Pending p, SteadyTime now) {
  c.current = std::move(p);
  c.started = now;
  c.got_bytes = false;
  c.timed_out = false;
  ++in_flight_;
  if (c.state == Connection::State::kClosed) {
    Connect(c);
  } else {
    c.state = Connection::State::kBusy;
    Write(c);
  }
}

void ConnectionPool::Connect(Connection& c) {
  ++opened_;
  ++c.generation;
  c.state = Connection::State::kConnecting;
  c.reused = false;
  c.in_len = 0;
  c.socket = asio::ip::tcp::socket(io_);
  c.socket.async_connect(target_.endpoint,
                         [this, &c, gen = c.generation](const boost::system::error_code& ec) {
                           if (closed_ || gen != c.generation) return;
                           if (ec) return Fail(c, Failure::kConnect);
                           boost::system::error_code ignored;
                           c.socket.set_option(asio::ip::tcp::no_delay(true), ignored);
                           c.state = Connection::State::kBusy;
                           Write(c);
                         });
}

void ConnectionPool::Write(Connection& c) {
  asio::async_write(
      c.socket, asio::buffer(c.current.text),
      [this, &c, gen = c.generation](const boost::system::error_code& ec, std::size_t) {
        if (closed_ || gen != c.generation) return;
        if (ec) return Fail(c, c.timed_out ? Failure::kTimeout : Failure::kClosed);
        Read(c);
      });
}

void ConnectionPool::Read(Connection& c) {
  if (c.in_len == c.in.size()) {
    if (c.in.size() >= kMaxAnswer) return Fail(c, Failure::kParse);
    c.in.resize(c.in.size() * 2);
  }
  c.socket.async_read_some(
      asio::buffer(c.in.data() + c.in_len, c.in.size() - c.in_len),
      [this, &c, gen = c.generation](const boost::system::error_code& ec, std::size_t n) {
        if (closed_ || gen != c.generation) return;
        if (n > 0) {
          c.got_bytes = true;
          c.in_len += n;
        }
        if (ec) {
          if (c.timed_out) return Fail(c, Failure::kTimeout);
          if (ec == asio::error::eof && TryDeliver(c, /*at_eof=*/true)) return;
          return Fail(c, Failure::kClosed);
        }
        if (!TryDeliver(c, /*at_eof=*/false)) Read(c);
      });
}

bool ConnectionPool::TryDeliver(Connection& c, bool at_eof) {
  const std::string_view data(c.in.data(), c.in_len);
  const std::size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (c.in_len >= 64 * 1024) {
      Fail(c, Failure::kParse);
      return true;
    }
    return false;
  }
  // Status line: HTTP/1.x NNN reason
  const std::string_view head = data.substr(0, head_end);
  if (head.size() < 12 || !head.starts_with("HTTP/1.") || head[8] != ' ') {
    Fail(c, Failure::kParse);
    return true;
  }
  int status = 0;
  if (std::from_chars(head.data() + 9, head.data() + 12, status).ptr != head.data() + 12 ||
      status < 200 || status > 599) {
    Fail(c, Failure::kParse);
    return true;
  }
  bool keep_alive = head[7] == '1';
  std::optional<std::size_t> content_length;
  std::size_t line_start = head.find("\r\n");
  while (line_start != std::string_view::npos && line_start < head.size()) {
    line_start += 2;
    std::size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = head.size();
    const std::string_view line = head.substr(line_start, line_end - line_start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = TrimSpaces(line.substr(colon + 1));
      if (IEquals(name, "content-length")) {
        std::size_t n = 0;
        if (std::from_chars(value.data(), value.data() + value.size(), n).ptr !=
            value.data() + value.size()) {
          Fail(c, Failure::kParse);
          return true;
        }
        content_length = n;
      } else if (IEquals(name, "connection")) {
        if (IContains(value, "close")) keep_alive = false;
        if (IContains(value, "keep-alive")) keep_alive = true;
      } else if (IEquals(name, "transfer-encoding")) {
        Fail(c, Failure::kParse);  // chunked: not sent by the servers this tool loads
        return true;
      }
    }
    line_start = line_end;
  }
  const std::size_t body_start = head_end + 4;
  std::size_t body_length = 0;
  if (status == 204 || status == 304) {
    body_length = 0;
  } else if (content_length) {
    if (*content_length > kMaxAnswer) {
      Fail(c, Failure::kParse);
      return true;
    }
    if (c.in_len < body_start + *content_length) {
      if (at_eof) {
        Fail(c, Failure::kClosed);
        return true;
      }
      if (c.in.size() < body_start + *content_length) c.in.resize(body_start + *content_length);
      return false;
    }
    body_length = *content_length;
  } else {
    if (!at_eof) return false;  // the body runs to the end of the connection
    body_length = c.in_len - body_start;
    keep_alive = false;
  }
  if (at_eof) keep_alive = false;
  const std::size_t used = body_start + body_length;
  Deliver(c, Failure::kNone, status, std::string_view(c.in.data() + body_start, body_length));
  // Whatever came after this answer (nothing, without pipelining) stays for the next one.
  if (c.in_len > used) std::memmove(c.in.data(), c.in.data() + used, c.in_len - used);
  c.in_len -= used;
  c.reused = true;
  Release(c, keep_alive);
  return true;
}

void ConnectionPool::Deliver(Connection& c, Failure failure, int status, std::string_view body) {
  const SteadyTime now = clock_.Now();
  Answer answer;
  answer.failure = failure;
  answer.sent = failure != Failure::kConnect;
  answer.status = status;
  answer.body = body;
  answer.latency = now - c.current.issued;
  answer.queued = c.started - c.current.issued;
  --in_flight_;
  const std::uint64_t cookie = c.current.cookie;
  std::string().swap(c.current.text);
  sink_.OnAnswer(cookie, answer);
}

void ConnectionPool::Fail(Connection& c, Failure failure) {
  boost::system::error_code ignored;
  c.socket.close(ignored);
  ++c.generation;
  const bool retry =
      (failure == Failure::kClosed) && c.reused && !c.got_bytes && !c.current.retried && !closed_;
  c.state = Connection::State::kClosed;
  c.in_len = 0;
  if (retry) {
    // The server dropped an idle keep-alive connection as this request went out: it never saw
    // the request. Send it again, first in line, on a fresh connection.
    --in_flight_;
    Pending again = std::move(c.current);
    again.retried = true;
    queue_.push_front(std::move(again));
  } else {
    Deliver(c, failure, 0, {});
  }
  Release(c, /*keep_alive=*/false);
}

void ConnectionPool::Release(Connection& c, bool keep_alive) {
  if (closed_) return;
  if (!keep_alive && c.state != Connection::State::kClosed) {
    boost::system::error_code ignored;
    c.socket.close(ignored);
    ++c.generation;
    c.state = Connection::State::kClosed;
    c.in_len = 0;
  } else if (keep_alive) {
    c.state = Connection::State::kIdle;
  }
  if (!queue_.empty()) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    Start(c, std::move(p), clock_.Now());
    return;
  }
  // Open connections are taken before closed ones (which must connect first).
  if (c.state == Connection::State::kClosed) {
    idle_.insert(idle_.begin(), &c);
  } else {
    idle_.push_back(&c);
  }
}

void ConnectionPool::Sweep(SteadyTime now) {
  if (closed_) return;
  while (!queue_.empty() && now - queue_.front().issued > timeout_) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    Answer answer;
    answer.failure = Failure::kTimeout;
    answer.sent = false;
    answer.latency = now - p.issued;
    answer.queued = answer.latency;
    sink_.OnAnswer(p.cookie, answer);
  }
  for (auto& c : connections_) {
    if ((c->state == Connection::State::kBusy || c->state == Connection::State::kConnecting) &&
        !c->timed_out && now - c->started > timeout_) {
      c->timed_out = true;
      boost::system::error_code ignored;
      c->socket.cancel(ignored);
      c->socket.close(ignored);
    }
  }
}

}  // namespace vwr::loadgen
