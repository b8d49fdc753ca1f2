// store: the embedded store's journal and snapshots, or the Redis it shares rooms through.

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include "config/address.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"
#include "redis/options.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

// store: how often the journal is fsynced (interval mode) and the state snapshotted.
constexpr milliseconds kMinFsyncInterval{1};
constexpr milliseconds kMaxFsyncInterval{10'000};
constexpr milliseconds kMinSnapshotInterval{1'000};
constexpr milliseconds kMaxSnapshotInterval{60 * 60'000};
constexpr std::array<std::string_view, 6> kStoreKeys = {
    "kind", "data_dir", "fsync", "fsync_interval", "snapshot_interval", "redis"};
constexpr std::array<std::string_view, 7> kRedisKeys = {
    "url", "cluster", "nodes", "connect_timeout", "command_timeout", "lease", "key_prefix"};
constexpr std::array<std::string_view, 2> kStoreKinds = {"embedded", "redis"};
constexpr std::array<std::string_view, 3> kFsyncModes = {"always", "interval", "never"};

void ReadRedis(Reader& reader, const Field& field, RedisConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kRedisKeys);
  if (!fields) return;
  // Read by the Redis client's own parser, so that the two can never disagree. Its messages
  // never quote the URL back: the password may be in it.
  std::optional<redis::ClientOptions> client;
  if (const Field* url = fields->Find("url")) {
    if (std::optional<std::string> value = reader.ReadString(*url)) {
      auto parsed = redis::ParseRedisUrl(*value);
      if (!parsed) {
        reader.Error(url->mark, url->path, parsed.error());
      } else {
        out.url = *value;
        client = std::move(*parsed);
      }
    }
  }
  if (const Field* cluster = fields->Find("cluster")) {
    if (std::optional<std::string> value = reader.ReadChoice(*cluster, kBooleans)) {
      out.cluster = *value == "true";
    }
  }
  if (const Field* nodes = fields->Find("nodes")) {
    if (!nodes->node.IsSequence()) {
      reader.Error(nodes->mark, nodes->path, "expected a list of HOST:PORT");
    } else {
      for (std::size_t i = 0; i < nodes->node.size(); ++i) {
        const YAML::Node item = nodes->node[i];
        const Field entry{nodes->path + "[" + std::to_string(i) + "]", item.Mark(), item};
        if (std::optional<std::string> text = reader.ReadString(entry)) {
          if (std::optional<HostPort> hp = ParseHostPort(*text); hp && hp->port != 0) {
            out.nodes.push_back(*hp);
          } else {
            reader.Error(entry.mark, entry.path, "expected HOST:PORT, got " + Quote(*text));
          }
        }
      }
    }
  }
  // More seeds without cluster: true would be ignored: the URL's Redis would be taken for the
  // only one, and every room on another master would stay unavailable.
  if (const Field* nodes = fields->Find("nodes");
      nodes != nullptr && !out.cluster && !out.nodes.empty()) {
    reader.Error(nodes->mark, nodes->path,
                 "lists seeds of a Redis Cluster: set store.redis.cluster: true, or remove it");
  }
  // A Redis Cluster has database 0 only: a URL naming another would be silently ignored.
  if (const Field* url = fields->Find("url"); client && client->db != 0 && out.cluster) {
    reader.Error(url->mark, url->path,
                 "names a database other than 0, which a Redis Cluster does not have: "
                 "remove it (or end the URL with /0)");
  }
  auto duration = [&](const char* key, std::chrono::milliseconds& target, milliseconds min,
                      milliseconds max) {
    if (const Field* f = fields->Find(key)) {
      if (auto value = ReadDurationInRange(reader, *f, min, max)) target = *value;
    }
  };
  duration("connect_timeout", out.connect_timeout, milliseconds(10), milliseconds(60'000));
  duration("command_timeout", out.command_timeout, milliseconds(10), milliseconds(60'000));
  duration("lease", out.lease, milliseconds(200), milliseconds(60'000));
  if (const Field* prefix = fields->Find("key_prefix")) {
    if (std::optional<std::string> value = reader.ReadString(*prefix)) {
      const bool ok =
          !value->empty() && value->size() <= 32 &&
          std::all_of(value->begin(), value->end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
          });
      if (ok) {
        out.key_prefix = *value;
      } else {
        reader.Error(prefix->mark, prefix->path,
                     "must be 1 to 32 letters, digits, '_', '.' or '-'; got " + Quote(*value));
      }
    }
  }
}

}  // namespace

void ReadStore(Reader& reader, const Field& field, StoreConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kStoreKeys);
  if (!fields) return;
  if (const Field* kind = fields->Find("kind")) {
    if (std::optional<std::string> value = reader.ReadChoice(*kind, kStoreKinds)) out.kind = *value;
  }
  if (const Field* redis = fields->Find("redis")) ReadRedis(reader, *redis, out.redis);
  if (const Field* data_dir = fields->Find("data_dir")) {
    if (std::optional<std::string> value = reader.ReadString(*data_dir)) {
      if (value->empty()) {
        reader.Error(data_dir->mark, data_dir->path,
                     "must not be empty (leave it out to use \"./data\")");
      } else {
        out.data_dir = *value;
      }
    }
  }
  if (const Field* fsync = fields->Find("fsync")) {
    if (std::optional<std::string> value = reader.ReadChoice(*fsync, kFsyncModes)) {
      out.fsync = *value == "always"     ? FsyncMode::kAlways
                  : *value == "interval" ? FsyncMode::kInterval
                                         : FsyncMode::kNever;
    }
  }
  if (const Field* interval = fields->Find("fsync_interval")) {
    if (auto value = ReadDurationInRange(reader, *interval, kMinFsyncInterval, kMaxFsyncInterval)) {
      out.fsync_interval = *value;
    }
  }
  if (const Field* interval = fields->Find("snapshot_interval")) {
    if (auto value =
            ReadDurationInRange(reader, *interval, kMinSnapshotInterval, kMaxSnapshotInterval)) {
      out.snapshot_interval = *value;
    }
  }
}

}  // namespace vwr::config::detail
