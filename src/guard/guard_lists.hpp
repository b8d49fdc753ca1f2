#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "guard/abuse_guard.hpp"
#include "redis/client.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace vwr::guard {

// ---- the stored form (pure; unit-tested) ----
//
// One runtime entry of the guard's lists (admin additions, automatic blocks) as a field and a
// value: field "<room>\n<list>\n<ip|identity>\n<value>", value {"expires":N,"source":"..."}
// (expires: unix seconds, 0 = never). The same pair is a line of <data_dir>/guard-lists.json
// (embedded store) and a field of the Redis hash "<key_prefix>:guard" (shared by all nodes).
std::pair<std::string, std::string> EncodeGuardEntry(const guard::GuardChange& change);
std::optional<guard::GuardChange> DecodeGuardEntry(std::string_view field, std::string_view value);

// Keeps the guard's runtime lists beyond the process, by the store:
//
// embedded: every change (OnChange, from the guard's listener, on whatever thread made it) only
//   marks the lists dirty; the file is written on the `writer` executor (the control thread),
//   never on the thread that made the change, which may be a worker serving polls. Round() (the
//   control thread's tick) rewrites <data_dir>/guard-lists.json (a temporary file, fsync,
//   rename, fsync of the directory) when dirty; Flush() (an admin change, before its answer)
//   posts the same write to `writer` and answers from there once it is done. Load() applies the
//   file at start: entries added through the admin API and blocks still running survive a
//   restart.
//
// redis: each change is written at once (HSET / HDEL on "<key_prefix>:guard"; an automatic block
//   is one write when it starts). Round(), at most once a second, reads the hash (HGETALL) and
//   applies what other nodes added and removed; expired entries are deleted by whoever sees
//   them. A node thus sees another node's block or admin change within about a second. A write
//   that fails is sent again by every flush and every round until it succeeds or a newer change
//   of the same entry replaces it. A read never undoes this node's own newer change: an entry
//   removed here while a read was on its way is not brought back by the read's older answer.
class GuardLists : public std::enable_shared_from_this<GuardLists> {
 public:
  // `file` for the embedded store, written on `writer` (the control thread's executor);
  // `client` (and `redis_key`) for Redis.
  static std::shared_ptr<GuardLists> Embedded(guard::AbuseGuard& guard, const util::Clock& clock,
                                              std::string file,
                                              boost::asio::any_io_executor writer);
  static std::shared_ptr<GuardLists> Shared(guard::AbuseGuard& guard, const util::Clock& clock,
                                            redis::Client& client, std::string redis_key);

  // Embedded: applies the file (a missing file is an empty list; a bad line is logged and
  // skipped). Redis: reads the shared lists, waiting up to 3 s for them (Redis out of reach:
  // logged, and left to the rounds). Call before serving. False (logged, with the command that
  // mends it) when the file may not be trusted: another user's, or one that others could write
  // or that is in a directory others could write (util::OpenPrivateFile), since an entry
  // planted there would let its author past the queue or keep others out.
  bool Load();
  // The guard's listener. Any thread.
  void OnChange(const guard::GuardChange& change);
  // The control thread (the embedded store's writer), every tick.
  void Round();
  // Calls `done` once every change made so far is recorded: true when it is, false when a write
  // failed. Embedded: the write is posted to the writer, which writes the file if anything
  // changed and then calls `done` there (the caller never waits on the disk). Redis:
  // sends again the writes that failed, then answers once every write sent so far has answered
  // (true when no change is left unrecorded). What an admin change waits for before its
  // answer, so that an acknowledged change survives a crash.
  void Flush(std::function<void(bool)> done);

  const std::string& where() const { return where_; }
  // Redis: writes sent and not yet answered.
  std::size_t writes_pending() {
    std::lock_guard lock(mu_);
    return outstanding_.size();
  }

 private:
  GuardLists(guard::AbuseGuard& guard, const util::Clock& clock, std::string where,
             redis::Client* client, boost::asio::any_io_executor writer);
  bool WriteFile();  // under file_mu_
  // Sends one entry's write (HSET or HDEL), superseding any earlier one of that entry.
  void Send(const std::string& field, std::vector<std::string> command);
  void Written(std::uint64_t seq, const std::string& field, std::vector<std::string> command,
               bool ok);
  // Sends again the writes that failed (and were not superseded).
  void Retry();
  void Read(std::function<void(bool)> then = {});
  // `read_seq`: the last write sent when the read was. An entry this node wrote after that, or
  // whose write is still in flight or failed, is this node's to say: the read may predate it.
  void Reconcile(const std::vector<std::pair<std::string, std::string>>& entries,
                 std::uint64_t read_seq);

  guard::AbuseGuard& guard_;
  const util::Clock& clock_;
  std::string where_;  // the file, or the Redis key
  redis::Client* client_;
  boost::asio::any_io_executor writer_;  // embedded: where the file is written
  std::atomic<bool> dirty_{false};
  std::atomic<bool> reading_{false};
  util::TimePoint last_read_{};
  std::mutex mu_;
  std::map<std::string, std::string> seen_;  // the hash as last read (under mu_)
  bool logged_failure_ = false;              // under mu_
  std::mutex file_mu_;  // embedded: one writer of the file at a time (Round() after the loop)
  util::LogLimiter write_log_;  // failed writes (retried): once a second

  // Redis (under mu_): the writes sent and not yet answered, and the flushes waiting for them.
  // A change whose write failed stays unrecorded until a newer write of the same entry is sent
  // or a retry (every flush, and every read round) succeeds: a flush answers true only when
  // nothing is left unrecorded, so no change is reported recorded that is not.
  struct Waiter {
    std::uint64_t seq;  // answered once every write up to this one has answered
    std::function<void(bool)> done;
  };
  std::uint64_t sent_ = 0;
  std::set<std::uint64_t> outstanding_;
  std::vector<Waiter> waiters_;
  std::map<std::string, std::uint64_t> latest_;  // field -> its newest write in flight
  std::map<std::string, std::vector<std::string>> unrecorded_;  // field -> the write that failed
  // field -> this node's newest write of it (its seq; the value, or nothing for a removal), kept
  // until a read sent after it has answered.
  struct LocalWrite {
    std::uint64_t seq;
    std::optional<std::string> value;
  };
  std::map<std::string, LocalWrite> recent_;
};

}  // namespace vwr::guard
