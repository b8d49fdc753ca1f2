#pragma once

// Real PostgreSQL, MariaDB and Prometheus servers for the signal probes' tests: each started
// from its Debian package on a free loopback port, with its data in a temporary directory of
// its own, and killed at the end of the test. Run as the current user, or, when that is root
// (PostgreSQL refuses to run as root), as the package's own system user. Nothing here mocks a
// server. A test skips with a clear message only when the package is not installed.

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vwr::testing {

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
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

// A loopback port free now; random, since test processes run in parallel.
inline std::uint16_t FreePort() {
  static std::mt19937 random(static_cast<unsigned>(::getpid()) ^
                             static_cast<unsigned>(std::random_device{}()));
  std::uniform_int_distribution<int> pick(20000, 60000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (PortIsFree(port)) return port;
  }
  ADD_FAILURE() << "no free port";
  return 0;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Who a server runs as: nobody to change when not root; else the package's user.
struct RunAs {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;

  static RunAs For(const char* system_user) {
    RunAs as;
    if (::geteuid() != 0) return as;
    if (const passwd* pw = ::getpwnam(system_user)) {
      as.uid = pw->pw_uid;
      as.gid = pw->pw_gid;
    }
    return as;
  }
  void Own(const std::string& path) const {
    if (uid) {
      if (::chown(path.c_str(), *uid, *gid) != 0) ADD_FAILURE() << "chown " << path;
    }
  }
};

// Starts `args` with stdout and stderr into `log`; returns the pid (or -1).
inline pid_t Spawn(std::vector<std::string> args, const std::string& log, const RunAs& as) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child of a threaded process: only async-signal-safe calls until exec.
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  ::setsid();
  if (as.gid) {
    ::setgroups(0, nullptr);
    if (::setgid(*as.gid) != 0) ::_exit(126);
  }
  if (as.uid && ::setuid(*as.uid) != 0) ::_exit(126);
  ::execvp(argv[0], argv.data());
  ::_exit(127);
}

// Runs `args` to completion; its exit status (or -1).
inline int RunToEnd(std::vector<std::string> args, const std::string& log, const RunAs& as) {
  const pid_t pid = Spawn(std::move(args), log, as);
  if (pid < 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ServerProcess {
 public:
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() {
    Kill();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  // Kills it at once, as a crash would, with the processes it started (PostgreSQL's backends
  // are process groups of their own).
  void Kill() {
    if (pid_ <= 0) return;
    const std::string children = "pkill -KILL -P " + std::to_string(pid_) + " 2>/dev/null";
    if (std::system(children.c_str()) < 0) ADD_FAILURE() << "pkill";
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }
  std::string log() const { return ReadWholeFile(dir_ + "/server.log"); }

 protected:
  explicit ServerProcess(const char* name) {
    std::string dir_template = std::string("/tmp/vwr-") + name + "-XXXXXX";
    dir_ = ::mkdtemp(dir_template.data());
    ::chmod(dir_.c_str(), 0755);
  }
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// PostgreSQL: initdb with a password for TCP (scram-sha-256) and trust on the Unix socket.
class PostgresServer : public ServerProcess {
 public:
  static std::optional<std::string> Binaries() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(entry.path() / "bin/postgres"))
        return (entry.path() / "bin").string();
    }
    return std::nullopt;
  }

  explicit PostgresServer(std::string password)
      : ServerProcess("pg"), password_(std::move(password)) {
    const auto bin = Binaries();
    if (!bin) return;
    const RunAs as = RunAs::For("postgres");
    as.Own(dir_);
    const std::string pwfile = dir_ + "/pw";
    std::ofstream(pwfile) << password_ << "\n";
    as.Own(pwfile);
    if (RunToEnd({*bin + "/initdb", "-D", dir_ + "/data", "-U", "vwr", "--auth-host=scram-sha-256",
                  "--auth-local=trust", "--pwfile=" + pwfile, "--no-sync", "-E", "UTF8"},
                 dir_ + "/server.log", as) != 0) {
      ADD_FAILURE() << "initdb failed:\n" << log();
      return;
    }
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = FreePort();
      pid_ = Spawn({*bin + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k",
                    dir_, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                    "max_connections=20", "-c", "shared_buffers=16MB"},
                   dir_ + "/server.log", as);
      const bool up = Eventually(
          [&] {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
              pid_ = -1;
              return true;
            }
            return PQping(conninfo().c_str()) == PQPING_OK;
          },
          std::chrono::seconds(30));
      if (!up) Kill();
    }
    if (pid_ <= 0) ADD_FAILURE() << "postgres did not start:\n" << log();
  }

  // Without the password (the probe takes it from a credential).
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=vwr";
  }
  // A connection of the test's own, over the Unix socket (trusted).
  PGconn* Connect() const {
    const std::string info =
        "host=" + dir_ + " port=" + std::to_string(port_) + " dbname=postgres user=vwr";
    PGconn* conn = PQconnectdb(info.c_str());
    if (PQstatus(conn) != CONNECTION_OK) ADD_FAILURE() << PQerrorMessage(conn);
    return conn;
  }

 private:
  std::string password_;
};

// MariaDB: mariadb-install-db, then a user `vwr` with a password, reached over TCP.
class MariadbServer : public ServerProcess {
 public:
  static bool Installed() { return std::filesystem::exists("/usr/sbin/mariadbd"); }

  explicit MariadbServer(std::string password) : ServerProcess("mariadb") {
    const RunAs as = RunAs::For("mysql");
    as.Own(dir_);
    const std::string user = as.uid ? "mysql" : ::getpwuid(::geteuid())->pw_name;
    if (RunToEnd(
            {"mariadb-install-db", "--no-defaults", "--datadir=" + dir_ + "/data", "--user=" + user,
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"},
            dir_ + "/install.log", as) != 0) {
      ADD_FAILURE() << "mariadb-install-db failed:\n" << ReadWholeFile(dir_ + "/install.log");
      return;
    }
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = FreePort();
      pid_ = Spawn(
          {"/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + dir_ + "/data",
           "--port=" + std::to_string(port_), "--bind-address=127.0.0.1", "--socket=" + socket(),
           "--pid-file=" + dir_ + "/mariadb.pid", "--user=" + user, "--skip-name-resolve",
           "--innodb-buffer-pool-size=16M", "--max-connections=30", "--skip-log-bin"},
          dir_ + "/server.log", as);
      const bool up = Eventually(
          [&] {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
              pid_ = -1;
              return true;
            }
            MYSQL* m = RootConnection();
            if (m == nullptr) return false;
            mysql_close(m);
            return true;
          },
          std::chrono::seconds(60));
      if (!up) Kill();
    }
    if (pid_ <= 0) {
      ADD_FAILURE() << "mariadbd did not start:\n" << log();
      return;
    }
    MYSQL* root = RootConnection();
    for (const std::string& sql : {"CREATE USER 'vwr'@'127.0.0.1' IDENTIFIED BY '" + password + "'",
                                  std::string("GRANT PROCESS ON *.* TO 'vwr'@'127.0.0.1'")}) {
      if (mysql_query(root, sql.c_str()) != 0) ADD_FAILURE() << mysql_error(root);
    }
    mysql_close(root);
  }

  std::string socket() const { return dir_ + "/mariadb.sock"; }
  // root over the Unix socket, for the test's own set-up; nullptr when not up.
  MYSQL* RootConnection() const {
    MYSQL* m = mysql_init(nullptr);
    unsigned int timeout = 2;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (mysql_real_connect(m, "localhost", "root", "", nullptr, 0, socket().c_str(), 0) ==
        nullptr) {
      mysql_close(m);
      return nullptr;
    }
    return m;
  }
};

// Prometheus scraping itself every second.
class PrometheusServer : public ServerProcess {
 public:
  static bool Installed() { return std::filesystem::exists("/usr/bin/prometheus"); }

  PrometheusServer() : ServerProcess("prometheus") {
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = FreePort();
      std::ofstream(dir_ + "/prometheus.yml")
          << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
          << "scrape_configs:\n  - job_name: self\n    static_configs:\n"
          << "      - targets: ['127.0.0.1:" << port_ << "']\n";
      pid_ = Spawn({"prometheus", "--config.file=" + dir_ + "/prometheus.yml",
                    "--storage.tsdb.path=" + dir_ + "/data",
                    "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
                   dir_ + "/server.log", RunAs{});
      const bool up = Eventually(
          [&] {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
              pid_ = -1;
              return true;
            }
            return !PortIsFree(port_) &&
                   log().find("Server is ready to receive web requests") != std::string::npos;
          },
          std::chrono::seconds(60));
      if (!up) Kill();
    }
    if (pid_ <= 0) ADD_FAILURE() << "prometheus did not start:\n" << log();
  }

  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
};

}  // namespace vwr::testing
