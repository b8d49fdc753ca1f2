#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "token/admission_claims.hpp"
#include "token/es256.hpp"
#include "token/jws.hpp"
#include "token/key_ring.hpp"
#include "token/verified_token_cache.hpp"
#include "util/clock.hpp"

namespace vwr::token {

// Issues and verifies admission tokens: compact JWS (JWT) signed with ES256 (ECDSA P-256,
// SHA-256, the signature as the 64 bytes R || S) by the key ring's active key.
//
//   header   {"alg":"ES256","typ":"JWT","kid":"<the active key's RFC 7638 thumbprint>"}
//   payload  {"iss","aud","sub","iat","nbf","exp","jti"[,"auth_time"]} in that order
//
// Anyone can verify a token offline with the public keys the service publishes as a JWKS
// (GET /.well-known/jwks.json, KeyRing::Snapshot::jwks).
//
// Verify checks, in order: size (<= 4 KiB), then the verified-token cache (a token verified
// before, under the same key ring epoch and before its exp, goes straight to the last step);
// the shape (three base64url parts) and the header (alg exactly "ES256", else
// kUnsupportedAlgorithm: "none", "HS256", any other; "crit" is not supported; typ "JWT"; a kid the
// ring holds, else kUnknownKey); the signature (exactly 64 bytes, ECDSA verification by OpenSSL);
// claim presence and JSON types (strings and integers, unknown claims ignored); then audience, exp
// and nbf when asked. Only the key named by kid is tried, and only as an ES256 key: a token
// "signed" with HMAC using the public key as the secret is refused for its algorithm. Shape, header
// and signature are the one JWS verification (jwt::VerifyCompact), which skips reading a header
// that is exactly the active key's (what almost every token carries). Verify never throws (except
// std::bad_alloc) and accepts any input.
//
// Thread-safe. Reads of the key ring take no lock; the cache is sharded.
// The one JWS verification's verdict (jwt::VerifyCompact) in an admission token's words, as
// Verify has always reported it: a missing alg or typ is malformed, a kid that is no string an
// unknown key.
TokenError TokenErrorOf(jwt::JwsError error);

class AdmissionTokenSigner {
 public:
  using VerifyResult = boost::system::result<AdmissionClaims, TokenError>;

  static constexpr std::size_t kMaxTokenLength = 4096;

  // `clock` dates cache entries (an entry is never used at or after its token's exp).
  AdmissionTokenSigner(const KeyRing& ring, const util::Clock& clock,
                       VerifiedTokenCache::Options cache = {});

  // Signed by the ring's active key. ECDSA signatures are randomised, so issuing the same claims
  // twice gives two different tokens (both valid). kNoSigningKey when the ring has no signing
  // key yet (a start-up step missing), kCrypto when OpenSSL fails (out of memory).
  boost::system::result<std::string, SignError> Issue(const AdmissionClaims& claims) const;

  // now_unix: when set, also enforce exp (now >= exp -> kExpired) and nbf (now < nbf ->
  // kNotYetValid); no leeway is applied, shift now_unix for that. audience: when set, aud must
  // equal it (else kWrongAudience).
  VerifyResult Verify(std::string_view token, std::optional<std::int64_t> now_unix = std::nullopt,
                      std::optional<std::string_view> audience = std::nullopt) const;

  // The kid Issue signs with now ("" when the ring has no signing key).
  std::string key_id() const;

  const KeyRing& ring() const { return ring_; }
  const VerifiedTokenCache& cache() const { return cache_; }

 private:
  // The claims of a token not found in the cache: jwt::VerifyCompact, then the claims' types.
  VerifyResult VerifyUncached(const KeyRing::Snapshot& ring, std::string_view token) const;

  const KeyRing& ring_;
  const util::Clock& clock_;
  mutable VerifiedTokenCache cache_;
};

}  // namespace vwr::token
