#include "app/store_factory.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "analytics/redis_history.hpp"
#include "analytics/sqlite_history.hpp"
#include "store/embedded_store.hpp"
#include "store/redis_store.hpp"
#include "util/random.hpp"

namespace vwr::app {
namespace {

store::FsyncMode FsyncModeOf(config::FsyncMode mode) {
  switch (mode) {
    case config::FsyncMode::kAlways:
      return store::FsyncMode::kAlways;
    case config::FsyncMode::kNever:
      return store::FsyncMode::kNever;
    case config::FsyncMode::kInterval:
      break;
  }
  return store::FsyncMode::kInterval;
}

// A name for this node in the shared store's leases: unique while it runs.
std::string NodeId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "node");
  return fmt::format("{}:{}:{:08x}", host, ::getpid(),
                     static_cast<std::uint32_t>(util::SecureRandom64()));
}

std::optional<OpenedStore> OpenRedis(const config::StoreConfig& config,
                                     const std::vector<store::RoomSpec>& rooms,
                                     const util::Clock& clock) {
  const config::RedisConfig& r = config.redis;
  auto client = redis::ParseRedisUrl(r.url);
  if (!client) {
    spdlog::error("store.redis.url: {}", client.error());
    return std::nullopt;
  }
  store::RedisStoreOptions options;
  options.client = *client;
  options.client.cluster = r.cluster;
  for (const config::HostPort& node : r.nodes) {
    options.client.seeds.push_back(redis::Endpoint{node.host, node.port});
  }
  options.client.connect_timeout = r.connect_timeout;
  options.client.command_timeout = r.command_timeout;
  options.lease = r.lease;
  options.key_prefix = r.key_prefix;
  options.node_id = NodeId();
  spdlog::info("store: redis{} with {} seed(s), this node is {}", r.cluster ? " cluster" : "",
               options.client.seeds.size(), options.node_id);
  auto redis_store = std::make_unique<store::RedisStore>(rooms, clock, std::move(options));
  OpenedStore opened;
  opened.shared = SharedServices{.redis = &redis_store->client(),
                                 .key_prefix = redis_store->options().key_prefix,
                                 .redis_options = redis_store->options().client,
                                 .node_id = redis_store->options().node_id,
                                 .remembers_spent_challenges = true};
  opened.store = std::move(redis_store);
  return opened;
}

std::optional<OpenedStore> OpenEmbedded(const config::StoreConfig& config,
                                        const std::vector<store::RoomSpec>& rooms,
                                        const util::Clock& clock) {
  store::EmbeddedOptions options;
  options.dir = (std::filesystem::path(config.data_dir) / "state").string();
  options.fsync = FsyncModeOf(config.fsync);
  options.fsync_interval = config.fsync_interval;
  options.snapshot_interval = config.snapshot_interval;
  const util::TimePoint recovery_start = clock.Now();
  auto opened = store::EmbeddedStore::Open(rooms, clock, options);
  if (!opened) {
    spdlog::error("cannot open the state in {}: {}", options.dir, opened.error().message());
    return std::nullopt;
  }
  spdlog::info("state recovered in {} ms", util::ToMillis(clock.Now() - recovery_start));
  return OpenedStore{.store = std::move(*opened), .shared = SharedServices{}};
}

}  // namespace

std::optional<OpenedStore> OpenStore(const config::StoreConfig& config,
                                     const std::vector<store::RoomSpec>& rooms,
                                     const util::Clock& clock) {
  if (config.kind == "redis") return OpenRedis(config, rooms, clock);
  return OpenEmbedded(config, rooms, clock);
}

std::unique_ptr<KeySharing> ShareKeys(const SharedServices& shared, token::KeyRing& ring,
                                      const util::Clock& clock) {
  if (shared.redis == nullptr) return nullptr;
  auto sharing =
      std::make_unique<KeySharing>(*shared.redis, ring, clock, shared.key_prefix + ":jwks");
  spdlog::info("keys: shared with the other nodes through Redis ({})", sharing->hash_key());
  return sharing;
}

std::shared_ptr<guard::GuardLists> KeepGuardLists(const SharedServices& shared,
                                                  guard::AbuseGuard& guard,
                                                  const util::Clock& clock,
                                                  const std::string& data_dir,
                                                  boost::asio::any_io_executor control) {
  if (shared.redis != nullptr) {
    return guard::GuardLists::Shared(guard, clock, *shared.redis, shared.key_prefix + ":guard");
  }
  return guard::GuardLists::Embedded(
      guard, clock, (std::filesystem::path(data_dir) / "guard-lists.json").string(),
      std::move(control));
}

std::unique_ptr<analytics::History> OpenHistory(const SharedServices& shared,
                                                const std::string& data_dir,
                                                const analytics::Retention& retention,
                                                const util::Clock& clock) {
  if (shared.redis_options) {
    const std::string prefix = shared.key_prefix + ":stats:";
    spdlog::info("analytics: history in Redis ({}*), shared by every node", prefix);
    return std::make_unique<analytics::RedisHistory>(*shared.redis_options, clock, retention,
                                                     prefix);
  }
  const std::string path = (std::filesystem::path(data_dir) / "analytics.db").string();
  std::string error;
  auto history = analytics::SqliteHistory::Open(path, retention, error);
  if (!history) {
    spdlog::error("analytics: cannot open {}: {}", path, error);
    return nullptr;
  }
  spdlog::info("analytics: history in {}", path);
  return history;
}

std::optional<std::int64_t> PowNotBefore(const SharedServices& shared, const util::Clock& clock) {
  if (shared.remembers_spent_challenges) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.WallNow().time_since_epoch())
      .count();
}

}  // namespace vwr::app
