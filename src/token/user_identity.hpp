#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "token/jws.hpp"
#include "token/verified_token_cache.hpp"
#include "util/published.hpp"

// Signed user identities (identity.mode: signed): the user a join (or a TRACER call) belongs to
// is taken from a JWT that the platform's own login or API gateway issued, verified offline
// against the platform's JWKS. No call per request: the keys are fetched and cached (see
// app/user_keys.hpp), and a token is checked with them here.
//
// A client-sent userId is a claim anyone can make; a verified user token is proof. Only proven
// identities may hold a place across joins, recover a session, or be blocked by identity.
namespace vwr::token {

struct UserIdentityOptions {
  std::string issuer{};             // iss must equal it; empty: any issuer
  std::string audience{};           // aud (a string, or an array) must contain it; empty: any
  std::string claim = "sub";        // the claim that names the user (a string or a number)
  std::chrono::seconds leeway{30};  // clock tolerance for exp and nbf
  std::vector<JwsAlgorithm> algorithms{};  // allowed; empty: every asymmetric algorithm
};

enum class UserTokenError : std::uint8_t {
  kNoKeys,                // the platform's keys have not been loaded yet
  kMalformed,             // not a compact JWS with JSON header and claims, or too long
  kUnsupportedAlgorithm,  // symmetric, "none", or not among identity.algorithms
  kUnknownKey,            // its kid is not in the platform's JWKS (a refresh is asked)
  kBadSignature,
  kExpired,        // now >= exp + leeway; a token without exp is refused as kMalformed
  kNotYetValid,    // now < nbf - leeway
  kWrongIssuer,    // iss is not identity.issuer
  kWrongAudience,  // aud does not contain identity.audience
  kNoIdentity,     // the claim is missing, empty, not a string or number, or over 256 bytes
};
// "expired", ...: for error messages and logs.
std::string_view UserTokenErrorName(UserTokenError error);
// A sentence for the client: what is wrong with the token it sent.
std::string_view UserTokenErrorMessage(UserTokenError error);

// A token verified once is remembered (token::VerifiedTokenCache, by SHA-256 of its text, until
// its exp plus the leeway, and only under the keys it was verified with): a TRACER client that
// sends its user token as the loginId of every poll costs a hash and a lookup per poll, not an
// RSA or ECDSA verification.
//
// Thread-safe: Verify runs on the workers and reads the keys without a lock; SetKeys publishes a
// new set from any thread (rarely: when the platform's JWKS changes).
class UserIdentityVerifier {
 public:
  static constexpr std::size_t kMaxTokenLength = 8192;
  static constexpr std::size_t kMaxIdentityBytes = 256;

  explicit UserIdentityVerifier(UserIdentityOptions options,
                                VerifiedTokenCache::Options cache = {});

  // The user the token names (the configured claim), when it is a valid token for now_unix.
  boost::system::result<std::string, UserTokenError> Verify(std::string_view token,
                                                            std::int64_t now_unix) const;

  // Replaces the keys (a JWKS read or fetched again). Keeps every set published (see
  // util::Published): call only when the keys changed.
  void SetKeys(JwsKeySet keys);
  bool has_keys() const { return has_keys_.load(std::memory_order_acquire); }
  std::size_t key_count() const { return keys_.Get().by_kid.size(); }

  // Whether a token named a kid the keys do not hold since the last call: the keys source then
  // fetches the JWKS again (a rotation at the platform), at most as often as it allows.
  bool TakeRefreshRequest() { return refresh_wanted_.exchange(false, std::memory_order_acq_rel); }

  const UserIdentityOptions& options() const { return options_; }

 private:
  UserIdentityOptions options_;
  util::Published<JwsKeySet> keys_;
  std::atomic<bool> has_keys_{false};
  std::atomic<std::uint64_t> keys_epoch_{0};  // raised by every SetKeys: the cache's epoch
  mutable VerifiedTokenCache cache_;
  mutable std::atomic<bool> refresh_wanted_{false};
};

}  // namespace vwr::token
