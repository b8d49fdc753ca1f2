#include "app/migrate_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "app/reload.hpp"
#include "app/shared_keys.hpp"
#include "config/config.hpp"
#include "redis/client.hpp"
#include "store/embedded_store.hpp"
#include "store/event_codec.hpp"
#include "store/redis_import.hpp"
#include "token/key_dir.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::app {
namespace {

namespace asio = boost::asio;

// A Redis client on a thread of its own, driven one command at a time: the CLI waits for every
// answer (nothing here is on a request path).
class BlockingRedis {
 public:
  BlockingRedis(redis::ClientOptions options, const util::Clock& clock)
      : guard_(ioc_.get_executor()), client_(ioc_, std::move(options), clock) {
    thread_ = std::thread([this] { ioc_.run(); });
    client_.Start();
  }
  ~BlockingRedis() {
    client_.Stop();
    guard_.reset();
    thread_.join();
  }

  bool WaitConnected(std::chrono::milliseconds timeout) {
    std::promise<bool> done;
    auto future = done.get_future();
    client_.WhenConnected(timeout, [&done](bool connected) { done.set_value(connected); });
    return future.get();
  }

  // The reply, or why there is none (a client error, or an error reply from Redis).
  boost::system::result<redis::Reply, std::string> Run(std::vector<std::string> command,
                                                       const std::string& routing_key) {
    std::promise<boost::system::result<redis::Reply>> done;
    auto future = done.get_future();
    client_.Command(
        std::move(command), routing_key,
        [&done](boost::system::result<redis::Reply> r) { done.set_value(std::move(r)); });
    boost::system::result<redis::Reply> r = future.get();
    if (!r) return r.error().message();
    if (r->is_error()) return r->str;
    return std::move(*r);
  }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  redis::Client client_;
  std::thread thread_;
};

// Collects a room's snapshot records back into events.
std::vector<core::RoomEvent> SnapshotOf(store::EmbeddedRoom& room) {
  std::vector<core::RoomEvent> events;
  room.WriteSnapshot([&events](std::string_view payload) {
    auto decoded = store::DecodeEvent(
        std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
    if (decoded) events.push_back(std::move(decoded->event));
  });
  return events;
}

}  // namespace

int RunMigrate(const ConfigSource& source, const MigrateOptions& options) {
  const LoadedConfig loaded = LoadConfig(source);
  if (!loaded.config) {
    for (const std::string& error : loaded.errors) std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const config::Config& config = *loaded.config;
  auto url = redis::ParseRedisUrl(options.to);
  if (!url) {
    std::fprintf(stderr, "--to: %s\n", url.error().c_str());
    return 1;
  }
  redis::ClientOptions client_options = *url;
  client_options.cluster = options.cluster;
  client_options.command_timeout = std::chrono::milliseconds(10'000);
  const util::Clock& clock = util::SystemClock::Instance();

  // The embedded state, replayed as a start would.
  const std::filesystem::path state_dir = std::filesystem::path(config.store.data_dir) / "state";
  if (!std::filesystem::exists(state_dir)) {
    std::fprintf(stderr, "no embedded state in %s (store.data_dir)\n", state_dir.c_str());
    return 1;
  }
  store::EmbeddedOptions embedded;
  embedded.dir = state_dir.string();
  auto opened = store::EmbeddedStore::Open(RoomSpecs(config), clock, embedded);
  if (!opened) {
    std::fprintf(stderr, "cannot open the state in %s: %s\n", state_dir.c_str(),
                 opened.error().message().c_str());
    return 1;
  }
  std::unique_ptr<store::EmbeddedStore> state = std::move(*opened);

  BlockingRedis redis(client_options, clock);
  if (!redis.WaitConnected(std::chrono::seconds(10))) {
    std::fprintf(stderr, "cannot reach Redis at %s\n", options.to.c_str());
    return 1;
  }

  // Refuse to write over rooms that exist, unless asked to.
  std::vector<const config::RoomConfig*> rooms;
  for (const config::RoomConfig& room : config.rooms) rooms.push_back(&room);
  for (const config::RoomConfig* room : rooms) {
    const std::vector<std::string> keys = store::RoomKeys(options.key_prefix, room->id);
    auto exists = redis.Run({"EXISTS", keys[0]}, keys[0]);
    if (!exists) {
      std::fprintf(stderr, "cannot read Redis: %s\n", exists.error().c_str());
      return 1;
    }
    if (exists->integer == 0) continue;
    if (!options.replace) {
      std::fprintf(stderr,
                   "room %s already exists in Redis under %s: nothing was written (--force "
                   "replaces it)\n",
                   room->id.c_str(), keys[0].c_str());
      return 1;
    }
    for (const std::string& key : keys) {
      if (auto deleted = redis.Run({"DEL", key}, key); !deleted) {
        std::fprintf(stderr, "cannot delete %s: %s\n", key.c_str(), deleted.error().c_str());
        return 1;
      }
    }
  }

  // The rooms the configuration serves (the Redis nodes will serve the same file).
  for (const config::RoomConfig* configured : rooms) {
    store::EmbeddedRoom* room = state->Find(configured->id);
    if (room == nullptr) continue;
    store::RoomExport export_room{room->id(), room->incarnation(), configured->policy,
                                  SnapshotOf(*room)};
    store::ImportCounts counts;
    const auto commands = store::PlanRoomImport(options.key_prefix, export_room, &counts);
    const std::string routing = store::RoomKeys(options.key_prefix, room->id())[0];
    std::size_t done = 0;
    for (const std::vector<std::string>& command : commands) {
      if (auto r = redis.Run(command, routing); !r) {
        std::fprintf(stderr, "room %s: Redis refused %s %s: %s\n", room->id().c_str(),
                     command[0].c_str(), command[1].c_str(), r.error().c_str());
        return 1;
      }
      if (++done % 50 == 0 || done == commands.size()) {
        std::printf("\rroom %s: %zu/%zu commands", room->id().c_str(), done, commands.size());
        std::fflush(stdout);
      }
    }
    std::printf(
        "\rroom %s: moved: last ticket %llu, frontier %llu, %llu waiting, %llu called, "
        "%llu sessions, %llu identities, %llu places given back\n",
        room->id().c_str(), static_cast<unsigned long long>(counts.last_ticket),
        static_cast<unsigned long long>(counts.frontier),
        static_cast<unsigned long long>(counts.waiting),
        static_cast<unsigned long long>(counts.calls),
        static_cast<unsigned long long>(counts.sessions),
        static_cast<unsigned long long>(counts.identities),
        static_cast<unsigned long long>(counts.given_back));
  }
  state->Close();

  // The token keys' public halves, as a node shares them (app::KeySharing): every Redis node
  // verifies this node's tokens until none can be valid any more.
  auto dir = token::KeyDirectory::Open(config::KeyDir(config));
  auto keys = dir ? dir->Load() : boost::system::result<token::KeySet, std::string>(dir.error());
  if (!keys) {
    std::fprintf(stderr, "tokens.key_dir: %s\n", keys.error().c_str());
    return 1;
  }
  token::KeyRing ring(clock, config::MaxTokenLifetime(config));
  ring.SetOwnKeys(*keys);
  const std::string jwks_hash = options.key_prefix + ":jwks";
  std::size_t shared = 0;
  for (const token::ExportedKey& key : ring.ExportOwnKeys()) {
    if (auto r = redis.Run({"HSET", jwks_hash, key.kid, EncodeSharedKey(key)}, jwks_hash); !r) {
      std::fprintf(stderr, "cannot share key %s: %s\n", key.kid.c_str(), r.error().c_str());
      return 1;
    }
    ++shared;
  }
  const std::string key_file =
      config.secrets.ticket_key_file.empty()
          ? (std::filesystem::path(config.store.data_dir) / "ticket.key").string()
          : config.secrets.ticket_key_file;
  std::printf(
      "shared %zu token key(s) in %s\n"
      "done. Start the nodes with store.kind: redis, store.redis.key_prefix: %s and the same\n"
      "secret key (secrets.ticket_key_file: a copy of %s, mode 0600): it signs the tickets\n"
      "issued so far and keys the identities.\n",
      shared, jwks_hash.c_str(), options.key_prefix.c_str(), key_file.c_str());
  return 0;
}

}  // namespace vwr::app
