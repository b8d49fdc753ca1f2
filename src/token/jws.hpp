#pragma once

#include <openssl/types.h>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "token/jws_key.hpp"

// JSON Web Signatures (RFC 7515): the one verification of a compact JWS, for every signed token
// VWR reads: its own admission tokens and entry passes (ES256, keys from its key ring) and the
// platform's user tokens (token/user_identity.hpp: any usual algorithm, keys from the platform's
// published JWKS (RFC 7517), also read here).
//
// Only asymmetric algorithms: a JWKS holds public keys, and a shared secret would let anyone who
// can read the JWKS sign. "none" and every HS* are refused before any key is looked at.
namespace vwr::token {

// A public key from a JWK: RSA (at least 2048 bits), EC on P-256, P-384 or P-521, or OKP
// Ed25519. Cheap to copy (the OpenSSL key is shared and never modified); Verify is thread-safe.
class JwsPublicKey final : public JwsVerifier {
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
              std::span<const std::uint8_t> signature) const override;

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
struct JwsKeySet final : public JwsKeyLookup {
  std::map<std::string, JwsPublicKey, std::less<>> by_kid;
  std::vector<std::string> skipped;  // "kid <x>: <why>"

  // The key a JWS header names: its kid, or with no kid the only key of the set.
  const JwsPublicKey* Find(std::string_view kid) const override;
};
// Reads {"keys":[...]}. An error when it is not such a document, a key listed twice has the same
// kid, or no key at all can be used.
boost::system::result<JwsKeySet, std::string> ParseJwks(std::string_view json);

namespace jwt {

// Why a compact JWS was refused, finely enough that each kind of token can report it in its own
// codes (TokenError, PassError, UserTokenError), as it always has.
enum class JwsError : std::uint8_t {
  kMalformed,             // not three parts, too long, a header or payload that is not
                          // base64url of a JSON object, or "crit" in the header
  kNoAlgorithm,           // the header has no "alg" string
  kUnsupportedAlgorithm,  // alg symmetric, "none", unknown, or not among those allowed
  kWrongType,             // "typ" missing or not the one asked for (JwsOptions::type)
  kBadKeyId,              // "kid" present but not a string
  kUnknownKey,            // no key for the kid (or no kid and no key to take without one)
  kBadSignature,          // not base64url, or the named key did not sign it
};
std::string_view JwsErrorName(JwsError error);

struct JwsOptions {
  // The longest token read at all.
  std::size_t max_length = 8192;
  // When not empty, the header's "typ" must be exactly this: what keeps one kind of token from
  // standing in for another signed by the same keys.
  std::string_view type;
  // A header the caller wrote itself, with what it says. A token whose header text is exactly
  // `encoded` (the caller's own tokens, almost always) is taken to say `alg`, `type` and `kid`
  // without decoding and parsing it: the caller vouches that it has no "crit". What it says is
  // still held to `allowed`, to `type` above and to the keys.
  struct KnownHeader {
    std::string_view encoded;
    JwsAlgorithm alg = JwsAlgorithm::kEs256;
    std::string_view type;
    std::string_view kid;
  };
  std::optional<KnownHeader> known_header;
  // Where the header and payload objects are allocated: a caller's stack buffer keeps a
  // verification off the heap. Default: the heap.
  boost::json::storage_ptr storage;
};

struct VerifiedJws {
  JwsAlgorithm alg = JwsAlgorithm::kEs256;
  boost::json::object header;  // empty when JwsOptions::known_header matched
  boost::json::object payload;
  std::string kid;  // "" when the header names none
};

// Verifies a compact JWS, in this order:
//
//   shape      at most options.max_length bytes, exactly three '.'-separated parts
//   header     base64url of a JSON object (skipped for options.known_header)
//   alg        a string (kNoAlgorithm), an asymmetric JwsAlgorithm among `allowed` (empty: any)
//   crit       absent (RFC 7515 4.1.11: extensions must be understood, and none are)
//   typ        options.type, when given
//   kid        a string when present; its key from `keys`; only that key is tried, with `alg`
//   signature  base64url; verified by the key
//   payload    base64url of a JSON object
//
// The first problem found is the one reported. Never throws (except std::bad_alloc) and accepts
// any input; checking the claims is the caller's business.
boost::system::result<VerifiedJws, JwsError> VerifyCompact(std::string_view token,
                                                           const JwsKeyLookup& keys,
                                                           std::span<const JwsAlgorithm> allowed,
                                                           const JwsOptions& options = {});

// The kid a compact JWS's header names, unverified: "" when the token is not shaped like one,
// its header is not a JSON object or names no string kid. Only for asking which key to fetch
// when a token names a key not held yet (the token is verified afterwards, as always); bounded
// by options.max_length like VerifyCompact.
std::string KeyIdOf(std::string_view token, std::size_t max_length = 8192);

}  // namespace jwt
}  // namespace vwr::token
