#pragma once

#include <openssl/types.h>

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// JSON Web Signatures as another party signs them: the keys of a published JWKS (RFC 7517) of
// any usual kind, and the verification of a compact JWS (RFC 7515) against them. This is how VWR
// checks the platform's own user tokens (token/user_identity.hpp), offline.
//
// Only asymmetric algorithms: a JWKS holds public keys, and a shared secret would let anyone who
// can read the JWKS sign. "none" and every HS* are refused before any key is looked at.
namespace vwr::token {

enum class JwsAlgorithm : std::uint8_t {
  kRs256,
  kRs384,
  kRs512,
  kPs256,
  kPs384,
  kPs512,
  kEs256,
  kEs384,
  kEs512,
  kEdDsa,
};
// "RS256", ...; nullopt for any other name ("none", "HS256", "es256").
std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name);
std::string_view JwsAlgorithmName(JwsAlgorithm alg);

// A public key from a JWK: RSA (at least 2048 bits), EC on P-256, P-384 or P-521, or OKP
// Ed25519. Cheap to copy (the OpenSSL key is shared and never modified); Verify is thread-safe.
class JwsPublicKey {
 public:
  // The key of one JWK object. `alg`, when the JWK names one, is the only algorithm the key
  // verifies; otherwise the ones its type allows (RS*/PS* for RSA, the ES* of its curve,
  // EdDSA). A JWK whose "use" is not "sig", or which holds a private part, is refused. The
  // error says what is wrong.
  static boost::system::result<JwsPublicKey, std::string> FromJwk(const boost::json::object& jwk);

  // Whether `signature` is a valid `alg` signature of `message` by this key. False when the key
  // does not take `alg` (an RSA key asked for ES256, an EC key of another curve...). Any input is
  // safe.
  bool Verify(JwsAlgorithm alg, std::string_view message,
              std::span<const std::uint8_t> signature) const;

  bool Allows(JwsAlgorithm alg) const;
  const std::string& kid() const { return kid_; }

 private:
  enum class Kind : std::uint8_t { kRsa, kEc, kEd25519 };
  JwsPublicKey(std::shared_ptr<EVP_PKEY> key, Kind kind, std::size_t coordinate_bytes,
               std::optional<JwsAlgorithm> alg, std::string kid)
      : key_(std::move(key)),
        kind_(kind),
        coordinate_bytes_(coordinate_bytes),
        alg_(alg),
        kid_(std::move(kid)) {}

  std::shared_ptr<EVP_PKEY> key_;
  Kind kind_;
  std::size_t coordinate_bytes_;  // EC: bytes of one coordinate (32, 48, 66); else 0
  std::optional<JwsAlgorithm> alg_;
  std::string kid_;
};

// The keys of a JWKS document, by kid. Keys of kinds it cannot use (an "enc" key, an unknown
// kty or curve) are skipped and named in `skipped`, as a JWKS may list keys for other purposes.
struct JwsKeySet {
  std::map<std::string, JwsPublicKey, std::less<>> by_kid;
  std::vector<std::string> skipped;  // "kid <x>: <why>"

  // The key a JWS header names: its kid, or with no kid the only key of the set.
  const JwsPublicKey* Find(std::string_view kid) const;
};
// Reads {"keys":[...]}. An error when it is not such a document, a key listed twice has the same
// kid, or no key at all can be used.
boost::system::result<JwsKeySet, std::string> ParseJwks(std::string_view json);

namespace jwt {

enum class JwsError : std::uint8_t {
  kMalformed,             // not three base64url parts, bad JSON, "crit" present
  kUnsupportedAlgorithm,  // alg missing, symmetric, "none", or not in the allowed set
  kUnknownKey,            // no key of the set has the kid (or no kid and several keys)
  kBadSignature,          // the named key did not sign it
};
std::string_view JwsErrorName(JwsError error);

struct VerifiedJws {
  boost::json::object header;
  boost::json::object payload;
  std::string kid;  // "" when the header names none
};

// Verifies a compact JWS: three base64url parts; a header that is a JSON object with an "alg"
// among `allowed` (empty: every JwsAlgorithm) and no "crit"; the key `keys` holds for its "kid";
// the signature; and a payload that is a JSON object. `max_length` bounds the whole token. Never
// throws (except std::bad_alloc) and accepts any input.
boost::system::result<VerifiedJws, JwsError> VerifyCompact(std::string_view token,
                                                           const JwsKeySet& keys,
                                                           std::span<const JwsAlgorithm> allowed,
                                                           std::size_t max_length = 8192);

}  // namespace jwt
}  // namespace vwr::token
