#pragma once

#include <boost/assert/source_location.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace vwr::token {

// What an admission token asserts: `sub` was admitted to room `aud` for [nbf, exp).
struct AdmissionClaims {
  std::string iss = "vwr";
  std::string aud{};     // room id
  std::string sub{};     // subject: HashIdentity(...) or "anon"
  std::int64_t iat = 0;  // unix seconds
  std::int64_t nbf = 0;  // unix seconds
  std::int64_t exp = 0;  // unix seconds
  std::string jti{};     // session id
  // When the session began (unix seconds; RFC 9068's and OIDC's auth_time): what a fresh token
  // for the same session is capped by (rooms[].session_max). 0: not stated (tokens of earlier
  // versions), and then not encoded.
  std::int64_t auth_time = 0;
  bool operator==(const AdmissionClaims&) const = default;
};

enum class TokenError {
  kMalformed,             // not three base64url parts, bad JSON, missing or mistyped claim, > 4 KiB
  kUnsupportedAlgorithm,  // header alg is not "ES256" ("none", "HS256", "es256", ...)
  kBadSignature,          // not a valid ES256 signature by the key the header names
  kExpired,               // now >= exp
  kNotYetValid,           // now < nbf
  kWrongAudience,         // aud differs from the expected room
  kUnknownKey,            // no kid, or a kid the key ring does not hold (never, or no more)
};

// Stable snake_case name for logs and metrics labels, e.g. "bad_signature".
std::string_view TokenErrorName(TokenError error);

// Makes boost::system::result<T, TokenError>::value() usable (it throws std::runtime_error on an
// error). Request-path code should test the result and read error() instead.
[[noreturn]] void throw_exception_from_error(TokenError error,
                                             const boost::source_location& location);

}  // namespace vwr::token
