#pragma once

#include <string>
#include <vector>

#include "app/config_source.hpp"

namespace vwr::app {

struct MigrateOptions {
  std::string to;                  // redis://[[user]:password@]host[:port][/db]
  bool cluster = false;            // the URL names one seed of a Redis Cluster
  std::string key_prefix = "vwr";  // store.redis.key_prefix of the nodes that will serve
  bool replace = false;            // --force: rooms already in Redis are written over
};

// `vwr migrate --to redis://...`: moves what an embedded node holds in its data directory into
// Redis, so that nodes with store.kind redis go on where it stopped (docs/scale-out.md): every
// room's numbering, frontier, waiting and called tickets (with their order and positions),
// sessions, identities and places given back, its counters and the policy in force (rooms'
// incarnations are kept, so tickets and admission tokens issued before stay valid); and the
// public halves of its token signing keys, so that every Redis node verifies the tokens it
// issued until they expire.
//
// The embedded node must be stopped (its journal is read as on a start). A room that already
// exists in Redis is refused unless `replace`. Prints progress and a summary to stdout, errors to
// stderr; returns the exit code.
int RunMigrate(const ConfigSource& source, const MigrateOptions& options);

}  // namespace vwr::app
