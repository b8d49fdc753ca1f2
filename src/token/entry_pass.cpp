#include "token/entry_pass.hpp"

#include <array>
#include <boost/json.hpp>
#include <optional>

#include "token/es256.hpp"
#include "token/jws.hpp"
#include "token/jwt_json.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlgorithm = "ES256";
constexpr std::string_view kPassClaim = "pass";

using token::jwt::FindString;
using token::jwt::GetInt64;
using token::jwt::GetString;

}  // namespace

PassError PassErrorOf(jwt::JwsError error) {
  switch (error) {
    case jwt::JwsError::kMalformed:
    case jwt::JwsError::kNoAlgorithm:
      return PassError::kMalformed;
    case jwt::JwsError::kWrongType:
      return PassError::kNotAPass;
    case jwt::JwsError::kUnsupportedAlgorithm:
      return PassError::kUnsupportedAlgorithm;
    case jwt::JwsError::kBadKeyId:
    case jwt::JwsError::kUnknownKey:
      return PassError::kUnknownKey;
    case jwt::JwsError::kBadSignature:
      return PassError::kBadSignature;
  }
  return PassError::kMalformed;
}

std::string_view PassErrorName(PassError error) {
  switch (error) {
    case PassError::kMalformed:
      return "malformed";
    case PassError::kNotAPass:
      return "not_a_pass";
    case PassError::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case PassError::kUnknownKey:
      return "unknown_key";
    case PassError::kBadSignature:
      return "bad_signature";
    case PassError::kWrongIssuer:
      return "wrong_issuer";
    case PassError::kWrongRoom:
      return "wrong_room";
    case PassError::kExpired:
      return "expired";
    case PassError::kNotYetValid:
      return "not_yet_valid";
  }
  return "malformed";
}

boost::system::result<std::string, SignError> EntryPassCodec::Issue(
    const EntryPassClaims& claims) const {
  const token::KeyRing::Snapshot& ring = ring_.Current();
  if (!ring.signer) return SignError::kNoSigningKey;
  json::object header;
  header.emplace("alg", kAlgorithm);
  header.emplace("typ", kType);
  header.emplace("kid", ring.signer->kid);
  json::object payload;
  payload.reserve(8);
  payload.emplace("iss", claims.iss);
  payload.emplace("aud", claims.aud);
  payload.emplace("sub", claims.sub);
  payload.emplace("sid", claims.sid);
  payload.emplace("iat", claims.iat);
  payload.emplace("nbf", claims.iat);
  payload.emplace("exp", claims.exp);
  payload.emplace("vwr", kPassClaim);

  return token::jwt::SignCompact(util::Base64UrlEncode(json::serialize(header)), payload,
                                 ring.signer->key);
}

boost::system::result<EntryPassClaims, PassError> EntryPassCodec::Verify(
    std::string_view pass, std::int64_t now_unix, std::string_view room,
    std::string_view issuer) const {
  // Exactly ES256, typed as a pass, by a key of the ring.
  std::array<unsigned char, 5 * 1024> storage;
  json::monotonic_resource resource(storage.data(), storage.size());
  auto verified = jwt::VerifyOwn(pass, ring_.Current(), kType, kMaxLength, &resource);
  if (!verified) return PassErrorOf(verified.error());
  const json::object& payload = verified->payload;
  const json::string* marker = FindString(payload, "vwr");
  if (marker == nullptr || *marker != kPassClaim) return PassError::kNotAPass;
  EntryPassClaims claims;
  std::int64_t nbf = 0;
  if (!GetString(payload, "iss", claims.iss) || !GetString(payload, "aud", claims.aud) ||
      !GetString(payload, "sub", claims.sub) || !GetString(payload, "sid", claims.sid) ||
      !GetInt64(payload, "iat", claims.iat) || !GetInt64(payload, "nbf", nbf) ||
      !GetInt64(payload, "exp", claims.exp)) {
    return PassError::kMalformed;
  }
  if (claims.iss != issuer) return PassError::kWrongIssuer;
  if (claims.aud != room) return PassError::kWrongRoom;
  if (now_unix >= claims.exp) return PassError::kExpired;
  if (now_unix < nbf) return PassError::kNotYetValid;
  return claims;
}

}  // namespace vwr::token
