#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "token/es256.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::token {

// A retired key is kept (in the JWKS, and for verifying) until retired_at + the longest token
// lifetime + this margin. The margin covers clock differences between nodes and the few seconds
// a node may go on signing with a key another process has just retired (until it notices).
inline constexpr std::chrono::seconds kRetiredKeyMargin{300};

// One of this node's own signing keys, as the key directory records it.
struct KeyRecord {
  std::string kid;  // the key's RFC 7638 thumbprint
  EcPublicKey key;
  std::int64_t created_unix = 0;
  std::optional<std::int64_t> retired_unix;  // nullopt: the active key
};

// Everything the key directory holds: the active key (with its private key) and the retired
// ones still kept.
struct KeySet {
  std::vector<KeyRecord> keys;  // the active key first, then the retired ones, newest first
  EcPrivateKey active_private;  // belongs to keys.front()
  // The longest token lifetime (seconds) any process using the directory has declared; retired
  // keys are kept for at least this long.
  std::int64_t token_lifetime_max_s = 0;

  const KeyRecord& active() const { return keys.front(); }
};

// A set of one key, active since created_unix: for tests, benchmarks and tools without a key
// directory.
KeySet SingleKeySet(const EcPrivateKey& key, std::int64_t created_unix);

// When a key retired at `retired_unix` may go: no token it signed is valid any more.
inline std::int64_t RetiredKeyNotAfter(std::int64_t retired_unix, std::int64_t token_lifetime_s) {
  return retired_unix + token_lifetime_s + kRetiredKeyMargin.count();
}

// A public key that verifies tokens but is not this node's: another node's, published through
// the shared store. After not_after_unix no token signed with it can be valid, and it is dropped.
struct PublicKeyInfo {
  std::string kid;
  EcPublicKey key;
  std::int64_t not_after_unix = 0;
};

// This node's public key in the form other nodes import (see KeyRing::ExportOwnKeys).
struct ExportedKey {
  std::string kid;
  std::string jwk;  // one JWK, JSON (token::ToJwk)
  std::int64_t not_after_unix = 0;
};

// A key as listed for operators (`vwr keys list`, GET /admin/api/v1/keys).
struct KeyDescription {
  enum class State { kActive, kRetired, kForeign };
  std::string kid;
  State state = State::kActive;
  std::optional<std::int64_t> created_unix;    // own keys
  std::optional<std::int64_t> retired_unix;    // retired keys
  std::optional<std::int64_t> not_after_unix;  // retired and foreign keys
};

std::string_view KeyStateName(KeyDescription::State state);  // "active", "retired", "foreign"

// The keys admission tokens are signed and verified with: this node's own keys (from the key
// directory, see KeyKeeper) and public keys of other nodes. The hot path reads it without a lock.
//
// Readers call Current() and get an immutable Snapshot: the key that signs (if any), every
// public key that verifies by kid, the JWKS text. Writers (SetOwnKeys, AddForeignKeys, Prune,
// SetMaxTokenLifetime) are serialised by a mutex and publish a new snapshot only when the set of
// keys changes, which happens rarely (a rotation, a node joining): util::Published keeps every
// version, so a reference obtained from Current() stays valid for the ring's life.
//
// Snapshot::epoch goes up whenever a key leaves the ring (pruned, or replaced by a reload): a
// verified-token cache must forget what it verified under an older epoch.
//
// Foreign keys (Redis mode, each node with its own key directory) — the API another part of the
// service uses to share keys between nodes:
//
//   node A:  for (ExportedKey k : ring.ExportOwnKeys()) publish(k.kid, k.jwk, k.not_after_unix);
//   node B:  auto key = KeyRing::ImportKey(jwk, not_after_unix);    // checks the JWK fully
//            if (key) ring.AddForeignKeys({*key});                   // verify + JWKS accept it
//
// The active key's not_after in an export is now + the longest token lifetime + the margin, so a
// node must publish its keys again well within kRetiredKeyMargin (every few seconds to a minute
// is right); a node that stops publishing has its keys dropped by the others once the tokens it
// could have signed have expired. Prune() (called every few seconds by the key keeper) drops
// foreign keys past their not_after.
//
// Thread-safe: every method may be called from any thread.
class KeyRing {
 public:
  using KeyMap = std::unordered_map<std::string, EcPublicKey, util::StringHash, std::equal_to<>>;

  // A key that signs, with the JWS header every token it signs carries.
  struct Signer {
    std::string kid;
    EcPrivateKey key;
    std::string encoded_header;  // base64url of {"alg":"ES256","typ":"JWT","kid":"<kid>"}
  };

  // Also where jwt::VerifyCompact finds the key a token's header names.
  struct Snapshot final : public JwsKeyLookup {
    std::optional<Signer> signer;  // nullopt until SetOwnKeys
    KeyMap keys;                   // every key that verifies: own (active, retired) and foreign
    std::string jwks;              // {"keys":[...]}: the active key, retired ones, foreign ones
    std::string jwks_etag;         // a quoted strong ETag of jwks
    std::uint64_t epoch = 0;

    const EcPublicKey* Find(std::string_view kid) const override {
      auto it = keys.find(kid);
      return it == keys.end() ? nullptr : &it->second;
    }
  };

  // `max_token_lifetime`: the longest lifetime of a token signed with the ring's keys (the
  // largest rooms[].token_lifetime); it decides how long retired and exported keys are valid.
  KeyRing(const util::Clock& clock, std::chrono::seconds max_token_lifetime);
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // The current version. Wait-free; the reference stays valid for the ring's life.
  const Snapshot& Current() const { return current_.Get(); }

  // Replaces this node's own keys (a reload of the key directory). Retired keys already past
  // their not-after are left out.
  void SetOwnKeys(const KeySet& keys);

  void SetMaxTokenLifetime(std::chrono::seconds lifetime);
  std::chrono::seconds max_token_lifetime() const;

  // ---- foreign keys ----

  // Parses another node's exported key (token::ParseJwk: the JWK is fully checked, and its kid
  // must be its thumbprint). The error says what is wrong with it.
  static boost::system::result<PublicKeyInfo, std::string> ImportKey(std::string_view jwk,
                                                                     std::int64_t not_after_unix);

  // Adds public keys of other nodes, or extends their not_after (the later one wins). Keys
  // already past their not_after are ignored, and so is a key whose kid is one of this node's
  // own keys. Returns how many keys are new to the ring.
  std::size_t AddForeignKeys(std::vector<PublicKeyInfo> keys);

  // Drops foreign keys by kid (their node withdrew them); own keys are not touched. Returns the
  // kids dropped.
  std::vector<std::string> RemoveForeignKeys(const std::vector<std::string>& kids);

  // The foreign keys held now, by kid.
  std::vector<PublicKeyInfo> ForeignKeys() const;

  // ---- this node's keys, for other nodes ----

  // This node's own public keys: the active one (not_after: now + max token lifetime + margin)
  // and the retired ones still kept (not_after: retired + lifetime + margin).
  std::vector<ExportedKey> ExportOwnKeys() const;

  // ---- upkeep ----

  // Drops retired own keys and foreign keys whose not_after has come. Returns their kids.
  std::vector<std::string> Prune();

  // Every key, active first, then retired (newest first), then foreign (by kid).
  std::vector<KeyDescription> Describe() const;

 private:
  std::int64_t NowUnix() const;
  std::int64_t LifetimeFor(const KeySet& keys) const;  // guarded by mu_
  // Rebuilds the snapshot from own_ and foreign_ and publishes it when the keys changed.
  void PublishLocked();

  const util::Clock& clock_;
  mutable std::mutex mu_;
  std::chrono::seconds max_token_lifetime_;       // guarded by mu_
  std::optional<KeySet> own_;                     // guarded by mu_
  std::map<std::string, PublicKeyInfo> foreign_;  // guarded by mu_
  util::Published<Snapshot> current_;
};

}  // namespace vwr::token
