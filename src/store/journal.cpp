#include "store/journal.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>

#include "util/files.hpp"

namespace vwr::store {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kHeaderBytes = 8;
constexpr std::uint32_t kMaxRecordBytes = 16u << 20;
// The most a spent write buffer keeps for the next group commit (see WriterLoop).
constexpr std::size_t kKeptBufferBytes = 1u << 20;

std::uint32_t Crc(std::span<const std::uint8_t> data) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void PutU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t GetU32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

boost::system::error_code LastError() {
  return boost::system::error_code(errno, boost::system::system_category());
}

std::string SegmentName(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(20 - std::min<std::size_t>(20, digits.size()), '0') + digits + ".log";
}

std::string SnapshotName(std::uint64_t seq) { return "snapshot-" + std::to_string(seq) + ".snap"; }

// Parses "<digits><suffix>" after `prefix`.
std::optional<std::uint64_t> SeqOf(std::string_view name, std::string_view prefix,
                                   std::string_view suffix) {
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return std::nullopt;
  }
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  std::uint64_t seq = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
  return seq;
}

struct ReadResult {
  std::uint64_t records = 0;
  std::size_t valid_bytes = 0;  // the file up to the first damage
  bool damaged = false;
  std::string damage;
  std::string refused;  // the file was not read: why (util::OpenPrivateFile, or a read error)
};

// The whole file, when util::OpenPrivateFile trusts it: a segment or snapshot someone else
// could have written would put their state (sessions, tickets) in place of ours. `data` is
// replaced; its room is kept, so that reading segment after segment into the same string
// neither grows it by copying nor faults in new pages for each.
bool ReadWhole(const fs::path& path, std::string& data, std::string& refused) {
  data.clear();
  util::PrivateFile file = util::OpenPrivateFile(path, util::FileSecrecy::kData);
  if (!file.fd.valid()) {
    refused = !file.refused.empty() ? std::move(file.refused)
                                    : path.string() + ": " + std::strerror(file.error);
    return false;
  }
  struct stat st {};
  if (::fstat(file.fd.get(), &st) == 0 && st.st_size > 0) {
    data.reserve(static_cast<std::size_t>(st.st_size));
  }
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      refused = path.string() + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

// Calls `on_record` for each valid record of the file, stopping at the first damaged one.
ReadResult ReadRecords(const fs::path& path, const Journal::RecordFn& on_record,
                       std::string& data) {
  ReadResult r;
  if (!ReadWhole(path, data, r.refused)) return r;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < kHeaderBytes) {
      r.damage = "a record header is cut short (torn write)";
      break;
    }
    const std::uint32_t length = GetU32(bytes + at);
    const std::uint32_t crc = GetU32(bytes + at + 4);
    if (length > kMaxRecordBytes) {
      r.damage = "a record claims an impossible length";
      break;
    }
    if (data.size() - at - kHeaderBytes < length) {
      r.damage = "a record is cut short (torn write)";
      break;
    }
    const std::span<const std::uint8_t> payload(bytes + at + kHeaderBytes, length);
    if (Crc(payload) != crc) {
      r.damage = "a record fails its checksum";
      break;
    }
    on_record(payload);
    ++r.records;
    at += kHeaderBytes + length;
  }
  r.valid_bytes = at;
  if (at < data.size()) {
    r.damaged = true;
    r.damage = path.filename().string() + " at byte " + std::to_string(at) + ": " + r.damage +
               "; " + std::to_string(data.size() - at) + " bytes cut";
  }
  return r;
}

}  // namespace

void FrameRecord(std::span<const std::uint8_t> payload, std::string& out) {
  PutU32(out, static_cast<std::uint32_t>(payload.size()));
  PutU32(out, Crc(payload));
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
}

Journal::Journal(JournalOptions options) : options_(std::move(options)) {}

boost::system::result<std::unique_ptr<Journal>> Journal::Open(const JournalOptions& options,
                                                              const RecordFn& on_record,
                                                              RecoveryReport* report) {
  RecoveryReport local;
  RecoveryReport& rep = report ? *report : local;
  if (const int error = util::CreatePrivateDirectories(options.dir); error != 0) {
    return boost::system::error_code(error, boost::system::system_category());
  }
  // Said once, here, with the file and the command that mends it; the caller says the state
  // could not be opened.
  auto refuse = [](const std::string& why) {
    spdlog::error("store: {}", why);
    return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
  };
  if (auto problem = util::CheckPrivateDirectory(options.dir)) return refuse(*problem);
  std::error_code ec;

  std::vector<std::uint64_t> segments;
  std::vector<std::uint64_t> snapshots;
  for (const auto& entry : fs::directory_iterator(options.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto seq = SeqOf(name, "", ".log")) segments.push_back(*seq);
    if (auto seq = SeqOf(name, "snapshot-", ".snap")) snapshots.push_back(*seq);
  }
  if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
  std::sort(segments.begin(), segments.end());
  std::sort(snapshots.begin(), snapshots.end());

  std::string data;  // each file's bytes in turn
  std::uint64_t first_segment = 0;
  if (!snapshots.empty()) {
    first_segment = snapshots.back();
    const ReadResult r =
        ReadRecords(fs::path(options.dir) / SnapshotName(first_segment), on_record, data);
    if (!r.refused.empty()) return refuse(r.refused);
    rep.snapshot_records = r.records;
    if (r.damaged) {
      rep.damaged = true;
      rep.damage = r.damage;
    }
    // Older snapshots and segments are left over from a crash during the last snapshot.
    for (std::uint64_t old : snapshots) {
      if (old != first_segment) fs::remove(fs::path(options.dir) / SnapshotName(old), ec);
    }
  }
  std::uint64_t next_seq = first_segment;
  bool cut = false;
  for (std::uint64_t seq : segments) {
    const fs::path path = fs::path(options.dir) / SegmentName(seq);
    next_seq = std::max(next_seq, seq + 1);
    if (seq < first_segment) {
      fs::remove(path, ec);
      continue;
    }
    if (cut) {
      // After damage nothing can be trusted to follow on: keep it aside for inspection.
      fs::rename(path, path.string() + ".damaged", ec);
      continue;
    }
    ++rep.segments;
    const ReadResult r = ReadRecords(path, on_record, data);
    if (!r.refused.empty()) return refuse(r.refused);
    rep.journal_records += r.records;
    if (r.damaged) {
      cut = true;
      rep.damaged = true;
      rep.damage = rep.damage.empty() ? r.damage : rep.damage + "; " + r.damage;
      if (::truncate(path.c_str(), static_cast<off_t>(r.valid_bytes)) != 0) return LastError();
    }
  }

  std::unique_ptr<Journal> journal(new Journal(options));
  if (auto opened = journal->OpenSegment(next_seq); !opened) return opened.error();
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  if (options.fsync == FsyncMode::kInterval) {
    journal->syncer_ = std::thread([j = journal.get()] { j->SyncLoop(); });
  }
  return journal;
}

boost::system::result<void> Journal::OpenSegment(std::uint64_t seq) {
  const std::string path = (fs::path(options_.dir) / SegmentName(seq)).string();
  const int fd = util::OpenOrCreateFile(path, 0600, O_WRONLY | O_APPEND).release();
  if (fd < 0) return LastError();
  (void)util::SyncDirectory(options_.dir);  // best effort: the records are synced
  std::lock_guard lock(sync_mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_seq_ = seq;
  struct stat st {};
  segment_size_ = ::fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  return {};
}

Journal::~Journal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  sync_wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (syncer_.joinable()) syncer_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t Journal::Append(std::span<const std::uint8_t> payload) {
  std::lock_guard lock(mu_);
  const bool was_idle = buffer_.empty();
  FrameRecord(payload, buffer_);
  const std::uint64_t lsn = ++appended_lsn_;
  if (was_idle) wake_.notify_one();
  return lsn;
}

void Journal::AwaitDurable(std::uint64_t lsn, std::function<void(bool)> done) {
  std::unique_lock lock(mu_);
  if (failed_ || durable_lsn_ >= lsn) {
    const bool ok = !failed_ || durable_lsn_ >= lsn;
    lock.unlock();
    done(ok);
    return;
  }
  waiters_.push_back(Waiter{lsn, std::move(done)});
}

std::uint64_t Journal::durable_lsn() const {
  std::lock_guard lock(mu_);
  return durable_lsn_;
}

bool Journal::healthy() const {
  std::lock_guard lock(mu_);
  return !failed_;
}

void Journal::Complete(std::uint64_t acked, bool ok) {
  std::vector<Waiter> ready;
  {
    std::lock_guard lock(mu_);
    if (ok) {
      durable_lsn_ = std::max(durable_lsn_, acked);
    } else {
      failed_ = true;
    }
    auto split = std::partition(waiters_.begin(), waiters_.end(),
                                [&](const Waiter& w) { return ok && w.lsn > durable_lsn_; });
    ready.assign(std::make_move_iterator(split), std::make_move_iterator(waiters_.end()));
    waiters_.erase(split, waiters_.end());
  }
  for (Waiter& w : ready) w.done(ok && w.lsn <= acked);
}

void Journal::WriterLoop() {
  std::string writing;
  bool dirty = false;
  bool failed = false;
  for (;;) {
    std::unique_lock lock(mu_);
    auto has_work = [&] {
      return stopping_ || !buffer_.empty() || rotate_requested_ || sync_requested_;
    };
    wake_.wait(lock, has_work);
    writing.swap(buffer_);
    const std::uint64_t target = appended_lsn_;
    const bool rotate = rotate_requested_;
    const bool sync = sync_requested_;
    const bool stop = stopping_;
    lock.unlock();

    if (!writing.empty() && !failed) {
      if (util::WriteAll(fd_, writing)) {
        segment_size_ += writing.size();
        dirty = true;
        unsynced_.store(true, std::memory_order_release);
      } else {
        spdlog::error("journal: cannot write to segment {}: {}; the store stops acknowledging",
                      segment_seq_, LastError().message());
        failed = true;
      }
    }
    // A burst (a flash crowd's joins while this thread waited for a core) grows the two
    // buffers that take turns here; kept at that size, they would hold the burst's memory for
    // the process's life. Past kKeptBufferBytes the spent one is given back.
    if (writing.capacity() > kKeptBufferBytes) {
      std::string().swap(writing);
    } else {
      writing.clear();
    }
    const bool sync_now = options_.fsync == FsyncMode::kAlways || sync || rotate || stop;
    if (dirty && sync_now && !failed) {
      std::lock_guard sync_lock(sync_mu_);
      unsynced_.store(false, std::memory_order_release);
      if (::fdatasync(fd_) != 0) {
        spdlog::error("journal: fdatasync failed: {}", LastError().message());
        failed = true;
      }
      dirty = false;
    }
    Complete(target, !failed);

    if (!failed && (rotate || segment_size_ >= options_.segment_bytes)) {
      if (auto opened = OpenSegment(segment_seq_ + 1); !opened) {
        spdlog::error("journal: cannot begin segment {}: {}", segment_seq_ + 1,
                      opened.error().message());
        failed = true;
        Complete(target, false);
      }
    }
    if (rotate || sync) {
      std::lock_guard relock(mu_);
      if (rotate) {
        rotated_to_ = failed ? 0 : segment_seq_;
        rotate_requested_ = false;
      }
      if (sync) {
        synced_lsn_ = target;
        sync_requested_ = false;
      }
      flushed_.notify_all();
    }
    if (stop) return;
  }
}

void Journal::SyncLoop() {
  std::unique_lock lock(mu_);
  while (!sync_wake_.wait_for(lock, options_.fsync_interval, [&] { return stopping_; })) {
    lock.unlock();
    if (unsynced_.exchange(false, std::memory_order_acq_rel)) {
      std::lock_guard sync_lock(sync_mu_);
      if (::fdatasync(fd_) != 0) {
        spdlog::error("journal: fdatasync failed: {}", LastError().message());
      }
    }
    lock.lock();
  }
}

void Journal::Flush() {
  std::unique_lock lock(mu_);
  if (stopping_) return;
  const std::uint64_t target = appended_lsn_;
  sync_requested_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return synced_lsn_ >= target || failed_; });
}

boost::system::result<void> Journal::WriteSnapshot(
    const std::function<void(const std::function<void(std::string_view)>& emit)>& write_state) {
  std::uint64_t seq = 0;
  {
    std::unique_lock lock(mu_);
    rotate_requested_ = true;
    wake_.notify_one();
    flushed_.wait(lock, [&] { return !rotate_requested_; });
    seq = rotated_to_;
  }
  if (seq == 0) return boost::system::errc::make_error_code(boost::system::errc::io_error);

  std::string data;
  write_state([&](std::string_view payload) {
    FrameRecord(std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()),
                data);
  });
  const fs::path final_path = fs::path(options_.dir) / SnapshotName(seq);
  const std::string tmp = final_path.string() + ".tmp";
  ::unlink(tmp.c_str());  // left by a snapshot that was cut short
  bool written = false;
  boost::system::error_code write_error;
  {
    const util::Fd fd = util::CreateFile(tmp, 0600);
    if (!fd.valid()) return LastError();
    written = util::WriteAll(fd.get(), data) && ::fsync(fd.get()) == 0;
    write_error = LastError();
  }
  if (!written) {
    ::unlink(tmp.c_str());
    return write_error;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return LastError();
  (void)util::SyncDirectory(options_.dir);  // best effort: the records are synced

  // The snapshot now stands for everything before segment `seq`.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto segment = SeqOf(name, "", ".log");
    const auto snapshot = SeqOf(name, "snapshot-", ".snap");
    if ((segment && *segment < seq) || (snapshot && *snapshot < seq)) {
      fs::remove(entry.path(), ec);
    }
  }
  return {};
}

}  // namespace vwr::store
