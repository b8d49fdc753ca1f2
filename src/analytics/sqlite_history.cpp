#include "analytics/sqlite_history.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstring>
#include <future>
#include <set>
#include <unordered_map>

#include "util/sqlite_file.hpp"

namespace vwr::analytics {

namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;

// A prepared statement, finalised when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      spdlog::error("analytics history: cannot prepare a statement: {}", sqlite3_errmsg(db));
      stmt_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Statement& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error (logged).
  int Step() {
    if (stmt_ == nullptr) return SQLITE_ERROR;
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      spdlog::error("analytics history: {}", sqlite3_errmsg(db_));
    }
    return rc;
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string_view Blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

bool Exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    spdlog::error("analytics history: {}: {}", sql, message != nullptr ? message : "?");
    sqlite3_free(message);
    return false;
  }
  return true;
}

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS frames (
  room BLOB NOT NULL, step INTEGER NOT NULL, t INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (room, step, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tops (
  room BLOB NOT NULL, step INTEGER NOT NULL, dim INTEGER NOT NULL, t INTEGER NOT NULL,
  key BLOB NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (room, step, dim, t, key)) WITHOUT ROWID;
)sql";

std::int64_t StepSeconds(Step step) { return SecondsOf(step); }

}  // namespace

std::unique_ptr<SqliteHistory> SqliteHistory::Open(const std::string& path, Retention retention,
                                                   std::string& error) {
  sqlite3* db = util::OpenPrivateDatabase(path, kSchema, error);
  if (db == nullptr) return nullptr;
  return std::unique_ptr<SqliteHistory>(new SqliteHistory(db, retention));
}

SqliteHistory::SqliteHistory(sqlite3* db, Retention retention)
    : db_(db), retention_(retention), thread_([this] { Run(); }) {}

SqliteHistory::~SqliteHistory() {
  Close();
  sqlite3_close(db_);
}

void SqliteHistory::Close() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SqliteHistory::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (!exited_) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  // The thread has ended (after Close): the database is no longer used by it.
  std::lock_guard lock(inline_mu_);
  job();
}

void SqliteHistory::Append(HistoryBatch batch) {
  if (batch.minutes.empty()) return;  // only closed minutes are kept here
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    batches_.push_back(std::move(batch));
  }
  cv_.notify_one();
}

void SqliteHistory::Flush() {
  std::promise<void> done;
  auto future = done.get_future();
  Post([&done] { done.set_value(); });
  future.wait();
}

void SqliteHistory::Run() {
  for (;;) {
    std::deque<HistoryBatch> batches;
    std::deque<std::function<void()>> jobs;
    bool stop = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !batches_.empty() || !jobs_.empty(); });
      batches.swap(batches_);
      jobs.swap(jobs_);
      stop = stopping_;
    }
    // Writes first: a load asked for after an append sees it.
    if (!batches.empty()) WriteBatches(batches);
    for (auto& job : jobs) job();
    if (stop) {
      std::lock_guard lock(mu_);
      if (batches_.empty() && jobs_.empty()) {
        exited_ = true;
        return;
      }
    }
  }
}

void SqliteHistory::WriteBatches(std::deque<HistoryBatch>& batches) {
  if (!Exec(db_, "BEGIN IMMEDIATE")) return;
  Statement read_frame(db_, "SELECT data FROM frames WHERE room = ?1 AND step = ?2 AND t = ?3");
  Statement write_frame(
      db_, "INSERT OR REPLACE INTO frames (room, step, t, data) VALUES (?1, ?2, ?3, ?4)");
  Statement add_top(
      db_,
      "INSERT INTO tops (room, step, dim, t, key, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (room, step, dim, t, key) DO UPDATE SET count = count + excluded.count");
  Statement trim_top(
      db_,
      "DELETE FROM tops WHERE room = ?1 AND step = ?2 AND dim = ?3 AND t = ?4 AND key NOT IN "
      "(SELECT key FROM tops WHERE room = ?1 AND step = ?2 AND dim = ?3 AND t = ?4 "
      "ORDER BY count DESC, key LIMIT ?5)");
  const auto merge_frame = [&](const std::string& room, std::int64_t step, std::int64_t t,
                               const Frame& frame) {
    Frame stored;
    read_frame.Bind(1, room).Bind(2, step).Bind(3, t);
    if (read_frame.Step() == SQLITE_ROW && !DecodeFrame(read_frame.Blob(0), stored)) {
      stored = Frame{};  // unreadable: replaced
    }
    read_frame.Reset();
    stored.Merge(frame);
    write_frame.Bind(1, room).Bind(2, step).Bind(3, t).Bind(4, EncodeFrame(stored));
    write_frame.Step();
    write_frame.Reset();
  };
  const auto add_tops = [&](const std::string& room, std::int64_t step, std::int64_t t,
                            const TopLists& top, std::size_t keep) {
    for (std::size_t d = 0; d < kDimensionCount; ++d) {
      if (top[d].empty()) continue;
      for (const TopEntry& e : top[d]) {
        add_top.Bind(1, room).Bind(2, step).Bind(3, static_cast<std::int64_t>(d)).Bind(4, t);
        add_top.Bind(5, e.key).Bind(6, static_cast<std::int64_t>(e.count));
        add_top.Step();
        add_top.Reset();
      }
      trim_top.Bind(1, room).Bind(2, step).Bind(3, static_cast<std::int64_t>(d)).Bind(4, t);
      trim_top.Bind(5, static_cast<std::int64_t>(keep));
      trim_top.Step();
      trim_top.Reset();
    }
  };
  std::int64_t latest = 0;
  for (const HistoryBatch& batch : batches) {
    latest = std::max(latest, batch.second);
    for (const RoomMinute& m : batch.minutes) {
      const std::int64_t hour = m.start - m.start % kHour;
      merge_frame(m.room, kMinute, m.start, m.frame);
      merge_frame(m.room, kHour, hour, m.frame);
      add_tops(m.room, kMinute, m.start, m.top, retention_.top_minute_keys);
      // An hour's list keeps twice what it answers, so that a key that rises late in the hour
      // is not cut before it can.
      add_tops(m.room, kHour, hour, m.top, 2 * retention_.top_hour_keys);
    }
  }
  Exec(db_, "COMMIT");
  if (latest / kHour != last_retention_hour_) {
    last_retention_hour_ = latest / kHour;
    ApplyRetention(latest);
  }
}

void SqliteHistory::ApplyRetention(std::int64_t now) {
  const auto cut = [&](const char* sql, std::int64_t step, std::chrono::seconds keep) {
    if (keep.count() <= 0) return;
    Statement s(db_, sql);
    s.Bind(1, step).Bind(2, now - keep.count());
    s.Step();
  };
  // Both tables lead with the room: each deletion is a range scan per room.
  cut("DELETE FROM frames WHERE room IN (SELECT DISTINCT room FROM frames) AND step = ?1 AND t < "
      "?2",
      kMinute, retention_.minutes);
  cut("DELETE FROM frames WHERE room IN (SELECT DISTINCT room FROM frames) AND step = ?1 AND t < "
      "?2",
      kHour, retention_.hours);
  cut("DELETE FROM tops WHERE room IN (SELECT DISTINCT room FROM tops) AND step = ?1 AND t < ?2",
      kMinute, retention_.top_minutes);
  cut("DELETE FROM tops WHERE room IN (SELECT DISTINCT room FROM tops) AND step = ?1 AND t < ?2",
      kHour, retention_.top_hours);
}

void SqliteHistory::LoadFrames(std::string room, Step step, std::int64_t from, std::int64_t to,
                               std::function<void(bool ok, Frames)> done) {
  Post([this, room = std::move(room), step, from, to, done = std::move(done)] {
    Frames frames;
    if (step == Step::kSecond) return done(false, std::move(frames));
    Statement s(db_,
                "SELECT t, data FROM frames WHERE room = ?1 AND step = ?2 AND t >= ?3 AND t < ?4 "
                "ORDER BY t");
    s.Bind(1, room).Bind(2, StepSeconds(step)).Bind(3, from).Bind(4, to);
    int rc = 0;
    while ((rc = s.Step()) == SQLITE_ROW) {
      Frame f;
      if (DecodeFrame(s.Blob(1), f)) frames.emplace_back(s.Int(0), f);
    }
    done(rc == SQLITE_DONE, std::move(frames));
  });
}

void SqliteHistory::LoadTop(std::string room, Dimension dim, Step step, std::int64_t from,
                            std::int64_t to, std::size_t k,
                            std::function<void(bool ok, TopResult)> done) {
  Post([this, room = std::move(room), dim, step, from, to, k, done = std::move(done)] {
    TopResult result;
    if (step == Step::kSecond) return done(false, std::move(result));
    Statement s(db_,
                "SELECT key, SUM(count) AS n FROM tops WHERE room = ?1 AND step = ?2 AND dim = ?3 "
                "AND t >= ?4 AND t < ?5 GROUP BY key ORDER BY n DESC, key LIMIT ?6");
    s.Bind(1, room).Bind(2, StepSeconds(step)).Bind(3, static_cast<std::int64_t>(dim));
    s.Bind(4, from).Bind(5, to).Bind(6, static_cast<std::int64_t>(k));
    int rc = 0;
    while ((rc = s.Step()) == SQLITE_ROW) {
      result.entries.push_back({std::string(s.Blob(0)), static_cast<std::uint64_t>(s.Int(1))});
    }
    bool ok = rc == SQLITE_DONE;
    Statement f(db_,
                "SELECT data FROM frames WHERE room = ?1 AND step = ?2 AND t >= ?3 AND t < ?4");
    f.Bind(1, room).Bind(2, StepSeconds(step)).Bind(3, from).Bind(4, to);
    while ((rc = f.Step()) == SQLITE_ROW) {
      Frame frame;
      if (DecodeFrame(f.Blob(0), frame)) result.seen += frame[SeenField(dim)];
    }
    ok = ok && rc == SQLITE_DONE;
    done(ok, std::move(result));
  });
}

}  // namespace vwr::analytics
