#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "token/key_dir.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::token {

struct KeyKeeperOptions {
  std::string dir;                                      // tokens.key_dir
  std::chrono::seconds rotate_after{7 * 24 * 60 * 60};  // tokens.rotate_after; 0 = never
  // After a failed change of the directory (read-only, lock held too long), wait this long
  // before the next automatic attempt.
  std::chrono::seconds retry_after_failure{60};
};

// What one call did, for the caller to log.
struct KeyEvents {
  std::optional<std::string> created;  // kid of a key made active by this process
  std::optional<std::string> retired;  // kid of the key this process retired
  std::optional<std::string> active;   // the active kid after a reload that changed it
  bool reloaded = false;               // picked up keys changed by another process
  std::vector<std::string> pruned;     // kids dropped (own retired keys and foreign keys)
  std::vector<std::string> errors;     // what went wrong; the keys in use are kept

  bool empty() const {
    return !created && !retired && !active && !reloaded && pruned.empty() && errors.empty();
  }
};

// Keeps a KeyRing in step with the key directory: loads it at start (making the first key when
// there is none), notices changes made by other processes (`vwr keys rotate`, other nodes
// sharing the directory), rotates when the active key is older than rotate_after, and drops
// retired keys once every token they signed has expired.
//
//   every few seconds (the control thread):  Maintain()
//       manifest.json replaced since the last look (a stat)?  -> read it, SetOwnKeys
//       active key older than rotate_after?                     -> KeyDirectory::Rotate (once,
//                                                                  whichever node gets the lock)
//       a retired key past its not-after, or the directory's token_lifetime_max lower than
//       ours?                                                   -> KeyDirectory::Tidy
//       KeyRing::Prune (foreign keys too)
//   on demand (admin API, posted to the control thread):       Rotate()
//
// Time comes from the Clock, so all of it runs on a fake clock in tests. Blocking (disk I/O,
// the directory's lock): call from one thread that is not a worker. Not thread-safe.
class KeyKeeper {
 public:
  // Opens the directory and fills `ring` (whose max_token_lifetime must be set). The error says
  // which file is wrong and how.
  static boost::system::result<std::unique_ptr<KeyKeeper>, std::string> Open(
      KeyRing& ring, const util::Clock& clock, KeyKeeperOptions options,
      KeyEvents* events = nullptr);

  // The periodic upkeep above. `reload`: read the directory even if it seems unchanged (SIGHUP).
  KeyEvents Maintain(bool reload = false);

  // Rotates now. On success, events.created is the new active kid.
  boost::system::result<KeyEvents, std::string> Rotate();

  const KeyDirectory& directory() const { return dir_; }

 private:
  KeyKeeper(KeyRing& ring, const util::Clock& clock, KeyKeeperOptions options, KeyDirectory dir)
      : ring_(ring), clock_(clock), options_(std::move(options)), dir_(std::move(dir)) {}

  std::int64_t NowUnix() const;
  // Takes a set read from (or written to) the directory; notes what changed in `events`.
  void Adopt(KeySet keys, std::optional<FileStamp> stamp, KeyEvents& events);

  KeyRing& ring_;
  const util::Clock& clock_;
  KeyKeeperOptions options_;
  KeyDirectory dir_;
  std::optional<KeySet> keys_;            // as last read or written
  std::optional<FileStamp> stamp_;        // of the manifest keys_ came from
  std::optional<FileStamp> bad_stamp_;    // a manifest that failed to load (reported once)
  std::int64_t next_change_attempt_ = 0;  // unix seconds: automatic changes wait after a failure
};

}  // namespace vwr::token
