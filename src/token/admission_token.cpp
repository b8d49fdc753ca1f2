#include "token/admission_token.hpp"

#include <array>
#include <boost/json.hpp>
#include <stdexcept>
#include <utility>

#include "token/jws.hpp"
#include "token/jwt_json.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr std::string_view kType = "JWT";

using jwt::GetInt64;
using jwt::GetString;

}  // namespace

TokenError TokenErrorOf(jwt::JwsError error) {
  switch (error) {
    case jwt::JwsError::kMalformed:
    case jwt::JwsError::kNoAlgorithm:
    case jwt::JwsError::kWrongType:
      return TokenError::kMalformed;
    case jwt::JwsError::kUnsupportedAlgorithm:
      return TokenError::kUnsupportedAlgorithm;
    case jwt::JwsError::kBadKeyId:
    case jwt::JwsError::kUnknownKey:
      return TokenError::kUnknownKey;
    case jwt::JwsError::kBadSignature:
      return TokenError::kBadSignature;
  }
  return TokenError::kMalformed;
}

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
  payload.reserve(8);
  payload.emplace("iss", claims.iss);
  payload.emplace("aud", claims.aud);
  payload.emplace("sub", claims.sub);
  payload.emplace("iat", claims.iat);
  payload.emplace("nbf", claims.nbf);
  payload.emplace("exp", claims.exp);
  payload.emplace("jti", claims.jti);
  if (claims.auth_time != 0) payload.emplace("auth_time", claims.auth_time);

  return jwt::SignCompact(ring.signer->encoded_header, payload, ring.signer->key);
}

AdmissionTokenSigner::VerifyResult AdmissionTokenSigner::VerifyUncached(
    const KeyRing::Snapshot& ring, std::string_view token) const {
  // Header and claims live in this buffer: a verification takes nothing from the heap for them.
  std::array<unsigned char, 5 * 1024> storage;
  json::monotonic_resource resource(storage.data(), storage.size());
  auto verified = jwt::VerifyOwn(token, ring, kType, kMaxTokenLength, &resource);
  if (!verified) return TokenErrorOf(verified.error());
  const json::object& payload = verified->payload;
  AdmissionClaims claims;
  if (!GetString(payload, "iss", claims.iss) || !GetString(payload, "aud", claims.aud) ||
      !GetString(payload, "sub", claims.sub) || !GetInt64(payload, "iat", claims.iat) ||
      !GetInt64(payload, "nbf", claims.nbf) || !GetInt64(payload, "exp", claims.exp) ||
      !GetString(payload, "jti", claims.jti)) {
    return TokenError::kMalformed;
  }
  // Optional (tokens of earlier versions have none), but an integer when present.
  if (payload.contains("auth_time") && !GetInt64(payload, "auth_time", claims.auth_time)) {
    return TokenError::kMalformed;
  }
  return claims;
}

AdmissionTokenSigner::VerifyResult AdmissionTokenSigner::Verify(
    std::string_view token, std::optional<std::int64_t> now_unix,
    std::optional<std::string_view> audience) const {
  // Bounded before it is hashed; everything else about its shape is VerifyCompact's business.
  if (token.size() > kMaxTokenLength) return TokenError::kMalformed;

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
    VerifyResult verified = VerifyUncached(ring, token);
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
