#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// The few POSIX file steps that durable writes are made of (the journal, key files, the guard
// lists), each retried and checked the same way everywhere; and the one check of whether a file
// vwr reads at start (a secret, or its state) may be trusted.
//
// Modes are exact whatever the process umask: a file or directory vwr makes gets the mode it
// asks for (0600, 0700), set with fchmod/chmod after it is made, since the umask only ever
// clears bits and an odd one (0277) could leave the owner unable to read its own key back.
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
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Hands the descriptor over to the caller, who closes it.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Writes all of `data` to `fd`, through short writes and EINTR. False on an error (errno set).
bool WriteAll(int fd, std::string_view data);

// fsync of the directory `dir` (empty: the current one), so that a file created, renamed or
// linked in it survives a power failure. False on an error (errno set).
bool SyncDirectory(const std::filesystem::path& dir);

// mkdir -p; the directories it creates get mode 0700 exactly (existing ones are left as they
// are: CheckPrivateDirectory says whether they may be used). 0 on success, else the errno of
// the step that failed (ENOTDIR when something on the way exists and is not a directory), and
// `failed` (when given) names the directory it could not make.
int CreatePrivateDirectories(const std::filesystem::path& dir,
                             std::filesystem::path* failed = nullptr);

// Creates the file `path`, which must not exist (O_EXCL; a symbolic link there is not
// followed), opened with `flags` (O_WRONLY, O_RDWR, O_APPEND...) and O_CLOEXEC, with exactly
// `mode`. Invalid on an error (errno set; EEXIST: something is there already).
Fd CreateFile(const std::filesystem::path& path, mode_t mode, int flags = O_WRONLY);

// Opens `path` with `flags` (O_WRONLY, O_RDWR, O_APPEND...), creating it as CreateFile does
// when it does not exist (a file that exists keeps its mode). Invalid on an error (errno set).
Fd OpenOrCreateFile(const std::filesystem::path& path, mode_t mode, int flags);

// Makes sure a file another library opens by name (SQLite) is private to its owner: created
// 0600 when missing, before that library creates it with the umask's mode (a file that exists
// keeps its mode). 0, or the errno of the failure.
int CreatePrivateFileIfMissing(const std::filesystem::path& path);

// Takes an exclusive flock on `fd`, waiting at most `within` for whoever holds it. The wait is
// not a polling loop: when the lock is busy, a helper thread blocks in flock() on a duplicate of
// `fd` (the same open file, so the lock it takes is `fd`'s) and the caller waits for it. 0 when
// the lock is held; EWOULDBLOCK when it was still busy after `within` (close `fd` then: the
// helper may take the lock through it later, and lets go of it once `fd` is closed); else
// flock's errno. Blocks the calling thread: not for a worker.
int LockExclusive(int fd, std::chrono::milliseconds within);

// ---- may a file be trusted ----
//
// A file vwr reads at start decides who it lets in (the ticket key, the signing keys, the
// admin token) or what state it serves (the journal, snapshots, lists). Whoever can write such
// a file, or replace it in its directory, could put their own in its place; whoever can read a
// secret can forge what it signs. So a file is trusted only when
//   - it is a regular file owned by the user vwr runs as, or by root (who can change any file
//     anyway; files installed by configuration management or a Kubernetes secret volume are
//     root's);
//   - nobody but its owner can write it (mode & 022 == 0);
//   - a secret: nobody but its owner can read it either (mode & 077 == 0), except that a
//     secret root owns may be readable by its group (mode & 037 == 0), to hand a
//     root-managed key to the service's group: the rule ssh and PostgreSQL apply to keys;
//   - the directory it is in is owned by this user or root and nobody else can write it
//     (readable is fine): else a file could be swapped in under its name.
// Every check says what is wrong and the command that mends it.

enum class FileSecrecy {
  kSecret,  // keys and tokens: others may neither write nor read it
  kData,    // state (journal, snapshots, lists) and public keys: others may read, not write
};

// Why the file open at `fd` (found at `path`, named in the message) may not be trusted with
// what `secrecy` says, e.g. "/var/lib/vwr/ticket.key: its group or others can write it (mode
// 0666) ...; check it, then: chmod 600 /var/lib/vwr/ticket.key"; nullopt when it may.
std::optional<std::string> CheckPrivateFile(int fd, const std::filesystem::path& path,
                                            FileSecrecy secrecy);

// Why the directory `dir` may not hold such files ("<dir>: a directory its group or others can
// write (mode 0777) ...; check what is in it, then: chmod 700 <dir>"); nullopt when it may. A
// directory that does not exist is not refused (there is nothing in it to trust); `missing`,
// when given, says so.
std::optional<std::string> CheckPrivateDirectory(const std::filesystem::path& dir,
                                                 bool* missing = nullptr);

// A file opened by OpenPrivateFile, or why it was not.
struct PrivateFile {
  Fd fd{-1};                 // open for reading when nothing below is set
  int error = 0;             // the errno of opening it (ENOENT: there is none, and its directory
                             // may hold one vwr makes); 0 otherwise
  std::string refused;       // why it may not be trusted (CheckPrivateFile, CheckPrivateDirectory),
                             // or that it is not a regular file
  bool not_regular = false;  // `refused` because a directory, FIFO or device is there
};

// Opens `path` for reading (O_NONBLOCK: a FIFO put there cannot hang the caller) and checks
// it and its directory as above. The check is made on the open descriptor, so what is read is
// what was checked. Every message begins with `path`: "<path>: its group or others can write
// it ...", "<path>: in <dir>, a directory its group or others can write ...".
PrivateFile OpenPrivateFile(const std::filesystem::path& path, FileSecrecy secrecy);

}  // namespace vwr::util
