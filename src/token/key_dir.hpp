#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "token/key_ring.hpp"

namespace vwr::token {

// Identifies one version of a file cheaply (a stat): a file replaced by rename(2) gets a new
// inode, so two versions never compare equal, however close in time they were written.
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// The signing keys on disk (tokens.key_dir), shared by every process that uses the directory:
// `vwr serve`, `vwr keys`, and other nodes when it is a shared volume.
//
//   <key_dir>/                 mode 0700 when vwr creates it; nobody else may write it
//     manifest.json            the keys: which one signs, when each was made and retired, and
//                              each public key (x, y); mode 0600; always replaced whole
//     key-<kid>.pem            the active key's private key, PKCS#8 PEM, mode 0600
//     .lock                    flock(2)ed while the directory is changed
//
// manifest.json:
//
//   {"format":1,"token_lifetime_max":600,"keys":[
//     {"kid":"<thumbprint>","created_at":1800000000,"x":"<43>","y":"<43>"},                 active
//     {"kid":"...","created_at":1799000000,"retired_at":1800000000,"x":"...","y":"..."}]} retired
//
// Exactly one key has no retired_at: the active key, which signs. A key's kid is the RFC 7638
// thumbprint of its public key (and is checked on reading). A retired key keeps only its public
// part: its private key file is deleted when it retires, since it never signs again. It leaves the
// manifest at retired_at + token_lifetime_max + kRetiredKeyMargin, when no token it signed can
// still be valid. token_lifetime_max only grows: every writer raises it to its own longest token
// lifetime, so a process with a shorter configuration (a CLI run without --config) never drops a
// key that another process's tokens still need.
//
// Safety between processes:
//   - every change (creating the first key, rotating, pruning) happens under an exclusive
//     flock on .lock, after re-reading the manifest; two nodes rotating at once therefore rotate
//     one after the other and no key is lost;
//   - files are written to a unique temporary name, fsync'ed, then linked (new files) or renamed
//     (the manifest) into place, and the directory is fsync'ed: a reader never sees a partial
//     file, and a crash leaves either the old state or the new one;
//   - the first manifest is linked, which fails if one exists, so creation is race-free even if
//     the lock did not work;
//   - readers take no lock; a reader that finds the private key gone (retired meanwhile) reads
//     the new manifest again.
// flock must work on the filesystem (local filesystems, NFSv4).
//
// Every method blocks on disk I/O (and Rotate on the lock, at most 10 s): call them from the
// control thread or a CLI, never from a worker thread. Errors name the file and say what is
// wrong; nothing here throws (except std::bad_alloc). Not thread-safe: one caller at a time.
class KeyDirectory {
 public:
  struct LoadOutcome {
    KeySet keys;
    bool created = false;  // this call made the first key
  };

  struct ChangeOutcome {
    KeySet keys;
    std::optional<std::string> created;  // kid of a key this call made active
    std::optional<std::string> retired;  // kid of the key it retired
    std::vector<std::string> pruned;     // kids it dropped (expired retired keys)
  };

  // Opens `path`, creating it (mode 0700, parents too) when missing. Refuses a directory that
  // another user owns or that its group or others can write (util::CheckPrivateDirectory); its
  // private keys are read only when nobody else may read or write them, and the manifest only
  // when nobody else may write it (util::OpenPrivateFile).
  static boost::system::result<KeyDirectory, std::string> Open(std::string path);

  const std::string& path() const { return path_; }
  std::string manifest_path() const;

  // A warning when the directory can be read by group or others; nullopt when it is private.
  std::optional<std::string> PermissionWarning() const;

  // The keys as the directory holds them now. Fails when there is no manifest yet.
  boost::system::result<KeySet, std::string> Load() const;

  // Load(), or, when the directory holds no keys yet, makes the first key (race-free between
  // processes). Raises token_lifetime_max to `token_lifetime_s` when it is lower.
  boost::system::result<LoadOutcome, std::string> LoadOrCreate(std::int64_t now_unix,
                                                               std::int64_t token_lifetime_s);

  // Makes a new active key and retires the current one at now_unix; prunes expired retired keys.
  // With `only_if_older_than_s`, rotates only when the active key (as read under the lock) is at
  // least that old, so that several nodes due to rotate at the same time rotate once. Makes the
  // first key when there is none.
  boost::system::result<ChangeOutcome, std::string> Rotate(
      std::int64_t now_unix, std::int64_t token_lifetime_s,
      std::optional<std::int64_t> only_if_older_than_s = std::nullopt);

  // Drops retired keys past their not-after and raises token_lifetime_max to token_lifetime_s;
  // writes the manifest only when that changes it. Also removes leftovers of interrupted writes.
  boost::system::result<ChangeOutcome, std::string> Tidy(std::int64_t now_unix,
                                                         std::int64_t token_lifetime_s);

  // The manifest's current version; nullopt when it cannot be stat'ed (missing).
  std::optional<FileStamp> Stamp() const;

 private:
  explicit KeyDirectory(std::string path) : path_(std::move(path)) {}
  // With the lock held and no manifest: makes the first key.
  boost::system::result<ChangeOutcome, std::string> CreateFirstLocked(
      std::int64_t now_unix, std::int64_t token_lifetime_s);

  std::string path_;
};

}  // namespace vwr::token
