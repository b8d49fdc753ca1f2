#include "util/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace vwr::util {
namespace {

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Owned by the user vwr runs as, or by root.
bool TrustedOwner(uid_t owner) { return owner == ::geteuid() || owner == 0; }

// `what`: "a file", "a directory"; `can`: what its owner could do to vwr's files.
std::string OwnerProblem(const std::filesystem::path& path, uid_t owner, std::string_view what,
                         std::string_view can) {
  const std::string me = std::to_string(::geteuid());
  return std::string(what) + " owned by uid " + std::to_string(owner) +
         ", neither the user vwr runs as (uid " + me + ") nor root, so that user can " +
         std::string(can) + "; check it, then: chown " + me + " " + path.string();
}

// The directory holding `path`: "." for a bare file name.
std::filesystem::path DirectoryOf(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

}  // namespace

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  errno = error;
  return synced;
}

int CreatePrivateDirectories(const std::filesystem::path& dir, std::filesystem::path* failed) {
  if (dir.empty()) return 0;
  auto fail = [&](int error) {
    if (failed != nullptr) *failed = dir;
    return error;
  };
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? 0 : fail(ENOTDIR);
  if (errno != ENOENT) return fail(errno);
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (const int error = CreatePrivateDirectories(dir.parent_path(), failed); error != 0) {
      return error;
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0) return errno == EEXIST ? 0 : fail(errno);
  // The umask may have cleared bits of 0700 (the owner's own, with an odd one): set it whole.
  if (::chmod(dir.c_str(), 0700) != 0) return fail(errno);
  return 0;
}

Fd CreateFile(const std::filesystem::path& path, mode_t mode, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return fd;
  if (::fchmod(fd.get(), mode) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    errno = error;
    return Fd(-1);
  }
  return fd;
}

Fd OpenOrCreateFile(const std::filesystem::path& path, mode_t mode, int flags) {
  for (;;) {
    Fd created = CreateFile(path, mode, flags);
    if (created.valid() || errno != EEXIST) return created;
    Fd existing(::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW));
    // Removed between the two: try to create it again.
    if (existing.valid() || errno != ENOENT) return existing;
  }
}

int CreatePrivateFileIfMissing(const std::filesystem::path& path) {
  return OpenOrCreateFile(path, 0600, O_RDWR).valid() ? 0 : errno;
}

int LockExclusive(int fd, std::chrono::milliseconds within) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno != EWOULDBLOCK && errno != EINTR) return errno;
  // Busy: a helper thread waits in flock() for the holder to let go. It owns a duplicate of the
  // descriptor, so the caller may give up (and close `fd`) while the helper still waits.
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int error = 0;
  };
  auto wait = std::make_shared<Wait>();
  const int helper_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (helper_fd < 0) return errno;
  std::thread([wait, helper_fd] {
    int error = 0;
    while (::flock(helper_fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        error = errno;
        break;
      }
    }
    // The lock belongs to the open file, which `fd` still refers to (or, when the caller gave
    // up and closed it, nothing does once this closes: the lock goes with it).
    ::close(helper_fd);
    std::lock_guard lock(wait->mu);
    wait->done = true;
    wait->error = error;
    wait->cv.notify_all();
  }).detach();
  std::unique_lock lock(wait->mu);
  if (!wait->cv.wait_for(lock, within, [&] { return wait->done; })) return EWOULDBLOCK;
  return wait->error;
}

std::optional<std::string> CheckPrivateFile(int fd, const std::filesystem::path& path,
                                            FileSecrecy secrecy) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return path.string() + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return path.string() + ": not a regular file";
  if (!TrustedOwner(st.st_uid)) {
    return path.string() + ": " + OwnerProblem(path, st.st_uid, "a file", "change it");
  }
  const bool secret = secrecy == FileSecrecy::kSecret;
  const std::string fix = secret ? "chmod 600 " : "chmod go-w ";
  if ((st.st_mode & 022) != 0) {
    return path.string() + ": its group or others can write it (mode " + ModeText(st.st_mode) +
           "), so it may not hold what was put there; check it (or make a new one), then: " + fix +
           path.string();
  }
  // Root's own secrets may be shared with a group; the service's own never are.
  const mode_t hidden = st.st_uid == ::geteuid() ? 077 : 037;
  if (secret && (st.st_mode & hidden) != 0) {
    return path.string() + ": holds a secret, and its group or others can read it (mode " +
           ModeText(st.st_mode) + "); make it private: " + fix + path.string();
  }
  return std::nullopt;
}

namespace {

// What is wrong with the directory `dir` ("a directory its group or others can write ..."), for
// the two messages below; nullopt when nothing is, or when it does not exist (`missing`).
std::optional<std::string> DirectoryProblem(const std::filesystem::path& dir, bool& missing) {
  missing = false;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    missing = errno == ENOENT;
    if (missing) return std::nullopt;
    return std::strerror(errno);
  }
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (!TrustedOwner(st.st_uid))
    return OwnerProblem(dir, st.st_uid, "a directory", "put files in it");
  if ((st.st_mode & 022) != 0) {
    return "a directory its group or others can write (mode " + ModeText(st.st_mode) +
           "), so a file in it may have been put there or swapped; check what is in it, then: "
           "chmod 700 " +
           dir.string();
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CheckPrivateDirectory(const std::filesystem::path& dir, bool* missing) {
  bool none = false;
  std::optional<std::string> problem = DirectoryProblem(dir, none);
  if (missing != nullptr) *missing = none;
  if (!problem) return std::nullopt;
  return dir.string() + ": " + *problem;
}

namespace {

// What is wrong with the directory holding `path`, said of `path`: "<path>: in <dir>, a
// directory its group or others can write ...".
std::optional<std::string> InDirectory(const std::filesystem::path& path) {
  const std::filesystem::path dir = DirectoryOf(path);
  bool missing = false;
  std::optional<std::string> problem = DirectoryProblem(dir, missing);
  if (!problem) return std::nullopt;
  return path.string() + ": in " + dir.string() + ", " + *problem;
}

}  // namespace

PrivateFile OpenPrivateFile(const std::filesystem::path& path, FileSecrecy secrecy) {
  PrivateFile out;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    out.error = errno;
    // No file yet: the caller may make one, but not in a directory others could write.
    if (out.error == ENOENT) {
      if (auto problem = InDirectory(path)) {
        out.error = 0;
        out.refused = std::move(*problem);
      }
    }
    return out;
  }
  if (auto problem = CheckPrivateFile(fd.get(), path, secrecy)) {
    struct stat st;
    out.not_regular = ::fstat(fd.get(), &st) == 0 && !S_ISREG(st.st_mode);
    out.refused = std::move(*problem);
    return out;
  }
  if (auto problem = InDirectory(path)) {
    out.refused = std::move(*problem);
    return out;
  }
  out.fd = Fd(fd.release());
  return out;
}

}  // namespace vwr::util
