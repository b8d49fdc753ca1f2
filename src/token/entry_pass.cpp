#include "token/entry_pass.hpp"

#include <array>
#include <boost/json.hpp>
#include <optional>

#include "token/es256.hpp"
#include "token/jwt_json.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlgorithm = "ES256";
constexpr std::string_view kPassClaim = "pass";
constexpr std::size_t kSignatureTextLength = util::Base64UrlEncodedLength(64);

using token::jwt::FindString;
using token::jwt::GetInt64;
using token::jwt::GetString;
using token::jwt::ParseObject;

}  // namespace

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
  if (pass.size() > kMaxLength) return PassError::kMalformed;
  const std::size_t first_dot = pass.find('.');
  if (first_dot == std::string_view::npos) return PassError::kMalformed;
  const std::size_t second_dot = pass.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      pass.find('.', second_dot + 1) != std::string_view::npos) {
    return PassError::kMalformed;
  }
  const token::KeyRing::Snapshot& ring = ring_.Current();

  // The header: exactly ES256, typed as a pass, by a key of the ring.
  std::array<unsigned char, 1024> header_storage;
  json::monotonic_resource header_resource(header_storage.data(), header_storage.size());
  const std::optional<json::object> header =
      ParseObject(pass.substr(0, first_dot), header_resource);
  if (!header) return PassError::kMalformed;
  const json::string* alg = FindString(*header, "alg");
  if (alg == nullptr) return PassError::kMalformed;
  if (*alg != kAlgorithm) return PassError::kUnsupportedAlgorithm;
  if (header->contains("crit")) return PassError::kMalformed;
  const json::string* typ = FindString(*header, "typ");
  if (typ == nullptr || *typ != kType) return PassError::kNotAPass;
  const json::string* kid = FindString(*header, "kid");
  const token::EcPublicKey* key =
      kid == nullptr ? nullptr : ring.Find(std::string_view(kid->data(), kid->size()));
  if (key == nullptr) return PassError::kUnknownKey;

  token::Es256Signature signature;
  const std::string_view encoded_signature = pass.substr(second_dot + 1);
  if (encoded_signature.size() != kSignatureTextLength ||
      !util::Base64UrlDecodeInto(encoded_signature, signature) ||
      !key->Verify(pass.substr(0, second_dot), signature)) {
    return PassError::kBadSignature;
  }

  std::array<unsigned char, 4096> payload_storage;
  json::monotonic_resource payload_resource(payload_storage.data(), payload_storage.size());
  const std::optional<json::object> payload =
      ParseObject(pass.substr(first_dot + 1, second_dot - first_dot - 1), payload_resource);
  if (!payload) return PassError::kMalformed;
  const json::string* marker = FindString(*payload, "vwr");
  if (marker == nullptr || *marker != kPassClaim) return PassError::kNotAPass;
  EntryPassClaims claims;
  std::int64_t nbf = 0;
  if (!GetString(*payload, "iss", claims.iss) || !GetString(*payload, "aud", claims.aud) ||
      !GetString(*payload, "sub", claims.sub) || !GetString(*payload, "sid", claims.sid) ||
      !GetInt64(*payload, "iat", claims.iat) || !GetInt64(*payload, "nbf", nbf) ||
      !GetInt64(*payload, "exp", claims.exp)) {
    return PassError::kMalformed;
  }
  if (claims.iss != issuer) return PassError::kWrongIssuer;
  if (claims.aud != room) return PassError::kWrongRoom;
  if (now_unix >= claims.exp) return PassError::kExpired;
  if (now_unix < nbf) return PassError::kNotYetValid;
  return claims;
}

}  // namespace vwr::token
