#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "token/es256.hpp"
#include "token/jws.hpp"
#include "token/key_ring.hpp"

namespace vwr::token {

// What an entry pass asserts: `sub` was admitted to room `aud` and may come back without
// queueing until `exp` (rooms[].entry_pass after the first admission).
struct EntryPassClaims {
  std::string iss;       // tokens.issuer
  std::string aud;       // the room id
  std::string sub;       // the same subject as the admission tokens: a pseudonym or "anon"
  std::string sid;       // the session the pass was earned with (SessionId: the tokens' jti)
  std::int64_t iat = 0;  // unix seconds: the first admission
  std::int64_t exp = 0;  // unix seconds: iat + entry_pass

  bool operator==(const EntryPassClaims&) const = default;
};

enum class PassError {
  kMalformed,             // not three base64url parts, bad JSON, missing or mistyped claim, > 4 KiB
  kNotAPass,              // a well-formed JWS that is no entry pass (an admission token, say)
  kUnsupportedAlgorithm,  // header alg is not "ES256"
  kUnknownKey,            // no kid, or one the key ring does not hold
  kBadSignature,          // not a valid ES256 signature by the key the header names
  kWrongIssuer,           // iss is not this service's issuer
  kWrongRoom,             // aud is another room
  kExpired,               // now >= exp
  kNotYetValid,           // now < nbf
};
std::string_view PassErrorName(PassError error);  // "not_a_pass", ...
// The one JWS verification's verdict (jwt::VerifyCompact) in an entry pass's words: a header
// typed as anything but a pass is no pass; a missing alg is malformed, a kid that is no string
// an unknown key.
PassError PassErrorOf(jwt::JwsError error);

// Issues and verifies entry passes: compact JWS signed with ES256 by the same key ring as the
// admission tokens, so the JWKS verifies both, but marked so that neither can stand in for the
// other:
//
//   header   {"alg":"ES256","typ":"vwr-pass+jwt","kid":"<kid>"}     (admission tokens: "JWT")
//   payload  {"iss","aud","sub","sid","iat","nbf","exp","vwr":"pass"}
//
// (no jti: a pass is not a session's token; "sid" names the session it was earned with, which
// it re-enters while that lives, and which bounds it to one session at a time after.)
//
// AdmissionTokenSigner::Verify accepts typ "JWT" only, so a pass is never an admission token;
// Verify here wants typ "vwr-pass+jwt" and "vwr":"pass", so a token is never a pass.
//
// Thread-safe; reads the key ring without a lock. Not on a hot path: passes are issued with
// admitted answers and checked on joins.
class EntryPassCodec {
 public:
  static constexpr std::string_view kType = "vwr-pass+jwt";
  static constexpr std::size_t kMaxLength = 4096;

  explicit EntryPassCodec(const token::KeyRing& ring) : ring_(ring) {}

  // Signed by the ring's active key. kNoSigningKey when the ring has no signing key (a start-up
  // step missing), kCrypto when OpenSSL fails (out of memory).
  boost::system::result<std::string, SignError> Issue(const EntryPassClaims& claims) const;

  // The claims of `pass` when it is a genuine entry pass of `room` by `issuer`, valid at
  // now_unix. Never throws (except std::bad_alloc); accepts any input.
  boost::system::result<EntryPassClaims, PassError> Verify(std::string_view pass,
                                                           std::int64_t now_unix,
                                                           std::string_view room,
                                                           std::string_view issuer) const;

 private:
  const token::KeyRing& ring_;
};

}  // namespace vwr::token
