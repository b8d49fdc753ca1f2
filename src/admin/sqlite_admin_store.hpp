#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "admin/audit_log.hpp"
#include "admin/control_store.hpp"
#include "admin/operator_store.hpp"

struct sqlite3;

namespace vwr::admin {

// The audit log and the API's operators of a node on the embedded store, in one SQLite database
// (<data_dir>/admin.db):
//
//   audit(id INTEGER PRIMARY KEY, t_ms, operator, address, room, action, before, after)
//   operators(name PRIMARY KEY, role, token_hash, created)
//   control(key PRIMARY KEY, value)   traffic control's run-time changes (ControlStore)
//
// One thread of its own runs every statement, in the order asked; each write is its own
// transaction with synchronous=FULL (WAL), so that a change is answered only once its audit entry
// would survive a power loss. Entries are never deleted by vwr (a row is ~200 bytes: a million
// changes are 200 MB); an operator prunes old ones with sqlite3 if ever needed.
//
// Thread-safety: every public method from any thread; `done` runs on the database's thread.
class SqliteAdminStore final : public AuditBackend, public OperatorStore, public ControlStore {
 public:
  // Opens (creating) the database; nullptr and `error` set when it cannot be used.
  static std::shared_ptr<SqliteAdminStore> Open(const std::string& path, std::string& error);
  ~SqliteAdminStore() override;

  void Append(AuditEntry entry, std::function<void(bool stored)> done) override;
  void Search(AuditQuery query,
              std::function<void(bool ok, std::vector<AuditEntry>)> done) override;
  void LoadOperators(std::function<void(bool ok, std::vector<OperatorInfo>)> done) override;
  void AddOperator(OperatorInfo info, std::function<void(bool ok, bool created)> done) override;
  void RemoveOperator(std::string name, std::function<void(bool ok, bool existed)> done) override;
  void LoadControl(std::function<void(bool ok, Entries)> done) override;
  void PutControl(std::string key, std::string value, std::function<void(bool ok)> done) override;
  void RemoveControl(std::string key, std::function<void(bool ok)> done) override;

  // Runs what is queued, then stops the thread (shutdown). Idempotent.
  void Close();

 private:
  explicit SqliteAdminStore(sqlite3* db);
  void Run();
  void Post(std::function<void()> job);

  sqlite3* db_;  // the thread's only (after construction)
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  bool stopped_ = false;                    // guarded by mu_
  std::thread thread_;
};

}  // namespace vwr::admin
