#include "app/serve.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "admin/admin_api.hpp"
#include "admin/room_messages.hpp"
#include "api/public_api.hpp"
#include "app/logging.hpp"
#include "app/public_router.hpp"
#include "app/reload.hpp"
#include "app/shared_keys.hpp"
#include "app/user_keys.hpp"
#include "guard/abuse_guard.hpp"
#include "guard/guard_lists.hpp"
#include "http/api_metrics.hpp"
#include "http/room_directory.hpp"
#include "pages/web_handler.hpp"
#include "server/http_server.hpp"
#include "server/tls_context.hpp"
#include "store/embedded_store.hpp"
#include "store/redis_store.hpp"
#include "token/admission_token.hpp"
#include "token/key.hpp"
#include "token/key_keeper.hpp"
#include "token/key_ring.hpp"
#include "token/ticket_codec.hpp"
#include "tracer/tracer_api.hpp"
#include "util/clock.hpp"
#include "util/files.hpp"
#include "util/random.hpp"

namespace vwr::app {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::chrono::milliseconds kTickPeriod{100};
// How often the key directory is looked at (one stat when nothing changed): a rotation made by
// `vwr keys rotate` or another node is picked up within this time.
constexpr std::chrono::milliseconds kKeyCheckPeriod{2000};
constexpr std::chrono::milliseconds kShutdownDeadline{4500};
// Redis mode: how often this node publishes its token keys and reads the other nodes' (see
// app/shared_keys.hpp). Well within token::kRetiredKeyMargin, which an export's notAfter
// leaves for the next publication; until the first round has succeeded, it is tried sooner.
constexpr std::chrono::milliseconds kKeySharePeriod{2000};
constexpr std::chrono::milliseconds kKeyShareFirstRetry{200};

std::optional<tcp::endpoint> Resolve(const config::HostPort& hp) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(hp.host, ec);
  if (!ec) return tcp::endpoint(address, hp.port);
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
  if (ec || results.empty()) return std::nullopt;
  return results.begin()->endpoint();
}

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

// The per-room admission token lifetimes the configuration sets.
api::TokenLifetimes TokenLifetimesOf(const config::Config& config) {
  api::TokenLifetimes lifetimes;
  for (const config::RoomConfig& room : config.rooms)
    lifetimes.emplace(room.id, room.TokenLifetime());
  return lifetimes;
}

// The rooms that give entry passes, and for how long.
api::EntryPasses EntryPassesOf(const config::Config& config) {
  api::EntryPasses passes;
  for (const config::RoomConfig& room : config.rooms) {
    if (room.entry_pass) {
      passes.emplace(room.id, std::chrono::duration_cast<std::chrono::seconds>(*room.entry_pass));
    }
  }
  return passes;
}

// The rooms that ask a proof of work on join.
token::PowSettings PowOf(const config::Config& config) {
  token::PowSettings pow;
  for (const config::RoomConfig& room : config.rooms) {
    if (room.pow_difficulty > 0) {
      pow.emplace(room.id, token::PowSetting{room.pow_difficulty, room.pow_challenge_lifetime});
    }
  }
  return pow;
}

// The rooms' match rules, for /api/v1/verify.
std::vector<http::RoomRoute> RoutesOf(const config::Config& config) {
  std::vector<http::RoomRoute> routes;
  for (const config::RoomConfig& room : config.rooms) {
    http::RoomRoute route{room.id, {}};
    for (const config::RoomMatch& m : room.match) route.match.push_back({m.host, m.path_prefix});
    routes.push_back(std::move(route));
  }
  return routes;
}

// The rooms' abuse protection settings and configured lists (rooms[].protection).
std::unordered_map<std::string, guard::GuardSettings> GuardSettingsOf(
    const config::Config& config) {
  std::unordered_map<std::string, guard::GuardSettings> out;
  for (const config::RoomConfig& room : config.rooms) {
    const config::ProtectionConfig& p = room.protection;
    guard::GuardSettings s;
    s.mode = guard::ParseGuardMode(p.mode).value_or(guard::GuardMode::kShadow);  // validated
    s.window = p.window;
    s.limit_per_ip = p.limit_per_ip;
    s.limit_per_identity = p.limit_per_identity;
    s.block_time = p.block_time;
    s.joins_mode = guard::ParseGuardMode(p.joins_mode).value_or(guard::GuardMode::kEnforce);
    s.joins_window = p.joins_window;
    s.joins_per_ip = p.joins_per_ip;
    auto fill = [](guard::GuardList list, const config::ProtectionList& from,
                   guard::GuardSettings& into) {
      auto& entries = into.lists[static_cast<std::size_t>(list)];
      for (const std::string& ip : from.ips) entries.push_back({true, ip, 0, "config"});
      for (const std::string& id : from.identities) entries.push_back({false, id, 0, "config"});
    };
    fill(guard::GuardList::kDeny, p.deny, s);
    fill(guard::GuardList::kAllow, p.allow, s);
    fill(guard::GuardList::kUnblock, p.unblock, s);
    out.emplace(room.id, std::move(s));
  }
  return out;
}

// What the public API takes from the rooms' configuration; at start and on every reload.
void ConfigureRooms(api::PublicApi& api, guard::AbuseGuard& guard, const config::Config& config) {
  api.SetTokenLifetimes(TokenLifetimesOf(config));
  api.SetEntryPasses(EntryPassesOf(config));
  api.SetPow(PowOf(config));
  api.SetRoutes(RoutesOf(config));
  guard.Configure(GuardSettingsOf(config));
}

void LogKeyEvents(const token::KeyEvents& events, const std::string& key_dir) {
  if (events.created && events.retired) {
    spdlog::info(
        "keys: rotated in {}: {} signs now, {} is retired (it verifies until its tokens "
        "have expired)",
        key_dir, *events.created, *events.retired);
  } else if (events.created) {
    spdlog::info("keys: created the first signing key {} in {}", *events.created, key_dir);
  }
  if (events.active) {
    spdlog::info("keys: {} signs now (rotated elsewhere; read from {})", *events.active, key_dir);
  } else if (events.reloaded) {
    spdlog::info("keys: re-read {} (changed elsewhere)", key_dir);
  }
  for (const std::string& kid : events.pruned) {
    spdlog::info("keys: dropped {}: every token it signed has expired", kid);
  }
  for (const std::string& error : events.errors) spdlog::error("keys: {}", error);
}

void LogRoom(const config::RoomConfig& room) {
  spdlog::info("room {}: mode {}, max_active {}, admit_rate {}/s", room.id,
               core::ModeName(room.policy.mode), room.policy.max_active, room.policy.admit_rate);
}

// SIGHUP: reads the configuration again and applies what can change while serving. Runs on the
// control thread, like the tick. A file that does not load changes nothing.
// `apply_tokens` applies the new rooms' token lifetimes before the reload is reported done.
// Returns whether the new configuration was applied.
bool Reload(const ConfigSource& source, config::Config& running, store::Store& store,
            http::RoomDirectory& directory, pages::WebHandler& web,
            const std::function<void(const config::Config&)>& apply_tokens) {
  const std::string from = source.file.empty() ? "the built-in default" : source.file;
  LoadedConfig loaded = LoadConfig(source);
  if (!loaded.config) {
    for (const std::string& error : loaded.errors) spdlog::error("reload: {}", error);
    spdlog::error("reload rejected: {} has errors; the configuration in force is kept", from);
    return false;
  }
  const ReloadPlan plan = PlanReload(running, *loaded.config);
  if (plan.log_level) {
    SetLogLevel(*plan.log_level);  // loading validated it
    running.log.level = *plan.log_level;
  }
  const store::ReconfigureReport report = store.Reconfigure(plan.rooms);
  directory.Refresh();
  web.SetRooms(loaded.config->rooms);
  running.rooms = loaded.config->rooms;
  for (const std::string& id : report.added) {
    spdlog::info("reload: room {} added", id);
    LogRoom(*config::FindRoom(running, id));
  }
  for (const std::string& id : report.removed) {
    spdlog::info("reload: room {} removed (its state is kept should it come back)", id);
  }
  for (const std::string& id : report.policy_changed) {
    spdlog::info("reload: room {} has a new policy", id);
    LogRoom(*config::FindRoom(running, id));
  }
  for (const std::string& key : plan.need_restart) {
    spdlog::warn("reload: {} changed in {}; it takes effect at the next restart", key, from);
  }
  apply_tokens(running);
  spdlog::info("configuration reloaded from {}: {} rooms ({} added, {} removed, {} new policies)",
               from, running.rooms.size(), report.added.size(), report.removed.size(),
               report.policy_changed.size());
  return true;
}

// A name for this node in the shared store's leases: unique while it runs.
std::string NodeId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "node");
  return fmt::format("{}:{}:{:08x}", host, ::getpid(),
                     static_cast<std::uint32_t>(util::SecureRandom64()));
}

std::unique_ptr<store::Store> OpenStore(const config::Config& config,
                                        const std::vector<store::RoomSpec>& specs,
                                        const util::Clock& clock) {
  if (config.store.kind == "redis") {
    const config::RedisConfig& r = config.store.redis;
    auto client = redis::ParseRedisUrl(r.url);
    if (!client) {
      spdlog::error("store.redis.url: {}", client.error());
      return nullptr;
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
    return std::make_unique<store::RedisStore>(specs, clock, std::move(options));
  }
  store::EmbeddedOptions options;
  options.dir = (std::filesystem::path(config.store.data_dir) / "state").string();
  options.fsync = FsyncModeOf(config.store.fsync);
  options.fsync_interval = config.store.fsync_interval;
  options.snapshot_interval = config.store.snapshot_interval;
  const util::TimePoint recovery_start = clock.Now();
  auto opened = store::EmbeddedStore::Open(specs, clock, options);
  if (!opened) {
    spdlog::error("cannot open the state in {}: {}", options.dir, opened.error().message());
    return nullptr;
  }
  spdlog::info("state recovered in {} ms", util::ToMillis(clock.Now() - recovery_start));
  return std::move(*opened);
}

}  // namespace

int Serve(const ConfigSource& source, const config::Config& config) {
  const util::Clock& clock = util::SystemClock::Instance();

  // Signals are caught from the very start, so that one arriving while the node starts up
  // still drains it (it is acted on as soon as the control loop runs) instead of killing it.
  asio::io_context control;
  asio::signal_set signals(control, SIGINT, SIGTERM);
  asio::signal_set reload_signal(control, SIGHUP);  // acted on once serving (queued till then)
  std::function<void()> on_stop_signal = [] {};
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("received {}, draining", signal == SIGINT ? "SIGINT" : "SIGTERM");
    on_stop_signal();
    control.stop();
  });

  std::filesystem::path not_made;
  if (const int error = util::CreatePrivateDirectories(config.store.data_dir, &not_made);
      error != 0) {
    spdlog::error("cannot create data_dir {}: {}: {}", config.store.data_dir, not_made.string(),
                  std::strerror(error));
    return 1;
  }
  const std::string key_file =
      config.secrets.ticket_key_file.empty()
          ? (std::filesystem::path(config.store.data_dir) / "ticket.key").string()
          : config.secrets.ticket_key_file;
  bool created = false;
  const auto master = token::LoadOrCreateKeyFile(key_file, &created);
  if (!master) {
    spdlog::error("{}", token::DescribeKeyError(key_file, master.error()));
    return 1;
  }
  if (created) spdlog::info("created a new secret key in {}", key_file);
  const std::optional<std::string> admin_token = AdminToken(config);
  if (!admin_token) return 1;

  // Each of these derives its own key from the master key (domain separation).
  const token::TicketCodec tickets(*master);
  const token::SecretKey& identity_key = *master;

  // Admission tokens: ES256 with the keys in tokens.key_dir, kept in step with it below.
  const std::string key_dir = config::KeyDir(config);
  token::KeyRing key_ring(clock, config::MaxTokenLifetime(config));
  token::KeyEvents key_events;
  auto opened_keys = token::KeyKeeper::Open(
      key_ring, clock,
      token::KeyKeeperOptions{.dir = key_dir,
                              .rotate_after = std::chrono::duration_cast<std::chrono::seconds>(
                                  config.tokens.rotate_after)},
      &key_events);
  if (!opened_keys) {
    spdlog::error("tokens.key_dir: {}", opened_keys.error());
    return 1;
  }
  token::KeyKeeper& key_keeper = **opened_keys;
  if (auto warning = key_keeper.directory().PermissionWarning()) spdlog::warn("keys: {}", *warning);
  LogKeyEvents(key_events, key_dir);
  spdlog::info(
      "admission tokens: ES256, issuer \"{}\", signing key {} ({} key(s) in the JWKS), "
      "keys in {}",
      config.tokens.issuer, key_ring.Current().signer->kid, key_ring.Current().keys.size(),
      key_dir);
  const token::AdmissionTokenSigner tokens(key_ring, clock);

  const std::vector<store::RoomSpec> specs = RoomSpecs(config);
  std::unique_ptr<store::Store> opened = OpenStore(config, specs, clock);
  if (!opened) return 1;
  store::Store& store = *opened;
  // On Redis, nodes share their token keys through it: each may have a key directory of its
  // own. (Nodes sharing one key directory share the keys through it as well.)
  std::unique_ptr<KeySharing> key_sharing;
  if (auto* redis_store = dynamic_cast<store::RedisStore*>(&store)) {
    key_sharing = std::make_unique<KeySharing>(redis_store->client(), key_ring, clock,
                                               redis_store->options().key_prefix + ":jwks");
    spdlog::info("keys: shared with the other nodes through Redis ({})", key_sharing->hash_key());
  }
  http::RoomDirectory directory(store);
  http::ApiMetrics metrics;
  // The waiting page, the SDK and the demo share the public listener with the API.
  admin::RoomMessages messages;
  pages::WebHandler web(
      directory, messages, tokens, clock, metrics,
      pages::WebOptions{.demo = config.demo.value_or(false), .demo_room = config.rooms.front().id});
  web.SetRooms(config.rooms);
  // Signed identities: the platform's user tokens, verified with its JWKS (kept by UserKeys).
  std::unique_ptr<token::UserIdentityVerifier> user_identity;
  std::unique_ptr<UserKeys> user_keys;
  if (config.identity.is_signed()) {
    token::UserIdentityOptions identity_options{
        .issuer = config.identity.issuer,
        .audience = config.identity.audience,
        .claim = config.identity.claim,
        .leeway = std::chrono::duration_cast<std::chrono::seconds>(config.identity.leeway)};
    for (const std::string& name : config.identity.algorithms) {
      if (auto alg = token::ParseJwsAlgorithm(name)) identity_options.algorithms.push_back(*alg);
    }
    user_identity = std::make_unique<token::UserIdentityVerifier>(std::move(identity_options));
    user_keys = std::make_unique<UserKeys>(*user_identity, clock, config.identity);
    if (auto started = user_keys->Start(); !started) {
      spdlog::error("identity: {}", started.error());
      return 1;
    }
    spdlog::info("identity: signed (claim \"{}\"{}{}), user tokens {}", config.identity.claim,
                 config.identity.issuer.empty() ? "" : ", issuer " + config.identity.issuer,
                 config.identity.audience.empty() ? "" : ", audience " + config.identity.audience,
                 config.identity.required ? "required on join" : "optional on join");
  }
  // The TRACER-compatible API for legacy clients, on the public listener too.
  tracer::TracerOptions tracer_options;
  tracer_options.domain = config.tracer.domain;
  tracer_options.trust_client_ip = config.tracer.trust_client_ip;
  tracer_options.identity_binding = tracer::ParseIdentityBinding(config.tracer.identity_binding)
                                        .value_or(tracer::IdentityBinding::kCookie);  // validated
  tracer_options.allowed_origins = config.tracer.allowed_origins;
  for (const std::string& proxy : config.server.trusted_proxies) {
    // Checked and normalised when the file was loaded.
    if (std::optional<http::Cidr> cidr = http::ParseCidr(proxy)) {
      tracer_options.trusted_proxies.push_back(*cidr);
    }
  }
  // Abuse protection: its runtime lists are kept in data_dir, or shared through Redis. The
  // native API and the TRACER API answer to the same guard.
  guard::AbuseGuard guard(clock);
  guard.Configure(GuardSettingsOf(config));
  const std::vector<http::Cidr> trusted_proxies = tracer_options.trusted_proxies;
  tracer_options.guard = &guard;
  // The rooms hold identities as pseudonyms; a TRACER caller's is the same as a native join's.
  const token::IdentityPseudonyms pseudonyms(identity_key);
  if (config.identity.tracer_login_id) tracer_options.user_identity = user_identity.get();
  tracer::TracerApi tracer(directory, clock, metrics, pseudonyms, std::move(tracer_options));
  tracer.SetRoutes(RoutesOf(config));
  std::shared_ptr<guard::GuardLists> guard_lists;
  if (auto* redis_store = dynamic_cast<store::RedisStore*>(&store)) {
    guard_lists = guard::GuardLists::Shared(guard, clock, redis_store->client(),
                                            redis_store->options().key_prefix + ":guard");
  } else {
    guard_lists = guard::GuardLists::Embedded(
        guard, clock, (std::filesystem::path(config.store.data_dir) / "guard-lists.json").string());
  }
  if (!guard_lists->Load()) return 1;
  guard.SetListener(
      [lists = guard_lists.get()](const guard::GuardChange& c) { lists->OnChange(c); });
  api::PublicApiOptions public_options;
  public_options.user_identity = user_identity.get();
  public_options.user_token_required = config.identity.required;
  public_options.user_token_cookie = config.identity.cookie;
  public_options.guard = &guard;
  public_options.trusted_proxies = trusted_proxies;
  public_options.issuer = config.tokens.issuer;
  public_options.public_url = config.web.public_url;
  public_options.cookies =
      http::CookieOptions{.secure = config.web.cookie_secure, .domain = config.web.cookie_domain};
  api::PublicApi public_api(directory, tickets, tokens, identity_key, clock, metrics,
                            public_options);
  // The public listener: the pages and the TRACER API by their paths, the native API the rest.
  PublicRouter public_router(
      public_api, {{&pages::WebHandler::Owns, &web}, {&tracer::TracerApi::Owns, &tracer}});
  ConfigureRooms(public_api, guard, config);
  if (dynamic_cast<store::RedisStore*>(&store) == nullptr) {
    // The embedded store forgets spent challenges on a restart: the ones issued before it are
    // not taken at all (a client fetches a new one and solves it again).
    public_api.SetPowNotBefore(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.WallNow().time_since_epoch())
            .count());
  }
  // A rotation asked through the admin API blocks on the disk: it runs on the control thread.
  admin::AdminKeys admin_keys{
      .ring = &key_ring,
      .rotate = [&control, &key_keeper, &key_dir, &key_sharing](admin::AdminKeys::RotateDone done) {
        asio::post(control, [&key_keeper, &key_dir, &key_sharing, done = std::move(done)] {
          auto rotated = key_keeper.Rotate();
          if (rotated) LogKeyEvents(*rotated, key_dir);
          // The other nodes learn the new key now rather than at the next period.
          if (rotated && key_sharing) key_sharing->Round();
          done(std::move(rotated));
        });
      }};
  admin::AdminApi admin_api(directory, store, *admin_token, clock, metrics, &messages,
                            std::move(admin_keys));
  admin_api.SetGuard(&guard);
  if (key_sharing) {
    // Not before this node has read the other nodes' token keys: their tokens would be refused.
    admin_api.AddReadyCheck([&key_sharing] { return key_sharing->ever_shared(); },
                            "keys_not_shared");
  }
  if (user_identity) {
    // Not before the platform's keys are in: every join with a user token would be refused.
    admin_api.AddReadyCheck([verifier = user_identity.get()] { return verifier->has_keys(); },
                            "identity_keys_not_loaded");
  }
  admin_api.SetListsRecorded(
      [lists = guard_lists](std::function<void(bool)> done) { lists->Flush(std::move(done)); });

  const unsigned workers = config.server.workers > 0
                               ? static_cast<unsigned>(config.server.workers)
                               : std::max(1u, std::thread::hardware_concurrency());
  server::HttpServer http(workers, clock);
  const config::ServerLimits& limits = config.server.limits;
  struct Binding {
    const char* name;
    const config::HostPort& where;
    http::Handler* handler;
    std::size_t body_limit;
    bool public_side;  // connection limits apply to the public listener only
  };
  for (const Binding& b :
       {Binding{"public", config.server.listen, &public_router, limits.max_body_bytes, true},
        Binding{"admin", config.server.admin_listen, &admin_api, limits.admin_max_body_bytes,
                false}}) {
    const std::optional<tcp::endpoint> endpoint = Resolve(b.where);
    if (!endpoint) {
      spdlog::error("{} listener: cannot resolve {}", b.name, b.where.ToString());
      return 1;
    }
    server::ListenerOptions options;
    options.name = b.name;
    options.endpoint = *endpoint;
    options.handler = b.handler;
    options.metrics = &metrics;
    options.header_limit_bytes = limits.max_header_bytes;
    options.body_limit_bytes = b.body_limit;
    options.header_timeout = limits.header_timeout;
    options.body_timeout = limits.body_timeout;
    options.keepalive_timeout = limits.keepalive_timeout;
    options.max_connections = b.public_side ? limits.max_connections : 0;
    options.max_connections_per_ip = b.public_side ? limits.max_connections_per_ip : 0;
    options.max_requests_per_connection = limits.max_requests_per_connection;
    // HTTPS on the public listener only: the admin listener belongs on loopback or a private
    // network, where its bearer token needs no TLS and health checks stay simple.
    if (b.public_side && config.server.tls.enabled()) {
      auto tls = server::MakeTlsContext(config.server.tls.cert_file, config.server.tls.key_file);
      if (!tls) {
        spdlog::error("{} listener: server.tls: {}", b.name, tls.error().message);
        return 1;
      }
      options.tls = std::move(*tls);
    }
    const auto bound = http.AddListener(options);
    if (!bound) {
      spdlog::error("{} listener: cannot listen on {}: {}", b.name, b.where.ToString(),
                    bound.error().message());
      return 1;
    }
    const bool v6 = bound->address().is_v6();
    spdlog::info("{} listener on {}://{}{}{}:{}", b.name, options.tls ? "https" : "http",
                 v6 ? "[" : "", bound->address().to_string(), v6 ? "]" : "", bound->port());
    if (b.public_side && config.demo.value_or(false)) {
      spdlog::info("demo: open {}://{}{}{}:{}/ in a browser (room {}; demo: false turns it off)",
                   options.tls ? "https" : "http", v6 ? "[" : "", bound->address().to_string(),
                   v6 ? "]" : "", bound->port(), config.rooms.front().id);
    }
  }
  for (const config::RoomConfig& room : config.rooms) LogRoom(room);
  http.Start();
  spdlog::info("vwr started with {} workers, store {} in {}", workers, config.store.kind,
               config.store.data_dir);

  // The control thread (this one): the rooms' tick and the signals.
  asio::steady_timer tick_timer(control);
  std::function<void()> schedule_tick = [&] {
    tick_timer.expires_after(kTickPeriod);
    tick_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      store.Tick();
      guard.Expire();
      guard_lists->Round();
      if (user_keys) user_keys->Round();
      schedule_tick();
    });
  };
  schedule_tick();
  on_stop_signal = [&] { admin_api.SetReady(false); };

  // The signing keys: changes made elsewhere, automatic rotation, pruning (see KeyKeeper).
  asio::steady_timer key_timer(control);
  std::function<void()> schedule_key_check = [&] {
    key_timer.expires_after(kKeyCheckPeriod);
    key_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      LogKeyEvents(key_keeper.Maintain(), key_dir);
      schedule_key_check();
    });
  };
  schedule_key_check();

  // Redis: publish this node's keys, take the other nodes' (never blocks: see KeySharing).
  asio::steady_timer share_timer(control);
  std::function<void()> schedule_key_share = [&] {
    if (!key_sharing) return;
    key_sharing->Round();
    share_timer.expires_after(key_sharing->ever_shared() ? kKeySharePeriod : kKeyShareFirstRetry);
    share_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) schedule_key_share();
    });
  };
  schedule_key_share();

  // SIGHUP: reload. The listeners, and the connections on them, are not touched.
  config::Config running = config;
  std::function<void()> await_reload = [&] {
    reload_signal.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      spdlog::info("received SIGHUP, reloading the configuration");
      const bool applied =
          Reload(source, running, store, directory, web, [&](const config::Config& next) {
            // Token lifetimes and entry passes may have changed: the key directory learns the
            // longest one before any token or pass gets it, and the keys are read again.
            key_ring.SetMaxTokenLifetime(config::MaxTokenLifetime(next));
            LogKeyEvents(key_keeper.Maintain(/*reload=*/true), key_dir);
            ConfigureRooms(public_api, guard, next);
            tracer.SetRoutes(RoutesOf(next));
          });
      // The key directory is read again on every SIGHUP, whatever became of the file, and so
      // are the platform's keys.
      if (!applied) LogKeyEvents(key_keeper.Maintain(/*reload=*/true), key_dir);
      if (user_keys) user_keys->Reload();
      await_reload();
    });
  };
  await_reload();
  control.run();

  const bool clean = http.Stop(kShutdownDeadline);
  guard_lists->Round();  // the embedded store's list changes of the last tick, if any
  // Every answer sent has waited for its change to be durable; this makes the rest durable too
  // and leaves a snapshot for a quick start.
  store.Close();
  spdlog::info("vwr stopped{}", clean ? "" : " (some connections were cut at the deadline)");
  return 0;
}

}  // namespace vwr::app
