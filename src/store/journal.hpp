#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vwr::store {

enum class FsyncMode { kAlways, kInterval, kNever };

struct JournalOptions {
  std::string dir;  // segments and snapshots live here
  FsyncMode fsync = FsyncMode::kInterval;
  std::chrono::milliseconds fsync_interval{10};
  std::size_t segment_bytes = 64u << 20;  // a segment past this size is closed, a new one begun
};

// What opening found on disk.
struct RecoveryReport {
  std::uint64_t snapshot_records = 0;
  std::uint64_t journal_records = 0;
  std::uint64_t segments = 0;
  bool damaged = false;  // a torn or corrupt record was found and cut
  std::string damage;    // where and what, for the log
};

// An append-only, checksummed log of records on local disk, written by one background thread.
//
// On disk: segment files `<seq>.log` (20-digit sequence numbers, in order) and at most one
// snapshot `snapshot-<seq>.snap`, which holds the whole state as of the start of segment <seq>
// (older segments are deleted once it is written). Every record, in both, is framed as
//
//   u32 length (LE) | u32 CRC-32 of the payload (LE) | payload
//
// so that a torn tail (power cut mid-write) or a corrupt record is detected on recovery: the
// damage is reported and the log is cut there; what came before it is kept.
//
// Appending copies the payload into an in-memory buffer under a mutex and wakes the writer
// thread, which writes everything buffered with one write(2) (group commit). A caller that must
// not answer before its change is durable waits with AwaitDurable(): "durable" means written to
// the operating system (fsync modes interval and never; a process crash loses nothing) or on
// disk (mode always). In mode interval the writer also fdatasyncs every fsync_interval.
//
// Thread-safe.
class Journal {
 public:
  using RecordFn = std::function<void(std::span<const std::uint8_t> payload)>;

  // Reads the snapshot and then every segment, calling `on_record` for each valid record in
  // order, cuts any damage, and starts the writer. Fails only when the directory cannot be used,
  // or when it or a file in it may not be trusted (another user's, or writable by others: see
  // util::OpenPrivateFile), which is logged with the file and the command that mends it.
  static boost::system::result<std::unique_ptr<Journal>> Open(const JournalOptions& options,
                                                              const RecordFn& on_record,
                                                              RecoveryReport* report);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one record; returns its sequence number (LSN, from 1).
  std::uint64_t Append(std::span<const std::uint8_t> payload);
  std::uint64_t Append(std::string_view payload) {
    return Append(std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  }
  // Runs `done(true)` (on the writer thread, or at once on the caller's) when record `lsn` is
  // durable, or `done(false)` if the journal can no longer write (disk full, I/O error).
  void AwaitDurable(std::uint64_t lsn, std::function<void(bool ok)> done);
  std::uint64_t durable_lsn() const;
  // False once a write or fsync has failed: nothing after it is durable.
  bool healthy() const;

  // Writes a snapshot: begins a new segment, calls `write_state` to produce the records of the
  // whole state (taken after the new segment began, so replaying the snapshot and then that
  // segment is correct when applying a record twice is harmless), writes them to a new snapshot
  // file (fsynced, then renamed into place) and deletes the older segments and snapshot.
  // Blocking: call from a background thread, never a worker.
  boost::system::result<void> WriteSnapshot(
      const std::function<void(const std::function<void(std::string_view)>& emit)>& write_state);

  // Writes and fsyncs everything appended so far (shutdown). Blocking.
  void Flush();

  // For tests and operators: the journal's files.
  const std::string& dir() const { return options_.dir; }

 private:
  explicit Journal(JournalOptions options);
  boost::system::result<void> OpenSegment(std::uint64_t seq);
  void WriterLoop();
  void Complete(std::uint64_t acked, bool ok);

  const JournalOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::string buffer_;              // framed records not yet handed to the writer; guarded by mu_
  std::uint64_t appended_lsn_ = 0;  // guarded by mu_
  std::uint64_t durable_lsn_ = 0;   // guarded by mu_
  bool sync_requested_ = false;     // guarded by mu_: Flush() wants an fsync now
  std::uint64_t synced_lsn_ = 0;    // guarded by mu_: fsynced up to here
  bool rotate_requested_ = false;   // guarded by mu_
  std::uint64_t rotated_to_ = 0;    // guarded by mu_: the segment a requested rotation began
  bool stopping_ = false;           // guarded by mu_
  bool failed_ = false;             // guarded by mu_
  struct Waiter {
    std::uint64_t lsn;
    std::function<void(bool)> done;
  };
  std::vector<Waiter> waiters_;  // guarded by mu_

  // In mode interval a second thread fdatasyncs every fsync_interval, so that the writer (and
  // every answer waiting on it) never stalls behind the disk's flush.
  void SyncLoop();
  std::mutex sync_mu_;                 // held around fdatasync and around replacing fd_
  std::condition_variable sync_wake_;  // (with mu_) wakes the syncer to stop
  std::atomic<bool> unsynced_{false};  // written since the last fdatasync
  std::thread syncer_;

  // Owned by the writer thread (and by Open before it starts); fd_ changes under sync_mu_.
  int fd_ = -1;
  std::uint64_t segment_seq_ = 0;
  std::size_t segment_size_ = 0;
  std::thread writer_;
};

// Frames `payload` as one record and appends it to `out`.
void FrameRecord(std::span<const std::uint8_t> payload, std::string& out);

}  // namespace vwr::store
