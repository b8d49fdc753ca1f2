#include "token/key_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "util/base64.hpp"
#include "util/files.hpp"
#include "util/random.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr char kManifestName[] = "manifest.json";
constexpr char kLockName[] = ".lock";
constexpr std::string_view kTempPrefix = ".tmp-";
constexpr std::string_view kKeyPrefix = "key-";
constexpr std::string_view kKeySuffix = ".pem";
constexpr std::int64_t kManifestFormat = 1;
// A manifest lists a handful of keys; a PEM key is a few hundred bytes.
constexpr std::size_t kMaxManifestBytes = 1024 * 1024;
constexpr std::size_t kMaxPemBytes = 64 * 1024;
constexpr std::chrono::milliseconds kLockWait{10000};
constexpr int kLoadAttempts = 5;

std::string ErrnoText(int error) { return std::strerror(error); }

using util::Fd;

std::string Join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (!out.empty() && out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string KeyFileName(std::string_view kid) {
  return std::string(kKeyPrefix) + std::string(kid) + std::string(kKeySuffix);
}

struct ReadError {
  int error = 0;           // errno, or 0 when `message` says what is wrong
  std::string message;     // "Permission denied", "larger than 1 MiB", ...
  bool untrusted = false;  // `message` is util::OpenPrivateFile's: it names the file itself
};

// The whole file, at most `max_bytes`, when util::OpenPrivateFile trusts it with `secrecy`.
boost::system::result<std::string, ReadError> ReadFile(const std::string& path,
                                                       std::size_t max_bytes,
                                                       util::FileSecrecy secrecy) {
  util::PrivateFile file = util::OpenPrivateFile(path, secrecy);
  if (file.not_regular) return ReadError{0, "not a regular file"};
  if (!file.refused.empty()) return ReadError{0, std::move(file.refused), true};
  if (!file.fd.valid()) return ReadError{file.error, ErrnoText(file.error)};
  const Fd& fd = file.fd;
  std::string out;
  char buffer[16 * 1024];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      OPENSSL_cleanse(out.data(), out.size());
      return ReadError{error, ErrnoText(error)};
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      OPENSSL_cleanse(out.data(), out.size());
      return ReadError{0, "larger than " + std::to_string(max_bytes / 1024) + " KiB"};
    }
  }
  OPENSSL_cleanse(buffer, sizeof(buffer));
  return out;
}

// mkdir -p; the directories it creates get mode 0700.
boost::system::result<void, std::string> CreateDirectories(const std::filesystem::path& dir) {
  std::filesystem::path failed;
  const int error = util::CreatePrivateDirectories(dir, &failed);
  if (error == 0) return {};
  if (error == ENOTDIR) return failed.string() + ": exists and is not a directory";
  return failed.string() + ": " + ErrnoText(error);
}

boost::system::result<void, std::string> SyncDirectory(const std::string& dir) {
  if (!util::SyncDirectory(dir))
    return "cannot sync the directory " + dir + ": " + ErrnoText(errno);
  return {};
}

std::string TempPath(const std::string& dir) {
  std::uint8_t suffix[8];
  util::SecureRandom(suffix);
  return Join(dir, std::string(kTempPrefix) + util::HexEncode(suffix));
}

// Writes `contents` to a fresh temporary file (mode 0600) in `dir` and fsyncs it; returns its
// path. The caller links or renames it into place.
// (Both sides are strings: the constructors say which one they build.)
using PathOrError = boost::system::result<std::string, std::string>;

PathOrError Failed(std::string message) {
  return PathOrError(boost::system::in_place_error, std::move(message));
}
PathOrError Succeeded(std::string value) {
  return PathOrError(boost::system::in_place_value, std::move(value));
}

PathOrError WriteTemp(const std::string& dir, std::string_view contents) {
  const std::string temp = TempPath(dir);
  const Fd fd = util::CreateFile(temp, 0600);
  if (!fd.valid()) return Failed("cannot create " + temp + ": " + ErrnoText(errno));
  if (!util::WriteAll(fd.get(), contents) || ::fsync(fd.get()) != 0) {
    const std::string why = ErrnoText(errno);
    ::unlink(temp.c_str());
    return Failed("cannot write " + temp + ": " + why);
  }
  return Succeeded(temp);
}

// Places a new file at `path` (which must not exist) with `contents`, durably.
boost::system::result<void, std::string> CreateFile(const std::string& dir, const std::string& path,
                                                    std::string_view contents) {
  auto temp = WriteTemp(dir, contents);
  if (!temp) return temp.error();
  const int rc = ::link(temp->c_str(), path.c_str());
  const int error = errno;
  ::unlink(temp->c_str());
  if (rc != 0) return "cannot create " + path + ": " + ErrnoText(error);
  return {};
}

// Holds an exclusive flock on <dir>/.lock for its lifetime.
class DirLock {
 public:
  static boost::system::result<DirLock, std::string> Acquire(const std::string& dir) {
    const std::string path = Join(dir, kLockName);
    Fd fd = util::OpenOrCreateFile(path, 0600, O_RDWR);
    if (!fd.valid()) return "cannot open the lock file " + path + ": " + ErrnoText(errno);
    const int error = util::LockExclusive(fd.get(), kLockWait);
    if (error == 0) return DirLock(std::move(fd));
    if (error == EWOULDBLOCK)
      return "cannot lock " + path + ": another process has held it for 10 s";
    return "cannot lock " + path + ": " + ErrnoText(error) +
           " (the key directory needs a filesystem with flock)";
  }

 private:
  explicit DirLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;  // closing it releases the lock
};

// ---- the manifest ----

struct ManifestKey {
  std::string kid;
  EcPublicKey key;
  std::int64_t created = 0;
  std::optional<std::int64_t> retired;
};

struct Manifest {
  std::int64_t token_lifetime_max = 0;
  std::vector<ManifestKey> keys;  // active first, then retired newest first
};

std::string Serialize(const Manifest& m) {
  std::string out = R"({"format":)" + std::to_string(kManifestFormat) +
                    R"(,"token_lifetime_max":)" + std::to_string(m.token_lifetime_max) +
                    R"(,"keys":[)";
  bool first = true;
  for (const ManifestKey& k : m.keys) {
    json::object o;
    o.emplace("kid", k.kid);
    o.emplace("created_at", k.created);
    if (k.retired) o.emplace("retired_at", *k.retired);
    o.emplace("x", util::Base64UrlEncode(k.key.x()));
    o.emplace("y", util::Base64UrlEncode(k.key.y()));
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += json::serialize(o);
  }
  out += "\n]}\n";
  return out;
}

// Orders keys as KeySet promises: the active key first, then retired ones, newest first.
void Order(std::vector<ManifestKey>& keys) {
  std::stable_sort(keys.begin(), keys.end(), [](const ManifestKey& a, const ManifestKey& b) {
    if (a.retired.has_value() != b.retired.has_value()) return !a.retired.has_value();
    return a.retired && *a.retired > *b.retired;
  });
}

boost::system::result<Manifest, std::string> ParseManifest(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) return "not valid JSON (" + ec.message() + ")";
  const json::object* root = doc.if_object();
  if (root == nullptr) return std::string("not a JSON object");
  const json::value* format = root->if_contains("format");
  if (format == nullptr || !format->is_int64() || format->get_int64() != kManifestFormat) {
    return std::string("format: expected 1 (written by another version of vwr?)");
  }
  Manifest m;
  if (const json::value* lifetime = root->if_contains("token_lifetime_max")) {
    if (!lifetime->is_int64() || lifetime->get_int64() < 0) {
      return std::string("token_lifetime_max: expected a whole number of seconds");
    }
    m.token_lifetime_max = lifetime->get_int64();
  }
  const json::value* keys = root->if_contains("keys");
  if (keys == nullptr || !keys->is_array() || keys->get_array().empty()) {
    return std::string("keys: expected a non-empty list");
  }
  std::set<std::string> seen;
  int active = 0;
  std::size_t index = 0;
  for (const json::value& item : keys->get_array()) {
    const std::string where = "keys[" + std::to_string(index++) + "]";
    const json::object* o = item.if_object();
    if (o == nullptr) return where + ": expected an object";
    const json::value* kid = o->if_contains("kid");
    const json::value* created = o->if_contains("created_at");
    const json::value* retired = o->if_contains("retired_at");
    const json::value* x = o->if_contains("x");
    const json::value* y = o->if_contains("y");
    if (kid == nullptr || !kid->is_string()) return where + ".kid: expected a string";
    if (created == nullptr || !created->is_int64()) {
      return where + ".created_at: expected unix seconds";
    }
    if (retired != nullptr && !retired->is_int64()) {
      return where + ".retired_at: expected unix seconds";
    }
    EcCoordinate xs;
    EcCoordinate ys;
    auto coordinate = [](const json::value* v, EcCoordinate& out) {
      return v != nullptr && v->is_string() && v->get_string().size() == 43 &&
             util::Base64UrlDecodeInto(v->get_string(), out) == out.size();
    };
    if (!coordinate(x, xs)) return where + ".x: expected 32 bytes of unpadded base64url";
    if (!coordinate(y, ys)) return where + ".y: expected 32 bytes of unpadded base64url";
    std::optional<EcPublicKey> key = EcPublicKey::FromCoordinates(xs, ys);
    if (!key) return where + ": (x, y) is not a point of P-256";
    const std::string kid_text(kid->get_string());
    if (kid_text != JwkThumbprint(*key)) {
      return where + ".kid: is not the thumbprint of (x, y); the file is damaged";
    }
    if (!seen.insert(kid_text).second) return where + ".kid: listed twice";
    ManifestKey k{kid_text, std::move(*key), created->get_int64(), std::nullopt};
    if (retired != nullptr) {
      k.retired = retired->get_int64();
    } else {
      ++active;
    }
    m.keys.push_back(std::move(k));
  }
  if (active != 1) {
    return "keys: exactly one key must be active (without retired_at); found " +
           std::to_string(active);
  }
  Order(m.keys);
  return m;
}

KeySet ToKeySet(const Manifest& m, EcPrivateKey active_private) {
  std::vector<KeyRecord> keys;
  keys.reserve(m.keys.size());
  for (const ManifestKey& k : m.keys) keys.push_back(KeyRecord{k.kid, k.key, k.created, k.retired});
  return KeySet{std::move(keys), std::move(active_private), m.token_lifetime_max};
}

Manifest ToManifest(const KeySet& set) {
  Manifest m;
  m.token_lifetime_max = set.token_lifetime_max_s;
  for (const KeyRecord& k : set.keys) {
    m.keys.push_back(ManifestKey{k.kid, k.key, k.created_unix, k.retired_unix});
  }
  return m;
}

std::optional<FileStamp> StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{
      static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
      static_cast<std::int64_t>(st.st_size),
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// "<path>: <what is wrong>" (an untrusted file's message names it already).
std::string Where(const std::string& path, const ReadError& error) {
  return error.untrusted ? error.message : path + ": " + error.message;
}

struct LoadFailure {
  bool missing = false;  // no manifest: the directory holds no keys yet
  std::string message;
};

boost::system::result<KeySet, LoadFailure> LoadKeys(const std::string& dir) {
  const std::string manifest_path = Join(dir, kManifestName);
  std::string last_error;
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    const std::optional<FileStamp> before = StampOf(manifest_path);
    // The manifest holds public keys only: others may read it, not write it.
    auto text = ReadFile(manifest_path, kMaxManifestBytes, util::FileSecrecy::kData);
    if (!text) {
      if (text.error().error == ENOENT) {
        return LoadFailure{true, manifest_path + ": no keys yet (the file does not exist)"};
      }
      return LoadFailure{false, Where(manifest_path, text.error())};
    }
    auto manifest = ParseManifest(*text);
    if (!manifest) return LoadFailure{false, manifest_path + ": " + manifest.error()};
    const ManifestKey& active = manifest->keys.front();
    const std::string pem_path = Join(dir, KeyFileName(active.kid));
    auto pem = ReadFile(pem_path, kMaxPemBytes, util::FileSecrecy::kSecret);
    if (!pem) {
      // Retired by another process between the two reads: read the new manifest.
      if (pem.error().error == ENOENT && StampOf(manifest_path) != before) {
        last_error = Where(pem_path, pem.error());
        continue;
      }
      return LoadFailure{false, Where(pem_path, pem.error()) +
                                    (pem.error().error == ENOENT
                                         ? " (the private key of the active key in manifest.json)"
                                         : "")};
    }
    auto key = EcPrivateKey::FromPem(*pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!key) return LoadFailure{false, pem_path + ": " + key.error()};
    if (!(key->public_key() == active.key)) {
      return LoadFailure{
          false, pem_path + ": holds another key than manifest.json's active key " + active.kid};
    }
    return ToKeySet(*manifest, std::move(*key));
  }
  return LoadFailure{false, "the keys kept changing while being read; last: " + last_error};
}

// Writes a new private key file for `key`; returns its kid.
PathOrError WriteKeyFile(const std::string& dir, const EcPrivateKey& key) {
  const std::string kid = JwkThumbprint(key.public_key());
  std::string pem = key.ToPem();
  auto made = CreateFile(dir, Join(dir, KeyFileName(kid)), pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!made) return Failed(made.error());
  return Succeeded(kid);
}

struct WriteError {
  bool exists = false;  // creating the first manifest: another process made one first
  std::string message;
};

// Replaces (or, with `first`, creates: fails when one exists) the manifest, durably.
boost::system::result<void, WriteError> CommitManifest(const std::string& dir, const Manifest& m,
                                                       bool first) {
  const std::string path = Join(dir, kManifestName);
  auto temp = WriteTemp(dir, Serialize(m));
  if (!temp) return WriteError{false, temp.error()};
  const int rc =
      first ? ::link(temp->c_str(), path.c_str()) : ::rename(temp->c_str(), path.c_str());
  const int error = errno;
  if (first || rc != 0) ::unlink(temp->c_str());
  if (rc != 0) {
    return WriteError{error == EEXIST, "cannot write " + path + ": " + ErrnoText(error)};
  }
  if (auto synced = SyncDirectory(dir); !synced) return WriteError{false, synced.error()};
  return {};
}

// Under the lock: removes temporary files left by interrupted writers and private key files of
// keys that are no longer active. Best effort.
void Sweep(const std::string& dir, std::string_view active_kid) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const std::string active_file = KeyFileName(active_kid);
  std::vector<std::string> doomed;
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name = entry->d_name;
    const bool temp = name.starts_with(kTempPrefix);
    const bool old_key =
        name.starts_with(kKeyPrefix) && name.ends_with(kKeySuffix) && name != active_file;
    if (temp || old_key) doomed.emplace_back(name);
  }
  ::closedir(d);
  for (const std::string& name : doomed) ::unlink(Join(dir, name).c_str());
  if (!doomed.empty()) (void)SyncDirectory(dir);
}

// Drops retired keys past their not-after; returns their kids.
std::vector<std::string> PruneExpired(Manifest& m, std::int64_t now_unix) {
  std::vector<std::string> pruned;
  std::erase_if(m.keys, [&](const ManifestKey& k) {
    if (!k.retired || RetiredKeyNotAfter(*k.retired, m.token_lifetime_max) > now_unix) {
      return false;
    }
    pruned.push_back(k.kid);
    return true;
  });
  return pruned;
}

// Under the lock: makes a key and writes a manifest with it active and `m`'s keys retired.
boost::system::result<KeySet, WriteError> AddActiveKey(const std::string& dir, Manifest m,
                                                       std::int64_t now_unix, bool first) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  auto kid = WriteKeyFile(dir, key);
  if (!kid) return WriteError{false, kid.error()};
  for (ManifestKey& k : m.keys) {
    if (!k.retired) k.retired = now_unix;
  }
  m.keys.insert(m.keys.begin(), ManifestKey{*kid, key.public_key(), now_unix, std::nullopt});
  Order(m.keys);
  if (auto committed = CommitManifest(dir, m, first); !committed) {
    ::unlink(Join(dir, KeyFileName(*kid)).c_str());
    return committed.error();
  }
  return ToKeySet(m, key);
}

}  // namespace

boost::system::result<KeyDirectory, std::string> KeyDirectory::Open(std::string path) {
  if (path.empty()) return std::string("the key directory path is empty");
  if (auto made = CreateDirectories(std::filesystem::path(path)); !made) return made.error();
  // Whoever could write it could put their own key or manifest in it.
  if (auto problem = util::CheckPrivateDirectory(path)) return std::move(*problem);
  return KeyDirectory(std::move(path));
}

std::string KeyDirectory::manifest_path() const { return Join(path_, kManifestName); }

std::optional<std::string> KeyDirectory::PermissionWarning() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return "the key directory " + path_ + " can be read by group or others (mode " + mode +
         "); make it 0700";
}

std::optional<FileStamp> KeyDirectory::Stamp() const { return StampOf(manifest_path()); }

boost::system::result<KeySet, std::string> KeyDirectory::Load() const {
  auto keys = LoadKeys(path_);
  if (!keys) return keys.error().message;
  return std::move(*keys);
}

boost::system::result<KeyDirectory::LoadOutcome, std::string> KeyDirectory::LoadOrCreate(
    std::int64_t now_unix, std::int64_t token_lifetime_s) {
  auto existing = LoadKeys(path_);
  if (existing) {
    if (existing->token_lifetime_max_s >= token_lifetime_s) {
      return LoadOutcome{std::move(*existing), false};
    }
  } else if (!existing.error().missing) {
    return existing.error().message;
  }
  // No keys yet, or a lifetime to raise: both change the directory.
  auto changed = Tidy(now_unix, token_lifetime_s);
  if (!changed) return changed.error();
  return LoadOutcome{std::move(changed->keys), changed->created.has_value()};
}

boost::system::result<KeyDirectory::ChangeOutcome, std::string> KeyDirectory::Rotate(
    std::int64_t now_unix, std::int64_t token_lifetime_s,
    std::optional<std::int64_t> only_if_older_than_s) {
  auto lock = DirLock::Acquire(path_);
  if (!lock) return lock.error();
  auto current = LoadKeys(path_);
  if (!current) {
    if (!current.error().missing) return current.error().message;
    return CreateFirstLocked(now_unix, token_lifetime_s);
  }
  if (only_if_older_than_s && now_unix - current->active().created_unix < *only_if_older_than_s) {
    return ChangeOutcome{std::move(*current), std::nullopt, std::nullopt, {}};
  }
  Manifest m = ToManifest(*current);
  m.token_lifetime_max = std::max(m.token_lifetime_max, token_lifetime_s);
  std::vector<std::string> pruned = PruneExpired(m, now_unix);
  auto keys = AddActiveKey(path_, std::move(m), now_unix, /*first=*/false);
  if (!keys) return keys.error().message;
  std::string kid = keys->active().kid;
  Sweep(path_, kid);
  return ChangeOutcome{std::move(*keys), std::move(kid), current->active().kid, std::move(pruned)};
}

boost::system::result<KeyDirectory::ChangeOutcome, std::string> KeyDirectory::CreateFirstLocked(
    std::int64_t now_unix, std::int64_t token_lifetime_s) {
  Manifest m;
  m.token_lifetime_max = token_lifetime_s;
  auto keys = AddActiveKey(path_, std::move(m), now_unix, /*first=*/true);
  if (!keys) {
    if (!keys.error().exists) return keys.error().message;
    // Created meanwhile by a process that did not hold the lock: use its key.
    auto theirs = LoadKeys(path_);
    if (!theirs) return theirs.error().message;
    return ChangeOutcome{std::move(*theirs), std::nullopt, std::nullopt, {}};
  }
  std::string kid = keys->active().kid;
  Sweep(path_, kid);
  return ChangeOutcome{std::move(*keys), std::move(kid), std::nullopt, {}};
}

boost::system::result<KeyDirectory::ChangeOutcome, std::string> KeyDirectory::Tidy(
    std::int64_t now_unix, std::int64_t token_lifetime_s) {
  auto lock = DirLock::Acquire(path_);
  if (!lock) return lock.error();
  auto current = LoadKeys(path_);
  if (!current) {
    if (!current.error().missing) return current.error().message;
    return CreateFirstLocked(now_unix, token_lifetime_s);
  }
  Manifest m = ToManifest(*current);
  const bool raised = m.token_lifetime_max < token_lifetime_s;
  m.token_lifetime_max = std::max(m.token_lifetime_max, token_lifetime_s);
  std::vector<std::string> pruned = PruneExpired(m, now_unix);
  if (raised || !pruned.empty()) {
    if (auto committed = CommitManifest(path_, m, false); !committed) {
      return committed.error().message;
    }
  }
  Sweep(path_, current->active().kid);
  return ChangeOutcome{ToKeySet(m, current->active_private), std::nullopt, std::nullopt,
                       std::move(pruned)};
}

}  // namespace vwr::token
