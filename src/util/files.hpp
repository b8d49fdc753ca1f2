#pragma once

#include <filesystem>
#include <string_view>

// The few POSIX file steps that durable writes are made of (the journal, key files, the guard
// lists), each retried and checked the same way everywhere.
namespace vwr::util {

// Writes all of `data` to `fd`, through short writes and EINTR. False on an error (errno set).
bool WriteAll(int fd, std::string_view data);

// fsync of the directory `dir` (empty: the current one), so that a file created, renamed or
// linked in it survives a power failure. False on an error (errno set).
bool SyncDirectory(const std::filesystem::path& dir);

// mkdir -p; the directories it creates get mode 0700. 0 on success, else the errno of the step
// that failed (ENOTDIR when something on the way exists and is not a directory), and `failed`
// (when given) names the directory it could not make.
int CreatePrivateDirectories(const std::filesystem::path& dir,
                             std::filesystem::path* failed = nullptr);

}  // namespace vwr::util
