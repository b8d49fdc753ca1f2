#include "admin/sqlite_admin_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstring>
#include <limits>

#include "util/sqlite_file.hpp"

namespace vwr::admin {
namespace {

// A prepared statement, finalised when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      spdlog::error("admin database: cannot prepare a statement: {}", sqlite3_errmsg(db));
      stmt_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error (logged).
  int Step() {
    if (stmt_ == nullptr) return SQLITE_ERROR;
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      spdlog::error("admin database: {}", sqlite3_errmsg(db_));
    }
    return rc;
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL, operator TEXT NOT NULL, address TEXT NOT NULL,
  room TEXT NOT NULL, action TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_t ON audit (t_ms);
CREATE TABLE IF NOT EXISTS operators (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash TEXT NOT NULL,
  created INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS control (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql";

}  // namespace

std::shared_ptr<SqliteAdminStore> SqliteAdminStore::Open(const std::string& path,
                                                         std::string& error) {
  sqlite3* db = util::OpenPrivateDatabase(path, kSchema, error);
  if (db == nullptr) return nullptr;
  return std::shared_ptr<SqliteAdminStore>(new SqliteAdminStore(db));
}

SqliteAdminStore::SqliteAdminStore(sqlite3* db) : db_(db), thread_([this] { Run(); }) {}

SqliteAdminStore::~SqliteAdminStore() {
  Close();
  sqlite3_close(db_);
}

void SqliteAdminStore::Close() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SqliteAdminStore::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) break;  // stopping, and everything asked is done
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
  stopped_ = true;
}

void SqliteAdminStore::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  // After Close (a request answered while the node drains): run here, once, in order.
  static std::mutex after_close;
  std::lock_guard lock(after_close);
  job();
}

void SqliteAdminStore::Append(AuditEntry entry, std::function<void(bool stored)> done) {
  Post([this, entry = std::move(entry), done = std::move(done)] {
    Statement insert(db_,
                     "INSERT INTO audit (t_ms, operator, address, room, action, before, after) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
    const AuditRecord& r = entry.record;
    insert.Bind(1, entry.time_ms)
        .Bind(2, r.operator_name)
        .Bind(3, r.address)
        .Bind(4, r.room)
        .Bind(5, r.action)
        .Bind(6, r.before)
        .Bind(7, r.after);
    done(insert.Step() == SQLITE_DONE);
  });
}

void SqliteAdminStore::Search(AuditQuery query,
                              std::function<void(bool ok, std::vector<AuditEntry>)> done) {
  Post([this, query = std::move(query), done = std::move(done)] {
    // Time, operator and room narrow the rows in SQL; the text is matched here, alike on every
    // store (Matches).
    Statement select(db_,
                     "SELECT t_ms, operator, address, room, action, before, after FROM audit "
                     "WHERE t_ms >= ? AND t_ms < ? AND (? = '' OR operator = ?) "
                     "AND (? = '' OR room = ?) ORDER BY t_ms DESC, id DESC");
    select.Bind(1, query.from_ms)
        .Bind(2, query.to_ms)
        .Bind(3, query.operator_name)
        .Bind(4, query.operator_name)
        .Bind(5, query.room)
        .Bind(6, query.room);
    std::vector<AuditEntry> found;
    int rc = SQLITE_ROW;
    while (found.size() < query.limit && (rc = select.Step()) == SQLITE_ROW) {
      AuditEntry entry{.time_ms = select.Int(0),
                       .record = AuditRecord{.operator_name = select.Text(1),
                                             .address = select.Text(2),
                                             .room = select.Text(3),
                                             .action = select.Text(4),
                                             .before = select.Text(5),
                                             .after = select.Text(6)}};
      if (Matches(query, entry)) found.push_back(std::move(entry));
    }
    const bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    done(ok, std::move(found));
  });
}

void SqliteAdminStore::LoadOperators(std::function<void(bool ok, std::vector<OperatorInfo>)> done) {
  Post([this, done = std::move(done)] {
    Statement select(db_, "SELECT name, role, token_hash, created FROM operators ORDER BY name");
    std::vector<OperatorInfo> found;
    int rc = SQLITE_ROW;
    while ((rc = select.Step()) == SQLITE_ROW) {
      const std::optional<Role> role = ParseRole(select.Text(1));
      if (!role) {
        spdlog::warn("admin database: operator {} has an unknown role; left out", select.Text(0));
        continue;
      }
      found.push_back(OperatorInfo{.name = select.Text(0),
                                   .role = *role,
                                   .token_hash = select.Text(2),
                                   .origin = OperatorOrigin::kApi,
                                   .created_unix = select.Int(3)});
    }
    done(rc == SQLITE_DONE, std::move(found));
  });
}

void SqliteAdminStore::AddOperator(OperatorInfo info,
                                   std::function<void(bool ok, bool created)> done) {
  Post([this, info = std::move(info), done = std::move(done)] {
    Statement insert(db_,
                     "INSERT OR IGNORE INTO operators (name, role, token_hash, created) "
                     "VALUES (?, ?, ?, ?)");
    insert.Bind(1, info.name)
        .Bind(2, RoleName(info.role))
        .Bind(3, info.token_hash)
        .Bind(4, info.created_unix);
    const bool ok = insert.Step() == SQLITE_DONE;
    done(ok, ok && sqlite3_changes(db_) == 1);
  });
}

void SqliteAdminStore::RemoveOperator(std::string name,
                                      std::function<void(bool ok, bool existed)> done) {
  Post([this, name = std::move(name), done = std::move(done)] {
    Statement remove(db_, "DELETE FROM operators WHERE name = ?");
    remove.Bind(1, name);
    const bool ok = remove.Step() == SQLITE_DONE;
    done(ok, ok && sqlite3_changes(db_) == 1);
  });
}

void SqliteAdminStore::LoadControl(std::function<void(bool ok, Entries)> done) {
  Post([this, done = std::move(done)] {
    Statement select(db_, "SELECT key, value FROM control ORDER BY key");
    Entries found;
    int rc = SQLITE_ROW;
    while ((rc = select.Step()) == SQLITE_ROW) found.emplace_back(select.Text(0), select.Text(1));
    done(rc == SQLITE_DONE, std::move(found));
  });
}

void SqliteAdminStore::PutControl(std::string key, std::string value,
                                  std::function<void(bool ok)> done) {
  Post([this, key = std::move(key), value = std::move(value), done = std::move(done)] {
    Statement upsert(db_, "INSERT OR REPLACE INTO control (key, value) VALUES (?, ?)");
    upsert.Bind(1, key).Bind(2, value);
    done(upsert.Step() == SQLITE_DONE);
  });
}

void SqliteAdminStore::RemoveControl(std::string key, std::function<void(bool ok)> done) {
  Post([this, key = std::move(key), done = std::move(done)] {
    Statement remove(db_, "DELETE FROM control WHERE key = ?");
    remove.Bind(1, key);
    done(remove.Step() == SQLITE_DONE);
  });
}

}  // namespace vwr::admin
