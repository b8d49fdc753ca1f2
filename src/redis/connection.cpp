#include "redis/connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>
#include <vector>

#include "util/random.hpp"

namespace vwr::redis::detail {

namespace asio = boost::asio;

Reply CopyReply(const redisReply& reply) {
  Reply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        out.elements.push_back(CopyReply(*reply.element[i]));
      }
      break;
    default:  // REDIS_REPLY_NIL
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

// AUTH or SELECT on a new connection: the connection is ready once all of them succeeded.
class Connection::HandshakeOp final : public Op {
 public:
  HandshakeOp(Connection& connection, std::string what) : connection_(connection), what_(what) {}
  void OnReply(const redisReply* reply, ClientError /*failure*/) override {
    if (reply == nullptr) return;  // the connection is going away anyway
    if (reply->type == REDIS_REPLY_ERROR) {
      connection_.OnHandshakeReply(false, what_ + ": " + std::string(reply->str, reply->len));
    } else {
      connection_.OnHandshakeReply(true, {});
    }
  }

 private:
  Connection& connection_;  // alive: ops die with their context, before the connection
  std::string what_;
};

Connection::Connection(asio::io_context& ioc, const util::Clock& clock, Endpoint endpoint,
                       const ClientOptions& options, bool select_db, Listener& listener,
                       Counters& counters, util::LogLimiter& log)
    : ioc_(ioc),
      clock_(clock),
      endpoint_(std::move(endpoint)),
      name_(endpoint_.ToString()),
      options_(options),
      select_db_(select_db),
      listener_(listener),
      counters_(counters),
      log_(log),
      socket_(ioc),
      connect_timer_(ioc),
      reconnect_timer_(ioc),
      deadline_timer_(ioc) {}

Connection::~Connection() {
  // The owner closes first; this only guards against a context outliving its hooks' target.
  if (ac_ != nullptr) Close(ClientError::kStopped);
}

void Connection::Start() {
  if (state_ != State::kIdle) return;
  Connect();
}

void Connection::Close(ClientError reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  close_reason_ = reason;
  connect_timer_.cancel();
  reconnect_timer_.cancel();
  deadline_timer_.cancel();
  if (ac_ != nullptr) {
    // Runs every pending hiredis callback with no reply (our ops fail with `reason`), then the
    // cleanup hook, which releases the fd, then closes the fd.
    redisAsyncFree(ac_);
  }
  while (!in_flight_.empty()) {  // none expected: hiredis answered them all above
    std::unique_ptr<Op> op = std::move(in_flight_.front());
    in_flight_.pop_front();
    op->OnReply(nullptr, reason);
  }
}

void Connection::Connect() {
  state_ = State::kConnecting;
  // Note: for a host name this resolves synchronously (hiredis 0.14 has no async resolver); the
  // redis thread is ours alone, and cluster nodes announce themselves by IP.
  redisAsyncContext* ac = redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
  if (ac == nullptr || ac->err != 0) {
    const std::string why = ac == nullptr ? "out of memory" : ac->errstr;
    if (ac != nullptr) redisAsyncFree(ac);  // no hooks yet: hiredis closes its fd itself
    asio::post(ioc_, [self = shared_from_this(), why] {
      if (self->state_ == State::kConnecting) self->AfterContextGone(false, why);
    });
    state_ = State::kConnecting;
    return;
  }
  boost::system::error_code ec;
  socket_.assign(ac->c.fd, ec);
  if (ec) {
    redisAsyncFree(ac);
    asio::post(ioc_, [self = shared_from_this(), why = ec.message()] {
      if (self->state_ == State::kConnecting) self->AfterContextGone(false, why);
    });
    return;
  }
  ac_ = ac;
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = &Connection::AddRead;
  ac->ev.delRead = &Connection::DelRead;
  ac->ev.addWrite = &Connection::AddWrite;
  ac->ev.delWrite = &Connection::DelWrite;
  ac->ev.cleanup = &Connection::Cleanup;
  // Waits for the socket to become writable: that is how hiredis learns the connect finished.
  redisAsyncSetConnectCallback(ac, &Connection::OnConnect);

  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait(
      [self = shared_from_this(), generation = generation_](boost::system::error_code wait_ec) {
        if (wait_ec || self->generation_ != generation || self->state_ != State::kConnecting) {
          return;
        }
        self->Drop("connect timed out");
      });
}

void Connection::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<Connection*>(ac->data);
  // On failure hiredis frees the context right after this returns; the cleanup hook reports it.
  if (status == REDIS_OK) self->OnTcpConnected();
}

void Connection::OnTcpConnected() {
  std::vector<std::vector<std::string>> commands;
  if (!options_.password.empty()) {
    if (options_.username.empty()) {
      commands.push_back({"AUTH", options_.password});
    } else {
      commands.push_back({"AUTH", options_.username, options_.password});
    }
  }
  if (select_db_ && options_.db != 0) commands.push_back({"SELECT", std::to_string(options_.db)});
  if (commands.empty()) {
    BecomeReady();
    return;
  }
  // Pipelined: hiredis writes them back to back, and they are answered before anything else.
  for (const auto& command : commands) {
    ++handshake_pending_;
    if (SendRaw(command, std::make_unique<HandshakeOp>(*this, command.front())) != nullptr) {
      --handshake_pending_;  // the context is going away; the cleanup hook reports it
    }
  }
}

void Connection::OnHandshakeReply(bool ok, const std::string& error) {
  if (state_ != State::kConnecting) return;
  if (!ok) {
    handshake_pending_ = 0;
    std::uint64_t suppressed = 0;
    if (log_.Allow(suppressed)) {
      spdlog::error("redis {}: {} (suppressed {} similar)", name_, error, suppressed);
    }
    // Inside a hiredis callback: free the context from a fresh handler.
    asio::post(ioc_, [self = shared_from_this(), generation = generation_, error] {
      if (self->generation_ == generation && self->state_ == State::kConnecting) {
        self->Drop(error);
      }
    });
    return;
  }
  if (--handshake_pending_ == 0) BecomeReady();
}

void Connection::BecomeReady() {
  state_ = State::kReady;
  connect_timer_.cancel();
  const bool reconnected = ever_ready_;
  if (reconnected) counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
  ever_ready_ = true;
  const int attempts = attempts_;
  attempts_ = 0;
  std::uint64_t suppressed = 0;
  if (log_.Allow(suppressed)) {
    if (reconnected || attempts > 0) {
      spdlog::info("redis {}: connected after {} retries (suppressed {} similar)", name_, attempts,
                   suppressed);
    } else {
      spdlog::info("redis {}: connected (suppressed {} similar)", name_, suppressed);
    }
  }
  asio::post(ioc_, [self = shared_from_this(), generation = generation_] {
    if (self->generation_ == generation && self->state_ == State::kReady) {
      self->listener_.OnConnectionUp(*self);
    }
  });
}

void Connection::Drop(std::string why) {
  if (ac_ == nullptr) return;
  drop_reason_ = std::move(why);
  redisAsyncFree(ac_);  // answers every op (with no reply), then the cleanup hook
}

void Connection::OnContextGone() {
  const bool was_ready = state_ == State::kReady;
  std::string why = drop_reason_;
  if (why.empty()) {
    why = ac_->err != 0 ? ac_->errstr : (ac_->c.err != 0 ? ac_->c.errstr : "connection closed");
  }
  drop_reason_.clear();
  // Never close the fd here: hiredis does, right after this hook.
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  (void)socket_.release();
  ac_ = nullptr;
  ++generation_;
  want_read_ = want_write_ = reading_ = writing_ = false;
  handshake_pending_ = 0;
  deadline_armed_ = false;
  deadline_timer_.cancel();
  connect_timer_.cancel();
  if (state_ == State::kClosed) return;
  state_ = State::kWaiting;
  asio::post(ioc_, [self = shared_from_this(), was_ready, why = std::move(why)] {
    if (self->state_ == State::kWaiting) self->AfterContextGone(was_ready, why);
  });
}

void Connection::AfterContextGone(bool was_ready, const std::string& why) {
  state_ = State::kWaiting;
  // A node that stays down is reported on its 1st, 2nd, 4th, 8th... failed attempt, not on each.
  const bool worth_a_line = was_ready || (attempts_ & (attempts_ + 1)) == 0;
  std::uint64_t suppressed = 0;
  if (worth_a_line && log_.Allow(suppressed)) {
    if (was_ready) {
      spdlog::warn("redis {}: connection lost: {} (suppressed {} similar)", name_, why, suppressed);
    } else {
      spdlog::warn("redis {}: connect failed: {} (attempt {}; suppressed {} similar)", name_, why,
                   attempts_ + 1, suppressed);
    }
  }
  listener_.OnConnectionDown(*this, was_ready);
  if (state_ == State::kWaiting) ScheduleReconnect();  // the listener may have closed us
}

void Connection::ScheduleReconnect() {
  using std::chrono::milliseconds;
  const int exponent = std::min(attempts_, 20);
  ++attempts_;
  const auto ceiling = std::min<milliseconds::rep>(options_.reconnect_max.count(),
                                                   options_.reconnect_min.count() << exponent);
  // Jitter down by up to half, so that the connections of many nodes do not retry in step.
  const auto delay = milliseconds(static_cast<milliseconds::rep>(
      static_cast<double>(ceiling) * (0.5 + 0.5 * util::FastUniform())));
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->state_ == State::kWaiting) self->Connect();
  });
}

std::unique_ptr<Op> Connection::Send(std::span<const std::string> args, std::unique_ptr<Op> op) {
  if (state_ != State::kReady) return op;
  return SendRaw(args, std::move(op));
}

std::unique_ptr<Op> Connection::SendRaw(std::span<const std::string> args, std::unique_ptr<Op> op) {
  if (ac_ == nullptr || args.empty()) return op;
  // Small commands need no heap for the argument vectors.
  constexpr std::size_t kInline = 16;
  const char* argv_inline[kInline];
  std::size_t len_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> len_heap;
  const char** argv = argv_inline;
  std::size_t* lens = len_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    len_heap.resize(args.size());
    argv = argv_heap.data();
    lens = len_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  // hiredis copies the formatted command into its output buffer and queues the callback.
  if (redisAsyncCommandArgv(ac_, &Connection::OnReplyThunk, op.get(), static_cast<int>(args.size()),
                            argv, lens) != REDIS_OK) {
    return op;
  }
  Track(std::move(op));
  return nullptr;
}

void Connection::Track(std::unique_ptr<Op> op) {
  const TimePoint deadline = op->deadline;
  in_flight_.push_back(std::move(op));
  if (in_flight_.size() > peak_in_flight_) {
    peak_in_flight_ = in_flight_.size();
    std::uint64_t seen = counters_.max_in_flight.load(std::memory_order_relaxed);
    while (seen < peak_in_flight_ && !counters_.max_in_flight.compare_exchange_weak(
                                         seen, peak_in_flight_, std::memory_order_relaxed)) {
    }
  }
  if (deadline != TimePoint::max() && (!deadline_armed_ || deadline < deadline_at_)) {
    ArmDeadline(deadline);
  }
}

void Connection::ArmDeadline(TimePoint at) {
  deadline_armed_ = true;
  deadline_at_ = at;
  deadline_timer_.expires_after(at - clock_.Now());
  deadline_timer_.async_wait(
      [self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
        if (ec || self->generation_ != generation) return;
        self->OnDeadline();
      });
}

// One timer per connection rather than one per command: it is armed for the earliest deadline
// and, when it fires, looks at them all (mostly it finds the oldest answered and re-arms for the
// next one, about once per command_timeout).
void Connection::OnDeadline() {
  deadline_armed_ = false;
  const TimePoint now = clock_.Now();
  std::size_t late = 0;
  TimePoint next = TimePoint::max();
  for (const auto& op : in_flight_) {
    if (op->deadline <= now) {
      op->timed_out = true;
      ++late;
    } else {
      next = std::min(next, op->deadline);
    }
  }
  if (late == 0) {
    if (next != TimePoint::max()) ArmDeadline(next);
    return;
  }
  counters_.timeouts.fetch_add(late, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  if (log_.Allow(suppressed)) {
    spdlog::warn(
        "redis {}: {} of {} commands in flight timed out; reconnecting (suppressed {} similar)",
        name_, late, in_flight_.size(), suppressed);
  }
  Drop("command timed out");
}

void Connection::OnReplyThunk(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<Connection*>(ac->data);
  auto& in_flight = self->in_flight_;
  auto it = in_flight.begin();
  if (it == in_flight.end() || it->get() != privdata) {
    // hiredis answers in the order commands were sent; find it anyway rather than trust that.
    it = std::find_if(in_flight.begin(), in_flight.end(),
                      [privdata](const auto& op) { return op.get() == privdata; });
    if (it == in_flight.end()) return;
  }
  std::unique_ptr<Op> op = std::move(*it);
  in_flight.erase(it);
  const ClientError failure = op->timed_out ? ClientError::kTimeout : self->close_reason_;
  op->OnReply(static_cast<const redisReply*>(reply), failure);
}

void Connection::AddRead(void* self) {
  auto* c = static_cast<Connection*>(self);
  c->want_read_ = true;
  c->ArmRead();
}

void Connection::DelRead(void* self) { static_cast<Connection*>(self)->want_read_ = false; }

void Connection::AddWrite(void* self) {
  auto* c = static_cast<Connection*>(self);
  c->want_write_ = true;
  c->ArmWrite();
}

void Connection::DelWrite(void* self) { static_cast<Connection*>(self)->want_write_ = false; }

void Connection::Cleanup(void* self) { static_cast<Connection*>(self)->OnContextGone(); }

void Connection::ArmRead() {
  if (reading_ || ac_ == nullptr) return;
  reading_ = true;
  socket_.async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
        if (self->generation_ != generation) return;
        self->reading_ = false;
        if (ec || self->ac_ == nullptr) return;
        if (self->want_read_) redisAsyncHandleRead(self->ac_);
        // The context may be gone now (EOF, error): then the generation moved on.
        if (self->generation_ == generation && self->want_read_) self->ArmRead();
      });
}

void Connection::ArmWrite() {
  if (writing_ || ac_ == nullptr) return;
  writing_ = true;
  socket_.async_wait(
      asio::posix::stream_descriptor::wait_write,
      [self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
        if (self->generation_ != generation) return;
        self->writing_ = false;
        if (ec || self->ac_ == nullptr) return;
        if (self->want_write_) redisAsyncHandleWrite(self->ac_);
        if (self->generation_ == generation && self->want_write_) {
          self->ArmWrite();
        }
      });
}

}  // namespace vwr::redis::detail
