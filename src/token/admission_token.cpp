#include "token/admission_token.hpp"

#include <openssl/crypto.h>

#include <array>
#include <boost/json.hpp>
#include <stdexcept>
#include <utility>

#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr std::string_view kKeyLabel = "vwr.admission.hs256.v1";
constexpr std::string_view kAlgorithm = "HS256";
constexpr std::string_view kType = "JWT";

// Parses JSON without throwing. Small documents live in `resource` (a stack buffer).
std::optional<json::object> ParseObject(std::string_view encoded,
                                        json::monotonic_resource& resource) {
  const std::optional<std::string> text = util::Base64UrlDecode(encoded);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec, &resource);
  if (ec) return std::nullopt;
  json::object* object = value.if_object();
  if (object == nullptr) return std::nullopt;
  return std::move(*object);
}

const json::string* FindString(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr ? nullptr : value->if_string();
}

bool GetString(const json::object& object, std::string_view key, std::string& out) {
  const json::string* value = FindString(object, key);
  if (value == nullptr) return false;
  out.assign(value->data(), value->size());
  return true;
}

bool GetInt64(const json::object& object, std::string_view key, std::int64_t& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return false;
  // The parser stores every integer that fits as int64; doubles (1e9) and booleans are rejected.
  const std::int64_t* number = value->if_int64();
  if (number == nullptr) return false;
  out = *number;
  return true;
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
  }
  return "unknown";
}

void throw_exception_from_error(TokenError error, const boost::source_location& /*location*/) {
  throw std::runtime_error("admission token rejected: " + std::string(TokenErrorName(error)));
}

AdmissionTokenSigner::AdmissionTokenSigner(const SecretKey& key, std::string key_id)
    : key_id_(std::move(key_id)), mac_(DeriveKey(key, kKeyLabel).bytes) {
  json::object header;
  header.emplace("alg", kAlgorithm);
  header.emplace("typ", kType);
  header.emplace("kid", key_id_);
  encoded_header_ = util::Base64UrlEncode(json::serialize(header));
}

std::string AdmissionTokenSigner::Issue(const AdmissionClaims& claims) const {
  json::object payload;
  payload.reserve(7);
  payload.emplace("iss", claims.iss);
  payload.emplace("aud", claims.aud);
  payload.emplace("sub", claims.sub);
  payload.emplace("iat", claims.iat);
  payload.emplace("nbf", claims.nbf);
  payload.emplace("exp", claims.exp);
  payload.emplace("jti", claims.jti);

  std::string token = encoded_header_;
  token += '.';
  util::Base64UrlEncodeAppend(json::serialize(payload), token);
  const HmacSha256::Digest signature = mac_.Compute(token);
  token += '.';
  util::Base64UrlEncodeAppend(signature, token);
  return token;
}

std::optional<TokenError> AdmissionTokenSigner::CheckHeader(std::string_view encoded_header) const {
  std::array<unsigned char, 1024> storage;
  json::monotonic_resource resource(storage.data(), storage.size());
  const std::optional<json::object> header = ParseObject(encoded_header, resource);
  if (!header) return TokenError::kMalformed;
  const json::string* alg = FindString(*header, "alg");
  if (alg == nullptr) return TokenError::kMalformed;
  if (*alg != kAlgorithm) return TokenError::kUnsupportedAlgorithm;
  // RFC 7515 4.1.11: extensions listed in "crit" must be understood; we understand none.
  if (header->contains("crit")) return TokenError::kMalformed;
  const json::string* typ = FindString(*header, "typ");
  if (typ == nullptr || *typ != kType) return TokenError::kMalformed;
  // A token under another (or no) key id is one whose signature we cannot check.
  const json::string* kid = FindString(*header, "kid");
  if (kid == nullptr || *kid != key_id_) return TokenError::kBadSignature;
  return std::nullopt;
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
  const std::string_view encoded_header = token.substr(0, first_dot);
  const std::string_view encoded_payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view encoded_signature = token.substr(second_dot + 1);

  // Our own tokens carry exactly our header: skip parsing it in the common case.
  if (encoded_header != encoded_header_) {
    if (const std::optional<TokenError> error = CheckHeader(encoded_header)) return *error;
  }

  HmacSha256::Digest signature;
  if (encoded_signature.size() != util::Base64UrlEncodedLength(signature.size()) ||
      !util::Base64UrlDecodeInto(encoded_signature, signature)) {
    return TokenError::kBadSignature;
  }
  const HmacSha256::Digest expected = mac_.Compute(token.substr(0, second_dot));
  if (CRYPTO_memcmp(expected.data(), signature.data(), signature.size()) != 0) {
    return TokenError::kBadSignature;
  }

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

  if (audience && claims.aud != *audience) return TokenError::kWrongAudience;
  if (now_unix) {
    if (*now_unix >= claims.exp) return TokenError::kExpired;
    if (*now_unix < claims.nbf) return TokenError::kNotYetValid;
  }
  return claims;
}

}  // namespace vwr::token
