#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "token/hmac_sha256.hpp"
#include "token/key.hpp"

namespace vwr::token {

// What an admission token asserts: `sub` was admitted to room `aud` for [nbf, exp).
struct AdmissionClaims {
  std::string iss = "vwr";
  std::string aud;       // room id
  std::string sub;       // subject: HashIdentity(...) or "anon"
  std::int64_t iat = 0;  // unix seconds
  std::int64_t nbf = 0;  // unix seconds
  std::int64_t exp = 0;  // unix seconds
  std::string jti;       // session id
  bool operator==(const AdmissionClaims&) const = default;
};

enum class TokenError {
  kMalformed,             // not three base64url parts, bad JSON, missing or mistyped claim, > 4 KiB
  kUnsupportedAlgorithm,  // header alg is not the one this signer uses ("none", "HS512", ...)
  kBadSignature,          // signature mismatch, or kid missing / not ours
  kExpired,               // now >= exp
  kNotYetValid,           // now < nbf
  kWrongAudience,         // aud differs from the expected room
};

// Stable snake_case name for logs and metrics labels, e.g. "bad_signature".
std::string_view TokenErrorName(TokenError error);

// Makes boost::system::result<T, TokenError>::value() usable (it throws std::runtime_error on an
// error). Request-path code should test the result and read error() instead.
[[noreturn]] void throw_exception_from_error(TokenError error,
                                             const boost::source_location& location);

// Issues and verifies admission tokens.
//
// Today these are compact JWS (JWT) with HS256, header {"alg":"HS256","typ":"JWT","kid":<key_id>},
// payload {"iss","aud","sub","iat","nbf","exp","jti"} in that order, keyed with
// DeriveKey(master, "vwr.admission.hs256.v1"); pass the master key. The interface names no
// algorithm, so moving to ES256 + JWKS changes only this class's implementation.
//
// Verify checks, in order: size (<= 4 KiB), shape, header (alg exactly "HS256", typ "JWT", kid
// equal to ours; "crit" is not supported), signature (constant-time), claim presence and JSON types
// (strings and integers, unknown claims ignored), then audience, exp and nbf when asked. It never
// throws (except std::bad_alloc).
//
// Thread-safe after construction.
class AdmissionTokenSigner {
 public:
  using VerifyResult = boost::system::result<AdmissionClaims, TokenError>;

  static constexpr std::size_t kMaxTokenLength = 4096;

  AdmissionTokenSigner(const SecretKey& key, std::string key_id);

  // Deterministic: the same claims always give the same string.
  std::string Issue(const AdmissionClaims& claims) const;

  // now_unix: when set, also enforce exp (now >= exp -> kExpired) and nbf (now < nbf ->
  // kNotYetValid); no leeway is applied, shift now_unix for that. audience: when set, aud must
  // equal it (else kWrongAudience).
  VerifyResult Verify(std::string_view token, std::optional<std::int64_t> now_unix = std::nullopt,
                      std::optional<std::string_view> audience = std::nullopt) const;

  const std::string& key_id() const { return key_id_; }

 private:
  // nullopt when the header is acceptable.
  std::optional<TokenError> CheckHeader(std::string_view encoded_header) const;

  std::string key_id_;
  std::string encoded_header_;  // base64url of our header JSON, the first part of every token
  HmacSha256 mac_;
};

}  // namespace vwr::token
