#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

namespace vwr::util {

// Opens (or creates) the SQLite database `path` for one thread of its own (SQLITE_OPEN_NOMUTEX),
// private to its owner: the file is made 0600 before SQLite creates it, and SQLite gives its
// journal the database file's mode. Waits up to 5 s on a lock held by another process, then
// runs `schema` (CREATE ... IF NOT EXISTS statements). The open database, or null with `error`
// saying what failed and where. `:memory:` is opened as it is.
sqlite3* OpenPrivateDatabase(const std::string& path, std::string_view schema, std::string& error);

}  // namespace vwr::util
