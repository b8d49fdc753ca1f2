#pragma once

#include <openssl/types.h>

#include <array>
#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "token/jws_key.hpp"

// ECDSA on P-256 with SHA-256, as JWS "ES256" (RFC 7518 section 3.4) uses it, on OpenSSL 3, and
// the JSON Web Key form of its public keys (RFC 7517, RFC 7518 section 6.2, thumbprints RFC 7638).
//
// Signatures are the 64 bytes R || S (each a 32-byte big-endian integer), as JWS requires, not
// OpenSSL's DER. Internal to the token library and its tests.
namespace vwr::token {

using EcCoordinate = std::array<std::uint8_t, 32>;
using Es256Signature = std::array<std::uint8_t, 64>;

// Why something could not be signed: an ES256 signature, and the admission tokens and entry
// passes made with one. On the request path: the handler answers 503 or 500 and logs it.
enum class SignError : std::uint8_t {
  kNoSigningKey,  // the key ring holds no signing key (yet): a start-up step is missing
  kCrypto,        // OpenSSL failed to sign, which means it ran out of memory
};
// Stable snake_case name for logs: "no_signing_key", "crypto".
std::string_view SignErrorName(SignError error);
// Makes boost::system::result<T, SignError>::value() usable (it throws std::runtime_error on an
// error), for tests and start-up code. Request-path code tests the result instead.
[[noreturn]] void throw_exception_from_error(SignError error,
                                             const boost::source_location& location);

// A P-256 public key: a point on the curve, checked when built.
//
// Cheap to copy (the OpenSSL key is shared and never modified). Thread-safe: Verify may run on
// any number of threads at once. A JwsVerifier for ES256 only, so that the key ring's tokens go
// through the one JWS verification (jwt::VerifyCompact).
class EcPublicKey final : public JwsVerifier {
 public:
  // From the affine coordinates (a JWK's x and y). nullopt unless (x, y) is a point of P-256.
  static std::optional<EcPublicKey> FromCoordinates(const EcCoordinate& x, const EcCoordinate& y);

  const EcCoordinate& x() const { return x_; }
  const EcCoordinate& y() const { return y_; }

  // Whether `signature` (R || S) is a valid ES256 signature of `message`. Any input is safe: a
  // signature of another length, R or S zero or not below the group order, all give false.
  // Verification uses only public values, so its timing reveals nothing secret.
  bool Verify(std::string_view message, std::span<const std::uint8_t> signature) const;
  // The same, for `alg` ES256; false for any other algorithm.
  bool Verify(JwsAlgorithm alg, std::string_view message,
              std::span<const std::uint8_t> signature) const override {
    return alg == JwsAlgorithm::kEs256 && Verify(message, signature);
  }

  // Same point.
  bool operator==(const EcPublicKey& other) const { return x_ == other.x_ && y_ == other.y_; }

 private:
  EcPublicKey(std::shared_ptr<EVP_PKEY> key, const EcCoordinate& x, const EcCoordinate& y)
      : key_(std::move(key)), x_(x), y_(y) {}

  std::shared_ptr<EVP_PKEY> key_;
  EcCoordinate x_;
  EcCoordinate y_;
};

// A P-256 private key. Cheap to copy (shared, never modified). Thread-safe: Sign may run on any
// number of threads at once. Never log it; ToPem's text is as secret as the key.
class EcPrivateKey {
 public:
  // A fresh key from OpenSSL's CSPRNG. Aborts the process when OpenSSL cannot make one (no key
  // may ever come from a broken generator, and there is nothing sensible to go on with).
  static EcPrivateKey Generate();

  // Reads an unencrypted PEM private key ("PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY"). The
  // error says why it is not a usable P-256 key (no PEM, encrypted, another algorithm or curve,
  // a key that fails OpenSSL's consistency check).
  static boost::system::result<EcPrivateKey, std::string> FromPem(std::string_view pem);

  // PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted.
  std::string ToPem() const;

  const EcPublicKey& public_key() const { return public_key_; }

  // An ES256 signature (R || S) of `message`, with a fresh random nonce each time (so two
  // signatures of one message differ). kCrypto when OpenSSL fails (out of memory); never throws
  // (except std::bad_alloc).
  boost::system::result<Es256Signature, SignError> Sign(std::string_view message) const;

 private:
  EcPrivateKey(std::shared_ptr<EVP_PKEY> key, EcPublicKey public_key)
      : key_(std::move(key)), public_key_(std::move(public_key)) {}
  static boost::system::result<EcPrivateKey, std::string> FromKey(std::shared_ptr<EVP_PKEY> key);

  std::shared_ptr<EVP_PKEY> key_;
  EcPublicKey public_key_;
};

// ---- JSON Web Keys ----

// The RFC 7638 SHA-256 thumbprint of the key's JWK, base64url (43 characters). Every key this
// service makes has its thumbprint as its key id ("kid"), so anyone holding the JWK can check
// that the id belongs to it.
std::string JwkThumbprint(const EcPublicKey& key);

// The public JWK, one line of JSON in this member order:
//   {"kty":"EC","crv":"P-256","x":"<43>","y":"<43>","kid":"<kid>","use":"sig","alg":"ES256"}
std::string ToJwk(const EcPublicKey& key, std::string_view kid);

struct ParsedJwk {
  std::string kid;
  EcPublicKey key;
};

// Reads one public JWK as ToJwk writes it (member order and extra members are free). Requires
// kty "EC", crv "P-256", x and y of 32 bytes each (unpadded base64url) forming a point of P-256,
// and a kid equal to the key's thumbprint; "use", when present, must be "sig" and "alg" "ES256".
// A JWK with a private part ("d") is refused: private keys are never exchanged. Never throws
// (except std::bad_alloc); the error says what is wrong.
boost::system::result<ParsedJwk, std::string> ParseJwk(std::string_view json);

}  // namespace vwr::token
