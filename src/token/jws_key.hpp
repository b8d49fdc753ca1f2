#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

// What verifying a compact JWS (jwt::VerifyCompact, token/jws.hpp) asks of keys, whoever holds
// them: the platform's JWKS (JwsKeySet, any usual algorithm) or this service's key ring
// (KeyRing::Snapshot, ES256 keys by their thumbprint).
namespace vwr::token {

// The asymmetric JWS algorithms (RFC 7518). No HS*: a shared secret in a published key set would
// let anyone who reads it sign; no "none".
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

// A public key, as a verification uses it.
class JwsVerifier {
 public:
  // Whether `signature` (the JWS form: R || S for ECDSA) is a valid `alg` signature of
  // `message` by this key. False when the key does not take `alg`. Any input is safe.
  virtual bool Verify(JwsAlgorithm alg, std::string_view message,
                      std::span<const std::uint8_t> signature) const = 0;

 protected:
  ~JwsVerifier() = default;
};

// Where a verification finds the key a header names.
class JwsKeyLookup {
 public:
  // The key for `kid` ("" when the header names none), or nullptr when there is none.
  virtual const JwsVerifier* Find(std::string_view kid) const = 0;

 protected:
  ~JwsKeyLookup() = default;
};

}  // namespace vwr::token
