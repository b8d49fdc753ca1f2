#pragma once

// Real redis-server processes for the Redis client tests: one server on a free loopback port, or
// a cluster made with redis-cli --cluster create. Nothing here mocks Redis.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis/client.hpp"
#include "redis/options.hpp"
#include "util/clock.hpp"

namespace vwr::redis::testing {

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// How many file descriptors this process has open.
inline std::size_t OpenFds() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

inline bool PortIsFree(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

// A port that is free now, below 55536 so that a cluster node's bus port (port + 10000) exists,
// which must be free too. Tests run in parallel processes, so it is random, not sequential.
inline std::uint16_t FreePort() {
  static std::mt19937 random(static_cast<unsigned>(::getpid()) ^
                             static_cast<unsigned>(std::random_device{}()));
  std::uniform_int_distribution<int> pick(20000, 45000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (PortIsFree(port) && PortIsFree(static_cast<std::uint16_t>(port + 10000))) return port;
  }
  ADD_FAILURE() << "no free port";
  return 0;
}

// The reply to a blocking command, as text: "PONG", "42", "(nil)", "ERR ...", or the elements
// joined by '\n' for an array. For the tests' own set-up and checks.
inline std::string ReplyText(const redisReply* reply) {
  if (reply == nullptr) return "(no reply)";
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(reply->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < reply->elements; ++i) {
        if (i > 0) out += '\n';
        out += ReplyText(reply->element[i]);
      }
      return out;
    }
    default:
      return std::string(reply->str, reply->len);
  }
}

// One blocking command on a fresh connection.
inline std::string RunCommand(std::uint16_t port, const std::vector<std::string>& args,
                              const std::string& password = {}) {
  timeval timeout{2, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (context == nullptr || context->err != 0) {
    if (context != nullptr) redisFree(context);
    return "(no connection)";
  }
  redisSetTimeout(context, timeout);
  auto run = [&](const std::vector<std::string>& command) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lens.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string text = ReplyText(reply);
    if (reply != nullptr) freeReplyObject(reply);
    return text;
  };
  if (!password.empty()) run({"AUTH", password});
  std::string text = run(args);
  redisFree(context);
  return text;
}

// A redis-server on 127.0.0.1, started in a temporary directory of its own; killed (SIGKILL) at
// the end of the test.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra_args = {}, std::string password = {})
      : extra_args_(std::move(extra_args)), password_(std::move(password)) {
    char dir_template[] = "/tmp/vwr-redis-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = FreePort();
      if (!Launch()) port_ = 0;  // lost a race for the port: try another
    }
    if (pid_ <= 0) ADD_FAILURE() << "redis-server did not start; see " << dir_ << "/redis.log";
  }

  ~RedisServer() {
    Kill();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

  // Kills the server at once, as a crash would (no shutdown, no goodbye to clients).
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Starts it again on the same port (and, in a cluster, with the same node config).
  bool Restart() {
    Kill();
    return Launch();
  }

  std::string Run(const std::vector<std::string>& args) const {
    return RunCommand(port_, args, password_);
  }

 private:
  bool Launch() {
    std::vector<std::string> args = {
        "redis-server", "--port",    std::to_string(port_), "--bind", "127.0.0.1",
        "--save",       "",          "--appendonly",        "no",     "--dir",
        dir_,           "--logfile", dir_ + "/redis.log"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    // Built before fork: the child of a threaded process may only call async-signal-safe
    // functions, and malloc is not one.
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    const bool up = Eventually(
        [&] {
          if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: the port was taken
            pid_ = -1;
            return true;
          }
          return Run({"PING"}) == "PONG";
        },
        std::chrono::seconds(10));
    if (!up || pid_ <= 0) {
      Kill();
      return false;
    }
    return true;
  }

  std::vector<std::string> extra_args_;
  std::string password_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// A Redis Cluster on loopback: `masters` masters, each with `replicas` replicas, made by
// redis-cli --cluster create. Nodes time out after 1 s (instead of 15 s) so that a failover
// takes a second or two, and replicas may always take over (validity factor 0).
class RedisCluster {
 public:
  RedisCluster(int masters, int replicas) {
    const std::vector<std::string> args = {"--cluster-enabled",
                                           "yes",
                                           "--cluster-config-file",
                                           "nodes.conf",
                                           "--cluster-node-timeout",
                                           "1000",
                                           "--cluster-replica-validity-factor",
                                           "0"};
    std::string command = "redis-cli --cluster create";
    for (int i = 0; i < masters * (1 + replicas); ++i) {
      nodes_.push_back(std::make_unique<RedisServer>(args));
      command += " 127.0.0.1:" + std::to_string(nodes_.back()->port());
    }
    const std::string log = nodes_.front()->dir() + "/create.log";
    command +=
        " --cluster-replicas " + std::to_string(replicas) + " --cluster-yes >" + log + " 2>&1";
    if (std::system(command.c_str()) != 0) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      ADD_FAILURE() << "redis-cli --cluster create failed:\n" << text.str();
      return;
    }
    const std::string known = "cluster_known_nodes:" + std::to_string(nodes_.size());
    const bool ok = Eventually(
        [&] {
          for (const auto& node : nodes_) {
            const std::string info = node->Run({"CLUSTER", "INFO"});
            if (info.find("cluster_state:ok") == std::string::npos ||
                info.find(known) == std::string::npos) {
              return false;
            }
            const std::string replication = node->Run({"INFO", "replication"});
            if (replication.find("role:slave") != std::string::npos &&
                replication.find("master_link_status:up") == std::string::npos) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(30));
    if (!ok) ADD_FAILURE() << "the cluster did not become ok";
  }

  std::vector<Endpoint> seeds() const {
    std::vector<Endpoint> out;
    for (const auto& node : nodes_) out.push_back(node->endpoint());
    return out;
  }

  std::size_t size() const { return nodes_.size(); }
  RedisServer& node(std::size_t i) { return *nodes_[i]; }

  // The node that serves `slot` now, as some live node reports it; nullptr if none knows.
  RedisServer* MasterOf(std::uint16_t slot) {
    for (const auto& asker : nodes_) {
      if (!asker->running()) continue;
      const std::string id = asker->Run({"CLUSTER", "NODES"});
      std::istringstream lines(id);
      std::string line;
      while (std::getline(lines, line)) {
        // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
        std::istringstream fields(line);
        std::string node_id, address, flags, skip;
        fields >> node_id >> address >> flags;
        if (flags.find("master") == std::string::npos || flags.find("fail") != std::string::npos)
          continue;
        for (int i = 0; i < 5; ++i) fields >> skip;
        std::string range;
        while (fields >> range) {
          if (range.front() == '[') continue;  // a migration in progress
          const std::size_t dash = range.find('-');
          const int first = std::stoi(range.substr(0, dash));
          const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
          if (slot >= first && slot <= last) {
            const int port = std::stoi(address.substr(address.find(':') + 1));
            for (const auto& node : nodes_) {
              if (node->port() == port) return node.get();
            }
          }
        }
      }
      return nullptr;
    }
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

// A Client with its own redis thread, as the store will run it, plus blocking helpers.
class ClientHarness {
 public:
  explicit ClientHarness(ClientOptions options, bool start = true)
      : work_(ioc_.get_executor()),
        client_(std::make_unique<Client>(ioc_, std::move(options), util::SystemClock::Instance())) {
    thread_ = std::thread([this] { ioc_.run(); });
    if (start) client_->Start();
  }

  ~ClientHarness() {
    client_->Stop();
    work_.reset();
    // A stopped client leaves no timer or wait behind, so the redis thread runs out of work.
    if (!Eventually([&] { return ioc_.stopped(); }, std::chrono::seconds(5))) {
      ADD_FAILURE() << "the io_context still has work 5 s after Stop()";
      ioc_.stop();
    }
    thread_.join();
    client_.reset();
  }

  Client& client() { return *client_; }
  boost::asio::io_context& ioc() { return ioc_; }

  // Sends one command and waits for its callback.
  boost::system::result<Reply> Run(std::vector<std::string> args, std::string key = {}) {
    auto promise = std::make_shared<std::promise<boost::system::result<Reply>>>();
    auto future = promise->get_future();
    client_->Command(
        std::move(args), std::move(key),
        [promise](boost::system::result<Reply> result) { promise->set_value(std::move(result)); });
    return Wait(future);
  }

  boost::system::result<Reply> Eval(const Script& script, std::vector<std::string> keys,
                                    std::vector<std::string> args = {}) {
    auto promise = std::make_shared<std::promise<boost::system::result<Reply>>>();
    auto future = promise->get_future();
    client_->Eval(
        script, std::move(keys), std::move(args),
        [promise](boost::system::result<Reply> result) { promise->set_value(std::move(result)); });
    return Wait(future);
  }

  bool WaitConnected(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return Eventually([&] { return client_->connected(); }, timeout);
  }

 private:
  static boost::system::result<Reply> Wait(std::future<boost::system::result<Reply>>& future) {
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "no callback within 20 s";
      return boost::system::error_code(ClientError::kTimeout);
    }
    return future.get();
  }

  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<Client> client_;
  std::thread thread_;
};

// A single-Redis ClientOptions for `server`, with short timeouts so that tests stay quick.
inline ClientOptions OptionsFor(const RedisServer& server) {
  ClientOptions options;
  options.seeds = {server.endpoint()};
  options.connect_timeout = std::chrono::milliseconds(500);
  options.command_timeout = std::chrono::milliseconds(2000);
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  return options;
}

}  // namespace vwr::redis::testing
