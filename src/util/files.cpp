#include "util/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace vwr::util {

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  errno = error;
  return synced;
}

int CreatePrivateDirectories(const std::filesystem::path& dir, std::filesystem::path* failed) {
  if (dir.empty()) return 0;
  auto fail = [&](int error) {
    if (failed != nullptr) *failed = dir;
    return error;
  };
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? 0 : fail(ENOTDIR);
  if (errno != ENOENT) return fail(errno);
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (const int error = CreatePrivateDirectories(dir.parent_path(), failed); error != 0) {
      return error;
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(errno);
  return 0;
}

}  // namespace vwr::util
