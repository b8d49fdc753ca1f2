#include "token/admission_token.hpp"

#include <array>
#include <boost/json.hpp>
#include <stdexcept>
#include <utility>

#include "token/jwt_json.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlgorithm = "ES256";
constexpr std::string_view kType = "JWT";
constexpr std::size_t kSignatureTextLength = util::Base64UrlEncodedLength(64);  // 86

using jwt::FindString;
using jwt::GetInt64;
using jwt::GetString;
using jwt::ParseObject;

// The key that verifies a token with this header, or the reason to refuse it.
boost::system::result<const EcPublicKey*, TokenError> KeyForHeader(
    const KeyRing::Snapshot& ring, std::string_view encoded_header) {
  // Our own current tokens carry exactly the active key's header: no parsing needed.
  if (ring.signer && encoded_header == ring.signer->encoded_header) {
    if (const EcPublicKey* key = ring.Find(ring.signer->kid)) return key;
  }
  std::array<unsigned char, 1024> storage;
  json::monotonic_resource resource(storage.data(), storage.size());
  const std::optional<json::object> header = ParseObject(encoded_header, resource);
  if (!header) return TokenError::kMalformed;
  const json::string* alg = FindString(*header, "alg");
  if (alg == nullptr) return TokenError::kMalformed;
  // Exactly ES256: "none", HS256 (a token MACed with the public key as the secret), RS256,
  // "es256"... are all refused before any key is looked at.
  if (*alg != kAlgorithm) return TokenError::kUnsupportedAlgorithm;
  // RFC 7515 4.1.11: extensions listed in "crit" must be understood; we understand none.
  if (header->contains("crit")) return TokenError::kMalformed;
  const json::string* typ = FindString(*header, "typ");
  if (typ == nullptr || *typ != kType) return TokenError::kMalformed;
  const json::string* kid = FindString(*header, "kid");
  if (kid == nullptr) return TokenError::kUnknownKey;
  const EcPublicKey* key = ring.Find(std::string_view(kid->data(), kid->size()));
  if (key == nullptr) return TokenError::kUnknownKey;
  return key;
}

}  // namespace

std::string_view TokenErrorName(TokenError error) {
  switch (error) {
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case TokenError::kBadSignature:
      return "bad_signature";
    case TokenError::kExpired:
      return "expired";
    case TokenError::kNotYetValid:
      return "not_yet_valid";
    case TokenError::kWrongAudience:
      return "wrong_audience";
    case TokenError::kUnknownKey:
      return "unknown_key";
  }
  return "unknown";
}

void throw_exception_from_error(TokenError error, const boost::source_location& /*location*/) {
  throw std::runtime_error("admission token rejected: " + std::string(TokenErrorName(error)));
}

AdmissionTokenSigner::AdmissionTokenSigner(const KeyRing& ring, const util::Clock& clock,
                                           VerifiedTokenCache::Options cache)
    : ring_(ring), clock_(clock), cache_(cache) {}

std::string AdmissionTokenSigner::key_id() const {
  const KeyRing::Snapshot& ring = ring_.Current();
  return ring.signer ? ring.signer->kid : std::string();
}

boost::system::result<std::string, SignError> AdmissionTokenSigner::Issue(
    const AdmissionClaims& claims) const {
  const KeyRing::Snapshot& ring = ring_.Current();
  if (!ring.signer) return SignError::kNoSigningKey;
  json::object payload;
  payload.reserve(7);
  payload.emplace("iss", claims.iss);
  payload.emplace("aud", claims.aud);
  payload.emplace("sub", claims.sub);
  payload.emplace("iat", claims.iat);
  payload.emplace("nbf", claims.nbf);
  payload.emplace("exp", claims.exp);
  payload.emplace("jti", claims.jti);

  return jwt::SignCompact(ring.signer->encoded_header, payload, ring.signer->key);
}

AdmissionTokenSigner::VerifyResult AdmissionTokenSigner::VerifyUncached(
    const KeyRing::Snapshot& ring, std::string_view token, std::size_t first_dot,
    std::size_t second_dot) const {
  const std::string_view encoded_header = token.substr(0, first_dot);
  const std::string_view encoded_payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view encoded_signature = token.substr(second_dot + 1);

  auto key = KeyForHeader(ring, encoded_header);
  if (!key) return key.error();

  Es256Signature signature;
  if (encoded_signature.size() != kSignatureTextLength ||
      !util::Base64UrlDecodeInto(encoded_signature, signature)) {
    return TokenError::kBadSignature;
  }
  if (!(*key)->Verify(token.substr(0, second_dot), signature)) return TokenError::kBadSignature;

  std::array<unsigned char, 4096> storage;
  json::monotonic_resource resource(storage.data(), storage.size());
  const std::optional<json::object> payload = ParseObject(encoded_payload, resource);
  if (!payload) return TokenError::kMalformed;
  AdmissionClaims claims;
  if (!GetString(*payload, "iss", claims.iss) || !GetString(*payload, "aud", claims.aud) ||
      !GetString(*payload, "sub", claims.sub) || !GetInt64(*payload, "iat", claims.iat) ||
      !GetInt64(*payload, "nbf", claims.nbf) || !GetInt64(*payload, "exp", claims.exp) ||
      !GetString(*payload, "jti", claims.jti)) {
    return TokenError::kMalformed;
  }
  return claims;
}

AdmissionTokenSigner::VerifyResult AdmissionTokenSigner::Verify(
    std::string_view token, std::optional<std::int64_t> now_unix,
    std::optional<std::string_view> audience) const {
  if (token.size() > kMaxTokenLength) return TokenError::kMalformed;
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return TokenError::kMalformed;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return TokenError::kMalformed;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return TokenError::kMalformed;

  const KeyRing::Snapshot& ring = ring_.Current();
  std::optional<AdmissionClaims> claims;
  const std::int64_t wall_now =
      cache_.enabled()
          ? std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
                .count()
          : 0;
  VerifiedTokenCache::Digest digest{};
  if (cache_.enabled()) {
    digest = VerifiedTokenCache::DigestOf(token);
    claims = cache_.Find(digest, wall_now, ring.epoch);
  }
  if (!claims) {
    VerifyResult verified = VerifyUncached(ring, token, first_dot, second_dot);
    if (!verified) return verified;
    claims = std::move(*verified);
    if (cache_.enabled()) cache_.Insert(digest, *claims, wall_now, ring.epoch);
  }

  if (audience && claims->aud != *audience) return TokenError::kWrongAudience;
  if (now_unix) {
    if (*now_unix >= claims->exp) return TokenError::kExpired;
    if (*now_unix < claims->nbf) return TokenError::kNotYetValid;
  }
  return std::move(*claims);
}

}  // namespace vwr::token
