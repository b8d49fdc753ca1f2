#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analytics/history.hpp"
#include "app/shared_keys.hpp"
#include "config/config.hpp"
#include "guard/abuse_guard.hpp"
#include "guard/guard_lists.hpp"
#include "redis/client.hpp"
#include "store/store.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::app {

// What the rest of the node needs from the store it runs on, besides the rooms: the store's
// connection to what the nodes share, and what the store remembers across a restart. The node
// asks these questions here, once, instead of asking which store is running.
struct SharedServices {
  // Redis: the client the store talks through, by which the nodes also share their token keys
  // ("<key_prefix>:jwks") and the guard's lists ("<key_prefix>:guard"). Null for the embedded
  // store: one node, nothing shared; the lists are a file in data_dir.
  redis::Client* redis = nullptr;
  std::string key_prefix;
  // How to reach that Redis, for parts that keep a connection of their own (traffic analysis
  // history, so that its writes never queue behind the rooms' commands), and this node's name in
  // the rooms' leases (RoomFigures::tick_holder).
  std::optional<redis::ClientOptions> redis_options;
  std::string node_id;
  // Whether spent proof-of-work challenges are remembered across a restart: in Redis they are
  // (ConsumeOnce keys outlive the node); the embedded store forgets them.
  bool remembers_spent_challenges = false;
};

// The store the configuration names, with its shared services. Owned by the node; the services
// point into the store, which must outlive their users.
struct OpenedStore {
  std::unique_ptr<store::Store> store;
  SharedServices shared;
};

// Opens the store `config.kind` names: "redis" (connecting in the background; logged with its
// seeds and this node's name in the leases), else the embedded store in <data_dir>/state
// (recovered from its snapshot and journal; logged with the time it took). nullopt when it
// cannot be opened (logged: a Redis URL that does not parse, state that cannot be read).
std::optional<OpenedStore> OpenStore(const config::StoreConfig& config,
                                     const std::vector<store::RoomSpec>& rooms,
                                     const util::Clock& clock);

// This node's token keys published to, and the other nodes' read from, the shared store
// (logged); null when nothing is shared (nodes sharing one key directory share keys through
// it instead).
std::unique_ptr<KeySharing> ShareKeys(const SharedServices& shared, token::KeyRing& ring,
                                      const util::Clock& clock);

// The guard's runtime lists, kept where the rooms are: in the shared store, or in
// <data_dir>/guard-lists.json, written on `control` (the control thread).
std::shared_ptr<guard::GuardLists> KeepGuardLists(const SharedServices& shared,
                                                  guard::AbuseGuard& guard,
                                                  const util::Clock& clock,
                                                  const std::string& data_dir,
                                                  boost::asio::any_io_executor control);

// Where traffic analysis keeps its history: in the shared Redis (every node adds its seconds;
// queries answer for the cluster), else <data_dir>/analytics.db (SQLite). nullptr when the
// database cannot be opened (logged).
std::unique_ptr<analytics::History> OpenHistory(const SharedServices& shared,
                                                const std::string& data_dir,
                                                const analytics::Retention& retention,
                                                const util::Clock& clock);

// The earliest issue time (unix ms) of a proof-of-work challenge this node takes: now, when the
// store forgets spent challenges on a restart (a challenge spent just before it could otherwise
// buy one more join); nullopt when the store remembers them.
std::optional<std::int64_t> PowNotBefore(const SharedServices& shared, const util::Clock& clock);

}  // namespace vwr::app
