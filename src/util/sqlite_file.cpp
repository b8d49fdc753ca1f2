#include "util/sqlite_file.hpp"

#include <cstring>

#include "util/files.hpp"

namespace vwr::util {

sqlite3* OpenPrivateDatabase(const std::string& path, std::string_view schema, std::string& error) {
  if (const int e = path == ":memory:" ? 0 : CreatePrivateFileIfMissing(path); e != 0) {
    error = "cannot create " + path + ": " + std::strerror(e);
    return nullptr;
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    error = "cannot open " + path + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const std::string statements(schema);
  if (sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    error = "cannot use " + path + ": " + (message != nullptr ? message : "?");
    sqlite3_free(message);
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

}  // namespace vwr::util
