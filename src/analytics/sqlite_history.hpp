#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "analytics/history.hpp"

struct sqlite3;

namespace vwr::analytics {

// History in an SQLite database (data_dir/analytics.db by default), for a node with the
// embedded store.
//
// Layout: `frames(room, step, t, data)` holds one row per room and closed minute (step 60) and
// per hour (step 3600, the merge of the hour's minutes so far), `data` being EncodeFrame's
// blob; `tops(room, step, dim, t, key, count)` holds each period's heaviest keys. Each closed
// minute is added to its minute row and to its hour's row (adding, not replacing, so that the
// partial minute written at shutdown and the rest of it after a restart add up). Retention
// deletes old rows once an hour.
//
// Thread-safety: one thread of its own does every read and write, in the order they were asked
// for; Append and the loads only queue work. All the pending batches are written in one
// transaction (WAL, synchronous=NORMAL: a power loss may lose the last transactions, never
// corrupt the file).
class SqliteHistory final : public History {
 public:
  // Opens (creating) the database. nullptr and `error` set when it cannot be used.
  static std::unique_ptr<SqliteHistory> Open(const std::string& path, Retention retention,
                                             std::string& error);
  ~SqliteHistory() override;

  void Append(HistoryBatch batch) override;
  void LoadFrames(std::string room, Step step, std::int64_t from, std::int64_t to,
                  std::function<void(bool ok, Frames)> done) override;
  void LoadTop(std::string room, Dimension dim, Step step, std::int64_t from, std::int64_t to,
               std::size_t k, std::function<void(bool ok, TopResult)> done) override;
  bool has_seconds() const override { return false; }
  bool has_open_minute() const override { return false; }
  void Close() override;

  // Waits until everything queued so far is done (tests, shutdown).
  void Flush();

 private:
  SqliteHistory(sqlite3* db, Retention retention);
  void Run();
  void Post(std::function<void()> job);
  void WriteBatches(std::deque<HistoryBatch>& batches);
  void ApplyRetention(std::int64_t now);

  sqlite3* db_;  // the history thread's only (after construction)
  Retention retention_;
  std::int64_t last_retention_hour_ = -1;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HistoryBatch> batches_;        // guarded by mu_
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  bool exited_ = false;                     // guarded by mu_: the thread has returned
  std::mutex inline_mu_;                    // jobs run after the thread returned
  std::thread thread_;
};

}  // namespace vwr::analytics
