#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/client.hpp"
#include "token/key_ring.hpp"
#include "util/clock.hpp"

namespace vwr::app {

// ---- the stored form (pure; unit-tested) ----
//
// Nodes with store.kind redis share the public halves of their token signing keys through one
// Redis hash, "<key_prefix>:jwks": field = kid, value = one line of JSON
//
//   {"jwk":{"kty":"EC","crv":"P-256","x":"...","y":"...","kid":"...","use":"sig","alg":"ES256"},
//    "notAfter":1767225600}
//
// notAfter (unix seconds) is when no token signed with the key can be valid any more (see
// token::KeyRing::ExportOwnKeys). A single key lives on one slot of a Redis Cluster, so the hash
// needs no hash tag.
//
// A key its node no longer has (deleted from its key directory, e.g. after a compromise) is
// withdrawn: its field becomes {"withdrawn":true,"notAfter":N} until N, and every node that
// imported it drops it at its next round, so its tokens are refused everywhere within seconds.

// The value stored for one of this node's keys.
std::string EncodeSharedKey(const token::ExportedKey& key);
// The value that withdraws key `kid`, kept until `not_after_unix`.
std::string EncodeWithdrawnKey(std::int64_t not_after_unix);

// Reads one field of the hash. The JWK is checked fully (token::ParseJwk: a point of P-256, no
// private part) and its thumbprint must be the field's name; the error says what is wrong.
boost::system::result<token::PublicKeyInfo, std::string> DecodeSharedKey(std::string_view field,
                                                                         std::string_view value);

// What one read of the hash (HGETALL, as field/value pairs) asks for.
struct SharedKeysPlan {
  std::vector<token::PublicKeyInfo> import;  // valid and not expired (own keys included; the
                                             // ring leaves those out)
  std::vector<std::string> expired;          // fields past their notAfter: to be deleted
  std::vector<std::string> withdrawn;        // keys their node withdrew: to be dropped
  std::vector<std::pair<std::string, std::string>> invalid;  // field, why it was refused
};

SharedKeysPlan PlanSharedKeys(const std::vector<std::pair<std::string, std::string>>& entries,
                              std::int64_t now_unix);

// ---- sharing them ----

// What one round did, for tests and logs.
struct SharedKeysRound {
  bool ok = false;                   // published this node's keys and read everyone's
  std::string error;                 // why not, when !ok
  std::vector<std::string> added;    // kids new to the ring
  std::vector<std::string> deleted;  // expired fields deleted from the hash
  std::vector<std::string> dropped;  // foreign kids dropped from the ring (withdrawn)
};

// Shares this node's token signing keys with the other nodes through Redis, and takes theirs,
// so that a token issued by any node verifies on every node (heartbeat, leave, /api/v1/verify)
// and every node's /.well-known/jwks.json lists every node's keys, even when each node has a key
// directory of its own.
//
//   every period (control thread):  Round()
//     HSET  <prefix>:jwks  kid -> EncodeSharedKey   for each of this node's keys (ExportOwnKeys)
//     HSET  <prefix>:jwks  kid -> EncodeWithdrawnKey  for kids this node published before and
//                                                  no longer has
//     HGETALL <prefix>:jwks -> PlanSharedKeys -> KeyRing::AddForeignKeys, RemoveForeignKeys
//     HDEL  <prefix>:jwks  the fields past their notAfter (whoever sees them first)
//
// Foreign keys the ring holds are dropped by KeyRing::Prune once past their notAfter; a node that
// stops publishing thus has its keys dropped once the tokens it signed have expired. When Redis
// is unreachable the ring keeps what it knows, the failure is logged once (and again at most
// once a minute while it lasts; not in the first seconds after the start, while the client
// connects), and the next round tries again.
//
// Round() never blocks: the commands go through the store's redis::Client and the rest runs in
// its callbacks on the Redis thread (KeyRing is thread-safe). One round at a time: a Round()
// while the previous one is still out is skipped.
//
// Thread-safe. Callbacks hold the shared state, so destroying a KeySharing while a round is out
// is safe; the KeyRing and the Client must outlive the Client's last callback (in serve.cpp the
// ring outlives the store, whose Close() runs every pending callback).
//
// A token signed by a key the ring does not hold yet (a node that has just started or rotated,
// before this node's next round) is not refused at once: Lookup() reads that one field of the hash
// now (HGET), imports the key when it is there and valid, and the caller verifies again. Bounded
// against floods of made-up kids: only a kid shaped like a thumbprint is looked up, one lookup per
// kid is in flight (later askers wait for it), at most kMaxKeyLookups kids at once (beyond that
// the answer is kBusy at once), and a kid found missing is not asked again for
// kMissingKeyMemory (a bounded memory).
enum class KeyLookup {
  kFound,     // the ring holds the key now
  kNotFound,  // not in the hash (or withdrawn, expired, invalid), or not shaped like a kid
  kBusy,      // too many lookups in flight: refused without asking Redis
  kFailed,    // Redis did not answer
};
std::string_view KeyLookupName(KeyLookup result);  // "found", "not_found", "busy", "failed"

inline constexpr std::size_t kMaxKeyLookups = 32;
inline constexpr std::size_t kMaxKeyLookupWaiters = 1024;  // per kid
inline constexpr std::chrono::milliseconds kMissingKeyMemory{1000};
inline constexpr std::size_t kMaxMissingKeys = 4096;

class KeySharing {
 public:
  KeySharing(redis::Client& client, token::KeyRing& ring, const util::Clock& clock,
             std::string hash_key);

  // Starts one round; `done` (optional) runs when it has finished, on the Redis thread, or at
  // once when a round is already out (with ok false and error "a round is already running").
  void Round(std::function<void(const SharedKeysRound&)> done = {});

  // Looks `kid` up in the hash now (see above). `done` runs once: at once (on the caller's
  // thread) when the answer is known without asking Redis, else on the Redis thread.
  void Lookup(std::string_view kid, std::function<void(KeyLookup)> done);

  // Lookups answered since the start, by result (tests, logs).
  std::uint64_t lookups(KeyLookup result) const;

  // True once a round has succeeded since the last failed one (or since the start).
  bool healthy() const;
  // True once any round has succeeded.
  bool ever_shared() const;

  const std::string& hash_key() const;

  struct State;  // shared with the callbacks

 private:
  std::shared_ptr<State> state_;
};

}  // namespace vwr::app
