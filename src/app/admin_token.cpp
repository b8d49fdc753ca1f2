#include "app/admin_token.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "util/files.hpp"
#include "util/random.hpp"

namespace vwr::app {
namespace {

// Stores `token` as the admin token file `path` (mode 0600): a temporary file is written,
// fsync'ed and linked into place, so that a reader never sees a part of it and, of two nodes
// starting at once on one data_dir, the second keeps the first's. 0, or the errno of the step
// that failed (EEXIST: there is one already).
int StoreAdminToken(const std::filesystem::path& path, const std::string& token) {
  std::uint8_t suffix[8];
  util::SecureRandom(suffix);
  const std::filesystem::path tmp = path.string() + ".tmp-" + util::HexEncode(suffix);
  int error = 0;
  {
    const util::Fd fd = util::CreateFile(tmp, 0600);
    if (!fd.valid() || !util::WriteAll(fd.get(), token + "\n") || ::fsync(fd.get()) != 0) {
      error = errno;
    }
  }
  if (error == 0 && ::link(tmp.c_str(), path.c_str()) != 0) error = errno;
  ::unlink(tmp.c_str());
  if (error == 0 && !util::SyncDirectory(path.parent_path())) error = errno;
  return error;
}

// The admin token stored in `fd` (its first line; at least 16 characters); nullopt (logged)
// when it is not one.
std::optional<std::string> ReadAdminToken(const util::Fd& fd, const std::filesystem::path& path) {
  constexpr std::size_t kMaxBytes = 4096;  // a token is 48 characters; a longer file is not one
  std::string text(kMaxBytes, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      spdlog::error("cannot read the admin token file {}: {}", path.string(), std::strerror(errno));
      return std::nullopt;
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  text.resize(size);
  std::string token = text.substr(0, text.find('\n'));
  OPENSSL_cleanse(text.data(), text.size());
  if (token.size() >= 16) return token;
  spdlog::error("admin token file {} is shorter than 16 characters", path.string());
  return std::nullopt;
}

}  // namespace

// The admin token: from the config, else VWR_ADMIN_TOKEN, else the one stored in data_dir
// (generated and printed once, the first time). A stored one is used only when nobody else
// could have written or read it (util::OpenPrivateFile); else vwr does not start, and says why.
std::optional<std::string> AdminToken(const config::Config& config) {
  if (!config.admin.token.empty()) return config.admin.token;
  if (const char* env = std::getenv("VWR_ADMIN_TOKEN"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  const std::filesystem::path path = std::filesystem::path(config.store.data_dir) / "admin.token";
  for (int attempt = 0; attempt < 2; ++attempt) {
    util::PrivateFile stored = util::OpenPrivateFile(path, util::FileSecrecy::kSecret);
    if (!stored.refused.empty()) {
      spdlog::error("admin token file {}", stored.refused);
      return std::nullopt;
    }
    if (stored.fd.valid()) return ReadAdminToken(stored.fd, path);
    if (stored.error != ENOENT) {
      spdlog::error("cannot read the admin token file {}: {}", path.string(),
                    std::strerror(stored.error));
      return std::nullopt;
    }
    std::uint8_t bytes[24];
    util::SecureRandom(bytes);
    const std::string token = util::HexEncode(bytes);
    const int error = StoreAdminToken(path, token);
    if (error == EEXIST) continue;  // another node made it meanwhile: read it
    if (error != 0) {
      spdlog::error("cannot store the admin token at {}: {}", path.string(), std::strerror(error));
      return std::nullopt;
    }
    spdlog::warn("generated an admin token (stored in {}; shown only this once): {}", path.string(),
                 token);
    return token;
  }
  spdlog::error("cannot read or store the admin token at {}", path.string());
  return std::nullopt;
}

}  // namespace vwr::app
