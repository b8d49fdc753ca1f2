#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "admin/admin_api.hpp"
#include "admin/audit_log.hpp"
#include "admin/control_api.hpp"
#include "admin/operator_store.hpp"
#include "admin/operators.hpp"
#include "admin/room_messages.hpp"
#include "admin/sqlite_admin_store.hpp"
#include "analytics/statistics.hpp"
#include "api/public_api.hpp"
#include "app/config_source.hpp"
#include "app/public_router.hpp"
#include "app/shared_keys.hpp"
#include "app/store_factory.hpp"
#include "app/user_keys.hpp"
#include "config/config.hpp"
#include "console/console_handler.hpp"
#include "control/control_plane.hpp"
#include "guard/abuse_guard.hpp"
#include "guard/guard_lists.hpp"
#include "http/api_metrics.hpp"
#include "http/room_directory.hpp"
#include "pages/web_handler.hpp"
#include "server/http_server.hpp"
#include "store/store.hpp"
#include "token/admission_token.hpp"
#include "token/identity.hpp"
#include "token/key.hpp"
#include "token/key_keeper.hpp"
#include "token/key_ring.hpp"
#include "token/ticket_codec.hpp"
#include "token/user_identity.hpp"
#include "tracer/tracer_api.hpp"
#include "util/clock.hpp"

namespace vwr::app {

// One running `vwr serve`: everything the node is made of, assembled in named steps, and the
// control loop that keeps it in step.
//
//   BuildKeys       data_dir, the master key (tickets, identity pseudonyms), the admin token,
//                   the admission tokens' signing keys (tokens.key_dir)
//   BuildStore      the rooms' store and its SharedServices; token keys shared through it
//   BuildGuard      the abuse guard and its runtime lists (kept where the store keeps the rooms)
//   BuildHandlers   traffic analysis (its history and its once-a-second step), traffic
//                   control (signals, rules, schedules, controllers), the pages, signed
//                   identities, the TRACER, native and admin APIs, the public listener's router,
//                   the operators, the audit log and the console
//   BuildListeners  the workers and both listeners; serving starts here
//   Run             the control loop on the calling thread until SIGINT or SIGTERM, then the
//                   drain
//
// Each step logs why it failed and returns false; the node then exits with status 1 (members
// are destroyed in the reverse order of the steps, so a half-built node unwinds cleanly).
//
// Threads: the thread that constructs the node and calls Run() is the control thread. It owns
// the signals, the tick, the key directory's upkeep and every blocking step a request needs (a
// key rotation, the embedded store's list writes), which the handlers post to it. The workers
// belong to server::HttpServer. Not thread-safe: every method on the control thread.
class Node {
 public:
  Node(const ConfigSource& source, const config::Config& config, const util::Clock& clock);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  bool BuildKeys();
  bool BuildStore();
  bool BuildGuard();
  bool BuildHandlers();
  bool BuildListeners();
  void Run();

 private:
  // BuildKeys, in order.
  bool BuildSecrets();
  bool BuildSigningKeys();
  // BuildHandlers, in order.
  bool BuildAnalytics();
  bool BuildControl();
  void BuildPages();
  bool BuildIdentity();
  void BuildPublicApis();
  void BuildAdminApi();
  bool BuildConsole();
  bool KeepControlChanges();

  // The control loop's parts (Run).
  void ScheduleTick();
  // Traffic control's step for every room this node decides for (see ControlTick in node.cpp).
  void ControlTick();
  // A schedule's opening draw over the room's waiting tickets, handed to the room (see
  // DrawOpening in node.cpp).
  void DrawOpening(store::RoomState& room, const std::string& event, const store::RoomFigures& f);
  void ScheduleKeyCheck();
  void ScheduleKeyShare();
  void ScheduleOperatorRefresh();
  void AwaitReload();
  void Reload();
  void Drain();

  const ConfigSource& source_;
  const config::Config& config_;
  const util::Clock& clock_;

  // The control thread's loop. Signals are caught from the very start, so that one arriving
  // while the node starts up still drains it (it is acted on as soon as the loop runs) instead
  // of killing it.
  boost::asio::io_context control_;
  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set reload_signal_;  // acted on once serving (queued till then)
  boost::asio::steady_timer tick_timer_, key_timer_, share_timer_, operators_timer_;
  bool draining_ = false;   // the loop has stopped: no timer runs or re-arms after it
  config::Config running_;  // the configuration in force (SIGHUP replaces its rooms)

  // BuildKeys
  std::optional<token::SecretKey> master_;  // each user derives its own key from it
  std::string admin_token_;
  std::optional<token::TicketCodec> tickets_;
  std::string key_dir_;
  std::unique_ptr<token::KeyRing> key_ring_;
  std::unique_ptr<token::KeyKeeper> key_keeper_;
  std::unique_ptr<token::AdmissionTokenSigner> tokens_;

  // BuildStore
  std::unique_ptr<store::Store> store_;
  SharedServices shared_;
  std::unique_ptr<KeySharing> key_sharing_;  // null: nothing shared (embedded store)
  std::unique_ptr<http::RoomDirectory> directory_;

  // BuildGuard
  std::unique_ptr<guard::AbuseGuard> guard_;
  std::shared_ptr<guard::GuardLists> guard_lists_;

  // BuildHandlers
  std::unique_ptr<analytics::Statistics> stats_;  // traffic analysis (handlers record into it)
  http::ApiMetrics metrics_;
  std::unique_ptr<http::RequestObserver> recording_;  // every answer into stats_ (metrics_ tells)
  bool stats_baselined_ = false;  // every room's store counts are stats_'s baseline (the tick)
  admin::RoomMessages messages_;
  std::unique_ptr<pages::WebHandler> web_;
  std::unique_ptr<token::UserIdentityVerifier> user_identity_;  // null: identities unsigned
  std::unique_ptr<UserKeys> user_keys_;
  std::unique_ptr<token::IdentityPseudonyms> pseudonyms_;
  std::unique_ptr<tracer::TracerApi> tracer_;
  std::unique_ptr<api::PublicApi> public_api_;
  std::unique_ptr<PublicRouter> public_router_;
  std::unique_ptr<admin::AdminApi> admin_api_;
  // The operators, where the API's are kept (SQLite in data_dir, or Redis) with the audit log,
  // and the admin listener's router (console pages, else the admin API).
  std::unique_ptr<admin::Operators> operators_;
  std::shared_ptr<admin::SqliteAdminStore> admin_db_;  // embedded store only
  std::shared_ptr<admin::OperatorStore> operator_store_;
  std::shared_ptr<admin::ControlStore> control_store_;  // the same store as operator_store_
  std::unique_ptr<admin::AuditLog> audit_;
  std::unique_ptr<console::ConsoleHandler> console_;
  // Traffic control (always there: without signals, rules, schedules or a room's control:
  // section it has nothing to do, and its admin routes answer with empty lists) and what its
  // step remembers of each room: admissions counted at a time, and the rate since.
  std::unique_ptr<control::ControlPlane> control_plane_;
  std::unique_ptr<admin::ControlApi> control_api_;
  struct AdmittedSeen {
    util::TimePoint at{};
    std::uint64_t admissions = 0;
    double rate = 0.0;
    bool refused = false;  // the last policy decided was not valid (logged once)
  };
  std::map<std::string, AdmittedSeen> admitted_seen_;

  // BuildListeners
  unsigned workers_ = 0;
  std::unique_ptr<server::HttpServer> http_;
};

}  // namespace vwr::app
