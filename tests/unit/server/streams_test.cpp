// Answers that go on (http::StreamOpener, Server-Sent Events): the head without a length, then
// chunks from the source's ticks; the stream ends when the source says so, when the client
// leaves, and when the server stops; a listener keeps no more open than it allows, and counts
// them in what /metrics shows.
#include <gtest/gtest.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "http/errors.hpp"
#include "server/http_server.hpp"

namespace vwr::server {
namespace {

using std::chrono::milliseconds;

// Gives "tick N\n" at every tick; says the end after `limit` of them (0: never).
class Ticks final : public http::StreamSource {
 public:
  explicit Ticks(int limit) : limit_(limit) {}
  bool Next(std::string& out) override {
    ++sent_;
    out += "tick " + std::to_string(sent_) + "\n";
    return limit_ == 0 || sent_ < limit_;
  }
  void Ended() override {
    std::lock_guard lock(mu_);
    ++ended_;
    cv_.notify_all();
  }
  // Whether Ended() came within a few seconds; and how often.
  bool AwaitEnded() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return ended_ > 0; });
  }
  int ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }

 private:
  int limit_;
  int sent_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  int ended_ = 0;
};

// /stream?n: a stream of n ticks (0: endless); anything else 200 {}.
class Streaming final : public http::Handler {
 public:
  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override {
    const std::string_view target = request.target();
    if (!target.starts_with("/stream")) {
      return respond(http::MakeJson(http::status::ok, "{}", request.version(), true));
    }
    auto source = std::make_shared<Ticks>(std::stoi(std::string(target.substr(8))));
    if (connection.streams == nullptr || !connection.streams->Open(source, milliseconds(20))) {
      return respond(
          http::MakeError(http::ApiError::kUnavailable, "full", request.version(), true));
    }
    {
      std::lock_guard lock(mu);
      last = source;
    }
    http::Response head{http::status::ok, request.version()};
    head.set(http::field::content_type, "text/event-stream");
    respond(std::move(head));
  }
  std::mutex mu;
  std::shared_ptr<Ticks> last;
};

// A blocking client that reads whatever comes within a deadline.
class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  void Send(std::string_view text) { (void)!::write(fd_, text.data(), text.size()); }
  // Reads until `text` has come (true), or the connection closed or 5 s passed (false).
  bool ReadUntil(std::string_view text) {
    while (received.find(text) == std::string::npos) {
      if (!ReadSome()) return false;
    }
    return true;
  }
  // Reads until the server closes (true) or 5 s pass (false).
  bool ReadToEnd() {
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return false;
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return true;
      received.append(buf, static_cast<std::size_t>(n));
    }
  }
  std::string received;

 private:
  bool ReadSome() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    received.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
};

std::string Get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

std::string Metric(const http::ApiMetrics& metrics, std::string_view name) {
  std::string text;
  metrics.Render(text);
  const std::string prefix = std::string(name) + "{";
  const std::size_t at = text.find(prefix);
  return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
}

class StreamsTest : public ::testing::Test {
 protected:
  void Start(std::size_t max_streams) {
    spdlog::set_level(spdlog::level::warn);
    ListenerOptions options;
    options.name = "admin";
    options.endpoint = tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    options.handler = &handler_;
    options.metrics = &metrics_;
    options.max_streams = max_streams;
    const auto bound = server_.AddListener(options);
    ASSERT_TRUE(bound) << bound.error().message();
    port_ = bound->port();
    server_.Start();
  }
  std::shared_ptr<Ticks> Last() {
    std::lock_guard lock(handler_.mu);
    return handler_.last;
  }

  util::FakeClock clock_;
  http::ApiMetrics metrics_;
  Streaming handler_;
  HttpServer server_{1, clock_};
  std::uint16_t port_ = 0;
};

TEST_F(StreamsTest, TheHeadHasNoLengthThenChunksUntilTheSourceEnds) {
  Start(4);
  Client client(port_);
  ASSERT_TRUE(client.connected());
  client.Send(Get("/stream?3"));
  ASSERT_TRUE(client.ReadToEnd()) << client.received;
  const std::string& r = client.received;
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.find("Content-Length"), std::string::npos) << r;
  EXPECT_NE(r.find("Cache-Control: no-store\r\n"), std::string::npos) << r;
  const std::string body = r.substr(r.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, "7\r\ntick 1\n\r\n7\r\ntick 2\n\r\n7\r\ntick 3\n\r\n0\r\n\r\n");
  ASSERT_TRUE(Last()->AwaitEnded());
  EXPECT_EQ(Last()->ended(), 1);
  EXPECT_EQ(Metric(metrics_, "vwr_http_streams"), R"(vwr_http_streams{listener="admin"} 0)");
  server_.Stop(milliseconds(1000));
}

TEST_F(StreamsTest, AClientLeavingEndsItsStreamAndGivesItsPlaceBack) {
  Start(1);
  {
    Client client(port_);
    client.Send(Get("/stream?0"));
    ASSERT_TRUE(client.ReadUntil("tick 2\n"));
    EXPECT_EQ(Metric(metrics_, "vwr_http_streams"), R"(vwr_http_streams{listener="admin"} 1)");
  }
  ASSERT_TRUE(Last()->AwaitEnded()) << "the stream noticed the client leaving";
  EXPECT_EQ(Last()->ended(), 1);
  EXPECT_EQ(Metric(metrics_, "vwr_http_streams"), R"(vwr_http_streams{listener="admin"} 0)");
  // Its place is free again.
  Client next(port_);
  next.Send(Get("/stream?1"));
  ASSERT_TRUE(next.ReadToEnd());
  EXPECT_NE(next.received.find("tick 1\n"), std::string::npos) << next.received;
  server_.Stop(milliseconds(1000));
}

TEST_F(StreamsTest, ManyStreamsBeyondTheLimitAreRefusedAndCounted) {
  Start(2);
  std::vector<std::unique_ptr<Client>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<Client>(port_));
    open.back()->Send(Get("/stream?0"));
    ASSERT_TRUE(open.back()->ReadUntil("tick 1\n"));
  }
  for (int i = 0; i < 20; ++i) {
    Client refused(port_);
    refused.Send(Get("/stream?0"));
    ASSERT_TRUE(refused.ReadUntil("\"full\"")) << refused.received;
    EXPECT_TRUE(refused.received.starts_with("HTTP/1.1 503")) << refused.received;
  }
  EXPECT_EQ(Metric(metrics_, "vwr_http_streams"), R"(vwr_http_streams{listener="admin"} 2)");
  EXPECT_EQ(Metric(metrics_, "vwr_http_streams_refused_total"),
            R"(vwr_http_streams_refused_total{listener="admin"} 20)");
  // Other requests are served meanwhile.
  Client plain(port_);
  plain.Send(Get("/plain"));
  EXPECT_TRUE(plain.ReadUntil("{}"));
  server_.Stop(milliseconds(1000));
}

TEST_F(StreamsTest, StoppingTheServerEndsEveryStreamCleanlyAndAtOnce) {
  Start(4);
  Client client(port_);
  client.Send(Get("/stream?0"));
  ASSERT_TRUE(client.ReadUntil("tick 1\n"));
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(server_.Stop(milliseconds(3000))) << "no stream held the stop up to its deadline";
  EXPECT_LT(std::chrono::steady_clock::now() - before, milliseconds(2000));
  ASSERT_TRUE(client.ReadToEnd());
  EXPECT_TRUE(client.received.ends_with("\r\n0\r\n\r\n")) << client.received;
  EXPECT_EQ(Last()->ended(), 1);
}

TEST_F(StreamsTest, WithoutRoomForStreamsNoneIsOpened) {
  Start(0);
  Client client(port_);
  client.Send(Get("/stream?1"));
  ASSERT_TRUE(client.ReadUntil("\"full\""));
  EXPECT_TRUE(client.received.starts_with("HTTP/1.1 503")) << client.received;
  server_.Stop(milliseconds(1000));
}

}  // namespace
}  // namespace vwr::server
