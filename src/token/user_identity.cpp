#include "token/user_identity.hpp"

#include <boost/json.hpp>

namespace vwr::token {
namespace {

namespace json = boost::json;

// A NumericDate claim (RFC 7519 2): an integer, or a number with a fraction (some issuers write
// 1700000000.5); nullopt when absent, and false when present but not a number.
bool ReadDate(const json::object& claims, std::string_view name, std::optional<std::int64_t>& out) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return true;
  if (v->is_int64()) {
    out = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    out = static_cast<std::int64_t>(v->get_uint64());
  } else if (v->is_double() && v->get_double() > -9e15 && v->get_double() < 9e15) {
    out = static_cast<std::int64_t>(v->get_double());
  } else {
    return false;
  }
  return true;
}

bool AudienceContains(const json::value& aud, std::string_view want) {
  if (const json::string* one = aud.if_string()) return *one == want;
  if (const json::array* many = aud.if_array()) {
    for (const json::value& v : *many) {
      if (const json::string* s = v.if_string(); s != nullptr && *s == want) return true;
    }
  }
  return false;
}

}  // namespace

std::string_view UserTokenErrorName(UserTokenError error) {
  switch (error) {
    case UserTokenError::kNoKeys:
      return "no_keys";
    case UserTokenError::kMalformed:
      return "malformed";
    case UserTokenError::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case UserTokenError::kUnknownKey:
      return "unknown_key";
    case UserTokenError::kBadSignature:
      return "bad_signature";
    case UserTokenError::kExpired:
      return "expired";
    case UserTokenError::kNotYetValid:
      return "not_yet_valid";
    case UserTokenError::kWrongIssuer:
      return "wrong_issuer";
    case UserTokenError::kWrongAudience:
      return "wrong_audience";
    case UserTokenError::kNoIdentity:
      return "no_identity";
  }
  return "malformed";
}

std::string_view UserTokenErrorMessage(UserTokenError error) {
  switch (error) {
    case UserTokenError::kNoKeys:
      return "the platform's signing keys are not loaded yet; try again shortly";
    case UserTokenError::kMalformed:
      return "the user token is not a well-formed JWT with an exp claim";
    case UserTokenError::kUnsupportedAlgorithm:
      return "the user token's algorithm is not accepted";
    case UserTokenError::kUnknownKey:
      return "the user token names a key the platform's JWKS does not hold";
    case UserTokenError::kBadSignature:
      return "the user token's signature does not verify";
    case UserTokenError::kExpired:
      return "the user token has expired";
    case UserTokenError::kNotYetValid:
      return "the user token is not valid yet";
    case UserTokenError::kWrongIssuer:
      return "the user token is from another issuer";
    case UserTokenError::kWrongAudience:
      return "the user token is meant for another audience";
    case UserTokenError::kNoIdentity:
      return "the user token does not name a user";
  }
  return "the user token is not valid";
}

UserIdentityVerifier::UserIdentityVerifier(UserIdentityOptions options,
                                           VerifiedTokenCache::Options cache)
    : options_(std::move(options)), cache_(cache) {}

void UserIdentityVerifier::SetKeys(JwsKeySet keys) {
  keys_.Publish(std::move(keys));
  // Tokens verified under the keys before may name one that has left: verify them again.
  keys_epoch_.fetch_add(1, std::memory_order_acq_rel);
  has_keys_.store(true, std::memory_order_release);
}

boost::system::result<std::string, UserTokenError> UserIdentityVerifier::Verify(
    std::string_view token, std::int64_t now_unix) const {
  if (!has_keys()) return UserTokenError::kNoKeys;
  if (token.size() > kMaxTokenLength) return UserTokenError::kMalformed;
  const std::uint64_t epoch = keys_epoch_.load(std::memory_order_acquire);
  const VerifiedTokenCache::Digest digest = VerifiedTokenCache::DigestOf(token);
  if (std::optional<AdmissionClaims> known = cache_.Find(digest, now_unix, epoch)) {
    return std::move(known->sub);
  }
  jwt::JwsOptions jws;
  jws.max_length = kMaxTokenLength;
  auto verified = jwt::VerifyCompact(token, keys_.Get(), options_.algorithms, jws);
  if (!verified) {
    switch (verified.error()) {
      case jwt::JwsError::kMalformed:
      case jwt::JwsError::kWrongType:  // (no typ is asked for)
      case jwt::JwsError::kBadKeyId:
        return UserTokenError::kMalformed;
      case jwt::JwsError::kNoAlgorithm:
      case jwt::JwsError::kUnsupportedAlgorithm:
        return UserTokenError::kUnsupportedAlgorithm;
      case jwt::JwsError::kUnknownKey:
        refresh_wanted_.store(true, std::memory_order_release);
        return UserTokenError::kUnknownKey;
      case jwt::JwsError::kBadSignature:
        return UserTokenError::kBadSignature;
    }
    return UserTokenError::kMalformed;
  }
  const json::object& claims = verified->payload;
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  // A user token without an end is refused: a stolen one would never stop working.
  if (!ReadDate(claims, "exp", exp) || !ReadDate(claims, "nbf", nbf) || !exp) {
    return UserTokenError::kMalformed;
  }
  const std::int64_t leeway = options_.leeway.count();
  if (now_unix >= *exp + leeway) return UserTokenError::kExpired;
  if (nbf && now_unix < *nbf - leeway) return UserTokenError::kNotYetValid;
  if (!options_.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != options_.issuer) {
      return UserTokenError::kWrongIssuer;
    }
  }
  if (!options_.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    if (aud == nullptr || !AudienceContains(*aud, options_.audience)) {
      return UserTokenError::kWrongAudience;
    }
  }
  const json::value* who = claims.if_contains(options_.claim);
  std::string identity;
  if (who != nullptr && who->is_string()) {
    identity = std::string(who->get_string());
  } else if (who != nullptr && (who->is_int64() || who->is_uint64())) {
    identity = json::serialize(*who);
  }
  if (identity.empty() || identity.size() > kMaxIdentityBytes) return UserTokenError::kNoIdentity;
  // Valid until exp + leeway, as checked above; the cache never keeps it longer.
  cache_.Insert(digest, AdmissionClaims{.sub = identity, .exp = *exp + leeway}, now_unix, epoch);
  return identity;
}

}  // namespace vwr::token
