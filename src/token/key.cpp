#include "token/key.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include "token/hmac_sha256.hpp"
#include "util/files.hpp"
#include "util/random.hpp"

namespace vwr::token {
namespace {

using boost::system::error_code;

constexpr std::size_t kHexLength = 2 * sizeof(SecretKey::bytes);
// A valid file is 65 bytes; anything much larger is not a key file and is not read into memory.
constexpr std::size_t kMaxFileSize = 4096;

class KeyErrorCategoryImpl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "vwr.key"; }
  std::string message(int ev) const override {
    switch (static_cast<KeyError>(ev)) {
      case KeyError::kMalformed:
        return "key file content is not 64 hex digits";
      case KeyError::kNotRegularFile:
        return "key path is not a regular file";
      case KeyError::kUntrusted:
        return "key file may be changed or read by others";
    }
    return "unknown key error";
  }
};

error_code ErrnoError() { return error_code(errno, boost::system::system_category()); }

using util::Fd;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::optional<SecretKey> ParseKey(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  if (text.size() != kHexLength) return std::nullopt;
  SecretKey key;
  for (std::size_t i = 0; i < key.bytes.size(); ++i) {
    const int hi = HexValue(text[2 * i]);
    const int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return key;
}

using KeyResult = boost::system::result<SecretKey, KeyFileError>;

KeyFileError Failure(error_code code) { return KeyFileError{code, {}}; }

// Reads and parses an existing key file. ENOENT is returned as is so the caller can create it.
KeyResult ReadKeyFile(const std::string& path) {
  util::PrivateFile file = util::OpenPrivateFile(path, util::FileSecrecy::kSecret);
  if (file.not_regular) return Failure(KeyError::kNotRegularFile);
  if (!file.refused.empty()) return KeyFileError{KeyError::kUntrusted, std::move(file.refused)};
  if (!file.fd.valid()) return Failure(error_code(file.error, boost::system::system_category()));
  const Fd& fd = file.fd;

  char buffer[kMaxFileSize + 1];
  std::size_t size = 0;
  while (size < sizeof(buffer)) {
    const ssize_t n = ::read(fd.get(), buffer + size, sizeof(buffer) - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const error_code error = ErrnoError();
      OPENSSL_cleanse(buffer, size);
      return Failure(error);
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  std::optional<SecretKey> key;
  if (size <= kMaxFileSize) key = ParseKey(std::string_view(buffer, size));
  OPENSSL_cleanse(buffer, size);
  if (!key) return Failure(KeyError::kMalformed);
  return *key;
}

// Writes a fresh key to a temporary file and links it to `path`. Returns the key on success,
// errc::file_exists when another process created `path` first, or another error.
boost::system::result<SecretKey> CreateKeyFile(const std::string& path) {
  const std::filesystem::path final_path(path);
  const std::filesystem::path dir = final_path.parent_path();
  if (const int error = util::CreatePrivateDirectories(dir); error != 0) {
    return error_code(error, boost::system::system_category());
  }

  SecretKey key;
  util::SecureRandom(key.bytes);
  std::string contents = util::HexEncode(key.bytes) + "\n";

  std::uint8_t suffix[8];
  util::SecureRandom(suffix);
  const std::string temp_path = path + ".tmp-" + util::HexEncode(suffix);

  error_code ec;
  {
    const Fd fd = util::CreateFile(temp_path, 0600);
    if (!fd.valid()) {
      ec = ErrnoError();
      OPENSSL_cleanse(contents.data(), contents.size());
      return ec;
    }
    if (!util::WriteAll(fd.get(), contents)) ec = ErrnoError();
    if (!ec && ::fsync(fd.get()) != 0) ec = ErrnoError();
  }
  OPENSSL_cleanse(contents.data(), contents.size());
  if (!ec && ::link(temp_path.c_str(), path.c_str()) != 0) ec = ErrnoError();
  ::unlink(temp_path.c_str());
  if (ec) return ec;
  // Make the new directory entry durable: a key handed out before a crash must survive it.
  if (!util::SyncDirectory(dir)) return ErrnoError();
  return key;
}

}  // namespace

const boost::system::error_category& KeyErrorCategory() {
  static const KeyErrorCategoryImpl category;
  return category;
}

boost::system::error_code make_error_code(KeyError e) {
  return error_code(static_cast<int>(e), KeyErrorCategory());
}

boost::system::result<SecretKey, KeyFileError> LoadOrCreateKeyFile(const std::string& path,
                                                                   bool* created) {
  if (created != nullptr) *created = false;
  KeyResult existing = ReadKeyFile(path);
  if (existing || existing.error().code != boost::system::errc::no_such_file_or_directory) {
    return existing;
  }
  boost::system::result<SecretKey> fresh = CreateKeyFile(path);
  if (fresh) {
    if (created != nullptr) *created = true;
    return *fresh;
  }
  // Lost a creation race: the winner's file is complete (it was fsync'ed before being linked).
  if (fresh.error() == boost::system::errc::file_exists) return ReadKeyFile(path);
  return Failure(fresh.error());
}

std::string DescribeKeyError(std::string_view path, const KeyFileError& error) {
  // An untrusted file's message names it, and the command that mends it, already.
  if (error.code == KeyError::kUntrusted) return "key file " + error.untrusted;
  std::string out = "key file \"";
  out.append(path);
  out += "\": ";
  out += error.code.message();
  return out;
}

SecretKey DeriveKey(const SecretKey& master, std::string_view label) {
  SecretKey derived;
  derived.bytes = HmacSha256(master.bytes).Compute(label);
  return derived;
}

}  // namespace vwr::token
