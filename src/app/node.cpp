#include "app/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "admin/redis_admin_store.hpp"
#include "app/admin_token.hpp"
#include "app/logging.hpp"
#include "app/operator_access.hpp"
#include "app/reload.hpp"
#include "app/request_recording.hpp"
#include "app/room_settings.hpp"
#include "http/client_ip.hpp"
#include "server/tls_context.hpp"
#include "token/jws.hpp"
#include "util/files.hpp"

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
// Redis mode: how often this node reads the operators made through the API on any node; an
// operator removed on one node can sign in on the others for at most this long.
constexpr std::chrono::milliseconds kOperatorRefreshPeriod{1000};

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
bool ApplyReload(const ConfigSource& source, config::Config& running, store::Store& store,
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

// One of the node's two listeners.
struct ListenerSpec {
  const char* name;
  const config::HostPort& where;
  http::Handler* handler;
  std::size_t body_limit;
  bool public_side;  // connection limits, TLS and the demo apply to the public listener only
  http::ApiMetrics* metrics;  // counts what a handler lets escape
};

// Binds `spec` on `http` with the configured limits (logged: where it listens). False when it
// cannot (logged).
bool Listen(server::HttpServer& http, const ListenerSpec& spec, const config::Config& config) {
  const std::optional<tcp::endpoint> endpoint = Resolve(spec.where);
  if (!endpoint) {
    spdlog::error("{} listener: cannot resolve {}", spec.name, spec.where.ToString());
    return false;
  }
  const config::ServerLimits& limits = config.server.limits;
  server::ListenerOptions options;
  options.name = spec.name;
  options.endpoint = *endpoint;
  options.handler = spec.handler;
  options.metrics = spec.metrics;
  options.header_limit_bytes = limits.max_header_bytes;
  options.body_limit_bytes = spec.body_limit;
  options.header_timeout = limits.header_timeout;
  options.body_timeout = limits.body_timeout;
  options.keepalive_timeout = limits.keepalive_timeout;
  options.max_connections = spec.public_side ? limits.max_connections : 0;
  options.max_connections_per_ip = spec.public_side ? limits.max_connections_per_ip : 0;
  options.max_requests_per_connection = limits.max_requests_per_connection;
  // Streams: the tickets' event streams on the public listener, the live statistics on the
  // admin listener.
  options.max_streams = spec.public_side ? limits.max_event_streams
                                         : static_cast<std::size_t>(config.analytics.live_streams);
  // HTTPS on the public listener only: the admin listener belongs on loopback or a private
  // network, where its bearer token needs no TLS and health checks stay simple.
  if (spec.public_side && config.server.tls.enabled()) {
    auto tls = server::MakeTlsContext(config.server.tls.cert_file, config.server.tls.key_file);
    if (!tls) {
      spdlog::error("{} listener: server.tls: {}", spec.name, tls.error().message);
      return false;
    }
    options.tls = std::move(*tls);
  }
  const auto bound = http.AddListener(options);
  if (!bound) {
    spdlog::error("{} listener: cannot listen on {}: {}", spec.name, spec.where.ToString(),
                  bound.error().message());
    return false;
  }
  const bool v6 = bound->address().is_v6();
  spdlog::info("{} listener on {}://{}{}{}:{}", spec.name, options.tls ? "https" : "http",
               v6 ? "[" : "", bound->address().to_string(), v6 ? "]" : "", bound->port());
  if (spec.public_side && config.demo.value_or(false)) {
    spdlog::info("demo: open {}://{}{}{}:{}/ in a browser (room {}; demo: false turns it off)",
                 options.tls ? "https" : "http", v6 ? "[" : "", bound->address().to_string(),
                 v6 ? "]" : "", bound->port(), config.rooms.front().id);
  }
  return true;
}

// The traffic analysis' options from the configuration (analytics:).
analytics::StatisticsOptions StatisticsOptionsOf(const config::AnalyticsConfig& config) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  analytics::StatisticsOptions options;
  analytics::Retention& keep = options.retention;
  keep.seconds = duration_cast<seconds>(config.keep_seconds);
  keep.minutes = duration_cast<seconds>(config.keep_minutes);
  keep.hours = duration_cast<seconds>(config.keep_hours);
  keep.top_minutes = duration_cast<seconds>(config.keep_top_minutes);
  keep.top_hours = duration_cast<seconds>(config.keep_top_hours);
  keep.top_minute_keys = static_cast<std::size_t>(config.top_keys);
  keep.top_hour_keys = static_cast<std::size_t>(config.top_keys) * 5 / 2;
  options.recorder.poll_sample = static_cast<std::uint32_t>(config.poll_sample);
  options.surge.factor = config.surge_factor;
  options.surge.min_rate = config.surge_min_rate;
  options.surge.window = duration_cast<seconds>(config.surge_window);
  options.surge.baseline = duration_cast<seconds>(config.surge_baseline);
  return options;
}

// What the traffic analysis reads of every room once a second.
std::vector<analytics::RoomSample> SamplesOf(store::Store& store, const std::string& node) {
  std::vector<analytics::RoomSample> samples;
  for (store::RoomState* room : store.Rooms()) {
    const store::RoomFigures f = room->Figures();
    samples.push_back(analytics::RoomSample{
        .room = room->id(),
        .last_issued = f.last_issued,
        .frontier = f.frontier,
        .waiting = f.queue_size,
        .called = f.called_unclaimed,
        .active = f.active,
        .advance_rate = f.advance_rate,
        .counters = f.counters,
        // A shared store's counters are read back at the node's tick.
        .counters_known = !f.cluster_wide || !f.tick_holder.empty(),
        .known_since_last_issued =
            f.cluster_wide ? std::optional(f.first_read_last_issued) : std::nullopt,
        .policy = room->policy(),
        // In a cluster the node that ticks the room reports what is derived from the line.
        .reports_derived = !f.cluster_wide || f.tick_holder == node,
        // What a poll of a waiting ticket is told: the same answer, from the same figures.
        .wait_told = [room](std::uint64_t ticket) -> std::optional<core::WaitEstimate> {
          store::TicketAnswer answer;
          if (!room->PeekWaiting(ticket, answer) || !answer.eta_seconds) return std::nullopt;
          return core::WaitEstimate{.eta_seconds = *answer.eta_seconds,
                                    .low_seconds = answer.eta_low_seconds.value_or(0),
                                    .high_seconds = answer.eta_high_seconds.value_or(0)};
        },
    });
  }
  return samples;
}

// The TRACER API's options from the configuration (without the guard and identity, which the
// node adds).
tracer::TracerOptions TracerOptionsOf(const config::Config& config) {
  tracer::TracerOptions options;
  options.domain = config.tracer.domain;
  options.trust_client_ip = config.tracer.trust_client_ip;
  options.identity_binding = tracer::ParseIdentityBinding(config.tracer.identity_binding)
                                 .value_or(tracer::IdentityBinding::kCookie);  // validated
  options.allowed_origins = config.tracer.allowed_origins;
  for (const std::string& proxy : config.server.trusted_proxies) {
    // Checked and normalised when the file was loaded.
    if (std::optional<util::IpRange> range = util::IpRange::Parse(proxy)) {
      options.trusted_proxies.push_back(*range);
    }
  }
  return options;
}

}  // namespace

Node::Node(const ConfigSource& source, const config::Config& config, const util::Clock& clock)
    : source_(source),
      config_(config),
      clock_(clock),
      stop_signals_(control_, SIGINT, SIGTERM),
      reload_signal_(control_, SIGHUP),
      tick_timer_(control_),
      key_timer_(control_),
      share_timer_(control_),
      operators_timer_(control_),
      running_(config) {
  stop_signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("received {}, draining", signal == SIGINT ? "SIGINT" : "SIGTERM");
    if (admin_api_) admin_api_->SetReady(false);
    control_.stop();
  });
}

Node::~Node() = default;

// ---- the steps ----

bool Node::BuildKeys() { return BuildSecrets() && BuildSigningKeys(); }

bool Node::BuildStore() {
  std::optional<OpenedStore> opened = OpenStore(config_.store, RoomSpecs(config_), clock_);
  if (!opened) return false;
  store_ = std::move(opened->store);
  shared_ = std::move(opened->shared);
  // On Redis, nodes share their token keys through it: each may have a key directory of its
  // own. (Nodes sharing one key directory share the keys through it as well.)
  key_sharing_ = ShareKeys(shared_, *key_ring_, clock_);
  directory_ = std::make_unique<http::RoomDirectory>(*store_);
  return true;
}

bool Node::BuildGuard() {
  // Abuse protection: its runtime lists are kept in data_dir, or shared through Redis. The
  // native API and the TRACER API answer to the same guard.
  guard_ = std::make_unique<guard::AbuseGuard>(clock_);
  guard_->Configure(GuardSettingsOf(config_));
  guard_lists_ =
      KeepGuardLists(shared_, *guard_, clock_, config_.store.data_dir, control_.get_executor());
  if (!guard_lists_->Load()) return false;
  guard_->SetListener(
      [lists = guard_lists_.get()](const guard::GuardChange& c) { lists->OnChange(c); });
  return true;
}

bool Node::BuildHandlers() {
  if (!BuildAnalytics()) return false;
  if (!BuildControl()) return false;
  BuildPages();
  if (!BuildIdentity()) return false;
  BuildPublicApis();
  BuildAdminApi();
  return BuildConsole();
}

// Traffic analysis: the handlers record every request; once a second the pipeline adds the
// rooms' figures and writes history (see analytics::Statistics).
bool Node::BuildAnalytics() {
  if (!config_.analytics.enabled) {
    spdlog::info("analytics: off (analytics.enabled: false); nothing is recorded");
    return true;
  }
  analytics::StatisticsOptions options = StatisticsOptionsOf(config_.analytics);
  // Every worker and the store's completion thread record; a few more for the rest.
  options.recorder.writer_slots = std::max(1u, std::thread::hardware_concurrency()) + 4;
  std::unique_ptr<analytics::History> history =
      OpenHistory(shared_, config_.store.data_dir, options.retention, clock_);
  if (!history) return false;
  stats_ = std::make_unique<analytics::Statistics>(options, std::move(history));
  // Every answer a handler finishes is counted in its room's traffic.
  for (const config::RoomConfig& room : config_.rooms) stats_->recorder().Room(room.id);
  recording_ = std::make_unique<RequestRecording>(stats_->recorder());
  metrics_.SetObserver(recording_.get());
  stats_->Start(clock_,
                [store = store_.get(), node = shared_.node_id] { return SamplesOf(*store, node); });
  return true;
}

// Traffic control (docs/control.md): the probes start on threads of their own now; the control
// loop drives the rest (ControlTick). A draw's secret seed is derived from the master key, so
// that a restart, or another node of the cluster, publishes the same commitment.
bool Node::BuildControl() {
  control::ControlConfig control;
  control.signals = config_.signals;
  control.rules = config_.rules;
  control.schedules = config_.schedules;
  std::vector<std::string> rooms;
  for (const config::RoomConfig& room : config_.rooms) {
    rooms.push_back(room.id);
    if (room.control) control.controls.emplace(room.id, *room.control);
  }
  for (control::EventSpec& event : control.schedules) {
    const token::SecretKey seed =
        token::DeriveKey(*master_, fmt::format("vwr.draw.v1:{}:{}:{}", event.room, event.name,
                                               event.opens_at.time_since_epoch().count()));
    event.seed.assign(reinterpret_cast<const char*>(seed.bytes.data()), seed.bytes.size());
  }
  std::vector<std::string> problems;
  control_plane_ = control::ControlPlane::Build(std::move(control), rooms, clock_, problems);
  if (!control_plane_) {
    for (const std::string& problem : problems) spdlog::error("control: {}", problem);
    return false;
  }
  control_plane_->Start();
  control_api_ = std::make_unique<admin::ControlApi>(*control_plane_, clock_);
  spdlog::info(
      "control: {} signals, {} rules, {} scheduled events, {} rooms under automatic "
      "control",
      config_.signals.size(), config_.rules.size(), config_.schedules.size(),
      control_plane_->ControlledRooms().size());
  return true;
}

bool Node::BuildListeners() {
  workers_ = config_.server.workers > 0 ? static_cast<unsigned>(config_.server.workers)
                                        : std::max(1u, std::thread::hardware_concurrency());
  http_ = std::make_unique<server::HttpServer>(workers_, clock_);
  const config::ServerLimits& limits = config_.server.limits;
  for (const ListenerSpec& spec :
       {ListenerSpec{"public", config_.server.listen, public_router_.get(), limits.max_body_bytes,
                     true, &metrics_},
        ListenerSpec{"admin", config_.server.admin_listen, console_.get(),
                     limits.admin_max_body_bytes, false, &metrics_}}) {
    if (!Listen(*http_, spec, config_)) return false;
  }
  for (const config::RoomConfig& room : config_.rooms) LogRoom(room);
  http_->Start();
  spdlog::info("vwr started with {} workers, store {} in {}", workers_, config_.store.kind,
               config_.store.data_dir);
  return true;
}

void Node::Run() {
  ScheduleTick();
  ScheduleKeyCheck();
  ScheduleKeyShare();
  ScheduleOperatorRefresh();
  AwaitReload();
  control_.run();
  Drain();
}

// ---- the keys ----

// data_dir, the master key and the admin token.
bool Node::BuildSecrets() {
  std::filesystem::path not_made;
  if (const int error = util::CreatePrivateDirectories(config_.store.data_dir, &not_made);
      error != 0) {
    spdlog::error("cannot create data_dir {}: {}: {}", config_.store.data_dir, not_made.string(),
                  std::strerror(error));
    return false;
  }
  const std::string key_file =
      config_.secrets.ticket_key_file.empty()
          ? (std::filesystem::path(config_.store.data_dir) / "ticket.key").string()
          : config_.secrets.ticket_key_file;
  bool created = false;
  auto master = token::LoadOrCreateKeyFile(key_file, &created);
  if (!master) {
    spdlog::error("{}", token::DescribeKeyError(key_file, master.error()));
    return false;
  }
  if (created) spdlog::info("created a new secret key in {}", key_file);
  master_.emplace(std::move(*master));
  std::optional<std::string> admin_token = AdminToken(config_);
  if (!admin_token) return false;
  admin_token_ = std::move(*admin_token);
  // Each user of the master key derives its own key from it (domain separation).
  tickets_.emplace(*master_);
  return true;
}

// Admission tokens: ES256 with the keys in tokens.key_dir, kept in step with it by the control
// loop.
bool Node::BuildSigningKeys() {
  key_dir_ = config::KeyDir(config_);
  key_ring_ = std::make_unique<token::KeyRing>(clock_, config::MaxTokenLifetime(config_));
  token::KeyEvents key_events;
  auto opened_keys = token::KeyKeeper::Open(
      *key_ring_, clock_,
      token::KeyKeeperOptions{.dir = key_dir_,
                              .rotate_after = std::chrono::duration_cast<std::chrono::seconds>(
                                  config_.tokens.rotate_after)},
      &key_events);
  if (!opened_keys) {
    spdlog::error("tokens.key_dir: {}", opened_keys.error());
    return false;
  }
  key_keeper_ = std::move(*opened_keys);
  if (auto warning = key_keeper_->directory().PermissionWarning()) {
    spdlog::warn("keys: {}", *warning);
  }
  LogKeyEvents(key_events, key_dir_);
  spdlog::info(
      "admission tokens: ES256, issuer \"{}\", signing key {} ({} key(s) in the JWKS), "
      "keys in {}",
      config_.tokens.issuer, key_ring_->Current().signer->kid, key_ring_->Current().keys.size(),
      key_dir_);
  tokens_ = std::make_unique<token::AdmissionTokenSigner>(*key_ring_, clock_);
  return true;
}

// ---- the handlers ----

void Node::BuildPages() {
  // The waiting page, the SDK and the demo share the public listener with the API.
  web_ =
      std::make_unique<pages::WebHandler>(*directory_, messages_, *tokens_, clock_, metrics_,
                                          pages::WebOptions{.demo = config_.demo.value_or(false),
                                                            .demo_room = config_.rooms.front().id});
  web_->SetRooms(config_.rooms);
}

bool Node::BuildIdentity() {
  // Signed identities: the platform's user tokens, verified with its JWKS (kept by UserKeys).
  if (!config_.identity.is_signed()) return true;
  const config::IdentityConfig& identity = config_.identity;
  token::UserIdentityOptions options{
      .issuer = identity.issuer,
      .audience = identity.audience,
      .claim = identity.claim,
      .leeway = std::chrono::duration_cast<std::chrono::seconds>(identity.leeway),
      .algorithms = {}};
  for (const std::string& name : identity.algorithms) {
    if (auto alg = token::ParseJwsAlgorithm(name)) options.algorithms.push_back(*alg);
  }
  user_identity_ = std::make_unique<token::UserIdentityVerifier>(std::move(options));
  user_keys_ = std::make_unique<UserKeys>(*user_identity_, clock_, identity);
  if (auto started = user_keys_->Start(); !started) {
    spdlog::error("identity: {}", started.error());
    return false;
  }
  spdlog::info("identity: signed (claim \"{}\"{}{}), user tokens {}", identity.claim,
               identity.issuer.empty() ? "" : ", issuer " + identity.issuer,
               identity.audience.empty() ? "" : ", audience " + identity.audience,
               identity.required ? "required on join" : "optional on join");
  return true;
}

void Node::BuildPublicApis() {
  // The TRACER-compatible API for legacy clients, on the public listener too. The rooms hold
  // identities as pseudonyms; a TRACER caller's is the same as a native join's.
  tracer::TracerOptions tracer_options = TracerOptionsOf(config_);
  const std::vector<util::IpRange> trusted_proxies = tracer_options.trusted_proxies;
  tracer_options.guard = guard_.get();
  if (config_.identity.tracer_login_id) tracer_options.user_identity = user_identity_.get();
  pseudonyms_ = std::make_unique<token::IdentityPseudonyms>(*master_);
  tracer_ = std::make_unique<tracer::TracerApi>(*directory_, clock_, metrics_, *pseudonyms_,
                                                std::move(tracer_options));
  tracer_->SetRoutes(RoutesOf(config_));

  api::PublicApiOptions options;
  options.user_identity = user_identity_.get();
  options.user_token_required = config_.identity.required;
  options.user_token_cookie = config_.identity.cookie;
  options.guard = guard_.get();
  options.trusted_proxies = trusted_proxies;
  options.issuer = config_.tokens.issuer;
  options.public_url = config_.web.public_url;
  options.cookies =
      http::CookieOptions{.secure = config_.web.cookie_secure, .domain = config_.web.cookie_domain};
  public_api_ = std::make_unique<api::PublicApi>(*directory_, *tickets_, *tokens_, *master_, clock_,
                                                 metrics_, options);
  if (key_sharing_) {
    // A token signed by a key this node has not read yet (a node just started or rotated) is
    // looked up in Redis at once, rather than refused until the next exchange of keys.
    public_api_->SetKeyLookup(
        [sharing = key_sharing_.get()](std::string kid,
                                       std::function<void(http::KeyLookupOutcome)> done) {
          sharing->Lookup(kid, [done = std::move(done)](KeyLookup found) {
            switch (found) {
              case KeyLookup::kFound:
                return done(http::KeyLookupOutcome::kFound);
              case KeyLookup::kNotFound:
                return done(http::KeyLookupOutcome::kNotFound);
              case KeyLookup::kBusy:
                return done(http::KeyLookupOutcome::kBusy);
              case KeyLookup::kFailed:
                break;
            }
            done(http::KeyLookupOutcome::kFailed);
          });
        });
  }
  // The public listener: the pages and the TRACER API by their paths, the native API the rest.
  public_router_ = std::make_unique<PublicRouter>(
      *public_api_, std::vector<PublicRouter::Route>{{&pages::WebHandler::Owns, web_.get()},
                                                     {&tracer::TracerApi::Owns, tracer_.get()}});
  ConfigureRooms(*public_api_, *guard_, config_);
  if (std::optional<std::int64_t> not_before = PowNotBefore(shared_, clock_)) {
    // The store forgets spent challenges on a restart: the ones issued before it are not taken
    // at all (a client fetches a new one and solves it again).
    public_api_->SetPowNotBefore(*not_before);
  }
}

void Node::BuildAdminApi() {
  // A rotation asked through the admin API blocks on the disk: it runs on the control thread.
  admin::AdminKeys admin_keys{.ring = key_ring_.get(),
                              .rotate = [this](admin::AdminKeys::RotateDone done) {
                                asio::post(control_, [this, done = std::move(done)] {
                                  auto rotated = key_keeper_->Rotate();
                                  if (rotated) LogKeyEvents(*rotated, key_dir_);
                                  // The other nodes learn the new key now rather than at the next
                                  // period.
                                  if (rotated && key_sharing_) key_sharing_->Round();
                                  done(std::move(rotated));
                                });
                              }};
  admin_api_ = std::make_unique<admin::AdminApi>(*directory_, *store_, admin_token_, clock_,
                                                 metrics_, &messages_, std::move(admin_keys));
  admin_api_->SetGuard(guard_.get());
  admin_api_->SetStatistics(stats_.get());
  admin_api_->SetControl(control_api_.get());
  if (key_sharing_) {
    // Not before this node has read the other nodes' token keys: their tokens would be refused.
    admin_api_->AddReadyCheck([sharing = key_sharing_.get()] { return sharing->ever_shared(); },
                              "keys_not_shared");
  }
  if (user_identity_) {
    // Not before the platform's keys are in: every join with a user token would be refused.
    admin_api_->AddReadyCheck([verifier = user_identity_.get()] { return verifier->has_keys(); },
                              "identity_keys_not_loaded");
  }
  // An admin list change is answered once it is recorded; on the embedded store the file is
  // written on the control thread (see GuardLists::Flush).
  admin_api_->SetListsRecorded(
      [lists = guard_lists_](std::function<void(bool)> done) { lists->Flush(std::move(done)); });
}

// The operators (the admin token's, the file's, the API's), where the API's and the audit log
// are kept, and the console in front of the admin API on the admin listener.
bool Node::BuildConsole() {
  std::optional<std::vector<admin::OperatorInfo>> fixed = FixedOperators(config_, admin_token_);
  if (!fixed) return false;
  operators_ = std::make_unique<admin::Operators>(clock_, ConsoleSettingsOf(config_));
  operators_->SetFixed(std::move(*fixed));
  std::shared_ptr<admin::AuditBackend> audit_backend;
  if (shared_.redis != nullptr) {
    auto shared = std::make_shared<admin::RedisAdminStore>(*shared_.redis, shared_.key_prefix);
    operator_store_ = shared;
    audit_backend = shared;
    control_store_ = shared;
    spdlog::info("operators and audit log: shared through Redis ({0}:operators, {0}:audit)",
                 shared_.key_prefix);
  } else {
    const std::string path = (std::filesystem::path(config_.store.data_dir) / "admin.db").string();
    std::string error;
    admin_db_ = admin::SqliteAdminStore::Open(path, error);
    if (!admin_db_) {
      spdlog::error("operators and audit log: {}", error);
      return false;
    }
    operator_store_ = admin_db_;
    audit_backend = admin_db_;
    control_store_ = admin_db_;
    // One node: read once, at start (the database's thread; waited for here, before serving).
    std::promise<bool> loaded;
    admin_db_->LoadOperators([&](bool ok, std::vector<admin::OperatorInfo> stored) {
      if (ok) operators_->SetStored(std::move(stored));
      loaded.set_value(ok);
    });
    if (!loaded.get_future().get()) {
      spdlog::error("operators: cannot read the operators kept in {}", path);
      return false;
    }
    spdlog::info("operators and audit log: {}", path);
  }
  audit_ = std::make_unique<admin::AuditLog>(clock_, std::move(audit_backend));
  admin_api_->SetAccess(*operators_, *audit_, operator_store_);
  if (!KeepControlChanges()) return false;
  console_ = std::make_unique<console::ConsoleHandler>(*admin_api_);
  return true;
}

// Traffic control's run-time changes (rules made through the API, rooms' control settings) are
// kept with the operators: read now on one node (waited for, before serving); on Redis with
// the operators' periodic read, so that every node follows. Every change a rule, a schedule or
// the controller makes to a room's policy is an audit entry, under its own name.
bool Node::KeepControlChanges() {
  control_api_->SetStore(control_store_);
  if (shared_.redis == nullptr) {
    std::promise<bool> loaded;
    control_api_->LoadKept([&](bool ok) { loaded.set_value(ok); });
    if (!loaded.get_future().get()) return false;
  }
  control_plane_->SetDecisionListener([audit = audit_.get()](const control::Decision& d) {
    audit->Record(admin::ControlAuditRecord(d));
  });
  return true;
}

// ---- the control loop ----

void Node::ScheduleTick() {
  tick_timer_.expires_after(kTickPeriod);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || draining_) return;
    store_->Tick();
    ControlTick();
    // The analysis counts entries and exits from the store's counts as soon as they are known
    // (a shared store's after the first tick), not from its first step a second later.
    if (stats_ && !stats_baselined_) {
      stats_baselined_ = stats_->Baseline(SamplesOf(*store_, shared_.node_id));
    }
    guard_->Expire();
    guard_lists_->Round();
    if (user_keys_) user_keys_->Round();
    ScheduleTick();
  });
}

// Traffic control for each room: its figures in, a policy out (set through the store like an
// operator's, so that every node serves it). On a shared store only the room's tick lease
// holder decides, so that two nodes never fight over one room's limits.
void Node::ControlTick() {
  if (!control_plane_) return;
  const util::TimePoint now = clock_.Now();
  for (store::RoomState* room : store_->Rooms()) {
    const store::RoomFigures f = room->Figures();
    if (f.cluster_wide && f.tick_holder != shared_.node_id) continue;
    // Admissions per second, measured over a second or more.
    AdmittedSeen& seen = admitted_seen_[room->id()];
    const std::uint64_t admissions = f.counters.admissions + f.counters.bypass;
    const double elapsed = util::ToSeconds(now - seen.at);
    if (seen.at == util::TimePoint{} || admissions < seen.admissions) {
      seen = AdmittedSeen{now, admissions, 0.0};
    } else if (elapsed >= 1.0) {
      seen.rate = static_cast<double>(admissions - seen.admissions) / elapsed;
      seen.at = now;
      seen.admissions = admissions;
    }
    const core::Policy policy = room->policy();
    control::RoomFigures figures;
    figures.waiting = static_cast<double>(f.queue_size);
    figures.active = static_cast<double>(f.active + f.called_unclaimed);
    figures.wait_time = static_cast<double>(f.newcomer_eta_seconds.value_or(0));
    figures.admitted_rate = seen.rate;
    figures.max_active = static_cast<double>(policy.max_active);
    figures.admit_rate = policy.admit_rate;
    if (stats_) {
      const analytics::SurgeState surge = stats_->Surge(room->id());
      figures.request_rate = surge.rate;
      figures.surge = surge.baseline > 0 ? surge.ratio : 1.0;
    }
    control::ControlPlane::TickResult result = control_plane_->Tick(room->id(), figures, policy);
    for (const std::string& event : result.draws) DrawOpening(*room, event, f);
    if (!result.policy) continue;
    if (const auto problems = core::ValidatePolicy(*result.policy); !problems.empty()) {
      // Said once until a policy goes through again: the loop runs ten times a second.
      if (!seen.refused) {
        spdlog::error("control: room {}: policy not set: {}: {}", room->id(), problems[0].key,
                      problems[0].message);
      }
      seen.refused = true;
      continue;
    }
    seen.refused = false;
    room->SetPolicy(*result.policy, [id = room->id()](boost::system::result<void> done) {
      if (!done) {
        spdlog::error("control: room {}: the policy could not be stored: {}", id,
                      done.error().message());
      }
    });
  }
}

// The people who arrived before the opening, the tickets issued and not yet called, are called
// in the drawn order from now on: the room takes the order before the opening policy (set right
// after, through the same store) lets anyone in. At most core::kMaxDrawnTickets of them are
// drawn; those behind keep their arrival order. A room that refuses the draw (its frontier moved
// since `f` was read, an earlier draw still in use) keeps the arrival order, and says so.
void Node::DrawOpening(store::RoomState& room, const std::string& event,
                       const store::RoomFigures& f) {
  if (f.last_issued <= f.frontier) return;  // nobody waiting: nothing to draw
  const std::uint64_t first = f.frontier + 1;
  const std::uint64_t last = std::min(f.last_issued, f.frontier + core::kMaxDrawnTickets);
  std::vector<std::uint64_t> order = control_plane_->Drawn(event, first, last);
  if (order.empty()) return;
  if (last < f.last_issued) {
    spdlog::warn(
        "control: room {}: event {}: {} tickets waited; the first {} are drawn, the rest "
        "keep their arrival order",
        room.id(), event, f.last_issued - f.frontier, core::kMaxDrawnTickets);
  }
  room.Draw(first, std::move(order),
            [id = room.id(), event, first, last](boost::system::result<bool> taken) {
              if (!taken) {
                spdlog::error("control: room {}: event {}: the draw could not be stored: {}", id,
                              event, taken.error().message());
              } else if (!*taken) {
                spdlog::error(
                    "control: room {}: event {}: the room refused the draw of tickets "
                    "{}..{}; they are called in arrival order",
                    id, event, first, last);
              } else {
                spdlog::info(
                    "control: room {}: event {}: tickets {}..{} are called in the drawn "
                    "order",
                    id, event, first, last);
              }
            });
}

// The signing keys: changes made elsewhere, automatic rotation, pruning (see KeyKeeper).
void Node::ScheduleKeyCheck() {
  key_timer_.expires_after(kKeyCheckPeriod);
  key_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || draining_) return;
    LogKeyEvents(key_keeper_->Maintain(), key_dir_);
    ScheduleKeyCheck();
  });
}

// Redis: publish this node's keys, take the other nodes' (never blocks: see KeySharing).
void Node::ScheduleKeyShare() {
  if (!key_sharing_) return;
  key_sharing_->Round();
  share_timer_.expires_after(key_sharing_->ever_shared() ? kKeySharePeriod : kKeyShareFirstRetry);
  share_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !draining_) ScheduleKeyShare();
  });
}

// Redis: the operators made through the API on any node (never blocks: the read completes on
// the Redis thread). Until the first read, this node knows only the fixed operators.
void Node::ScheduleOperatorRefresh() {
  if (shared_.redis == nullptr) return;
  control_api_->LoadKept([](bool) {});
  operator_store_->LoadOperators(
      [operators = operators_.get()](bool ok, std::vector<admin::OperatorInfo> stored) {
        if (ok) operators->SetStored(std::move(stored));
      });
  operators_timer_.expires_after(kOperatorRefreshPeriod);
  operators_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !draining_) ScheduleOperatorRefresh();
  });
}

// SIGHUP: reload. The listeners, and the connections on them, are not touched.
void Node::AwaitReload() {
  reload_signal_.async_wait([this](boost::system::error_code ec, int) {
    if (ec || draining_) return;
    spdlog::info("received SIGHUP, reloading the configuration");
    Reload();
    AwaitReload();
  });
}

void Node::Reload() {
  const bool applied =
      ApplyReload(source_, running_, *store_, *directory_, *web_, [&](const config::Config& next) {
        // Token lifetimes and entry passes may have changed: the key directory learns the
        // longest one before any token or pass gets it, and the keys are read again.
        key_ring_->SetMaxTokenLifetime(config::MaxTokenLifetime(next));
        LogKeyEvents(key_keeper_->Maintain(/*reload=*/true), key_dir_);
        ConfigureRooms(*public_api_, *guard_, next);
        tracer_->SetRoutes(RoutesOf(next));
      });
  // The key directory is read again on every SIGHUP, whatever became of the file, and so are
  // the platform's keys.
  if (!applied) LogKeyEvents(key_keeper_->Maintain(/*reload=*/true), key_dir_);
  if (user_keys_) user_keys_->Reload();
}

// SIGTERM / SIGINT: the listeners drain (/readyz turned 503 already). Meanwhile the control
// thread goes on running what the requests in flight post to it (a list change's write, a key
// rotation), so that their answers do not wait for it in vain; its timers and SIGHUP are done,
// so nothing ticks any more. Then the last list changes and the store are made durable.
void Node::Drain() {
  draining_ = true;
  tick_timer_.cancel();
  key_timer_.cancel();
  share_timer_.cancel();
  operators_timer_.cancel();
  reload_signal_.cancel();
  control_.restart();
  auto keep_running = asio::make_work_guard(control_);
  bool clean = false;
  std::thread drain([this, &clean] {
    clean = http_->Stop(kShutdownDeadline);
    asio::post(control_, [this] { control_.stop(); });
  });
  control_.run();
  drain.join();
  guard_lists_->Round();              // the embedded store's list changes of the last tick, if any
  if (admin_db_) admin_db_->Close();  // the audit entries of the last answers
  // Every answer sent has waited for its change to be durable; this makes the rest durable too
  // and leaves a snapshot for a quick start.
  if (stats_) stats_->Stop();  // the open minute goes to history
  if (control_plane_) control_plane_->Stop();
  store_->Close();
  spdlog::info("vwr stopped{}", clean ? "" : " (some connections were cut at the deadline)");
}

}  // namespace vwr::app
