#pragma once

#include <unistd.h>

#include <filesystem>
#include <string_view>
#include <utility>

// The few POSIX file steps that durable writes are made of (the journal, key files, the guard
// lists), each retried and checked the same way everywhere.
namespace vwr::util {

// Owns a file descriptor: closes it on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Writes all of `data` to `fd`, through short writes and EINTR. False on an error (errno set).
bool WriteAll(int fd, std::string_view data);

// fsync of the directory `dir` (empty: the current one), so that a file created, renamed or
// linked in it survives a power failure. False on an error (errno set).
bool SyncDirectory(const std::filesystem::path& dir);

// mkdir -p; the directories it creates get mode 0700. 0 on success, else the errno of the step
// that failed (ENOTDIR when something on the way exists and is not a directory), and `failed`
// (when given) names the directory it could not make.
int CreatePrivateDirectories(const std::filesystem::path& dir,
                             std::filesystem::path* failed = nullptr);

}  // namespace vwr::util
