#include "token/jwt_json.hpp"

#include "util/base64.hpp"

namespace vwr::token::jwt {

namespace json = boost::json;

namespace {
constexpr JwsAlgorithm kAlgorithms[] = {JwsAlgorithm::kEs256};
}  // namespace

boost::system::result<VerifiedJws, JwsError> VerifyOwn(std::string_view token,
                                                       const KeyRing::Snapshot& ring,
                                                       std::string_view type,
                                                       std::size_t max_length,
                                                       json::storage_ptr storage) {
  JwsOptions options;
  options.max_length = max_length;
  options.type = type;
  options.storage = std::move(storage);
  if (ring.signer) {
    options.known_header = JwsOptions::KnownHeader{ring.signer->encoded_header,
                                                   JwsAlgorithm::kEs256, "JWT", ring.signer->kid};
  }
  return VerifyCompact(token, ring, kAlgorithms, options);
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
  const std::int64_t* number = value->if_int64();
  if (number == nullptr) return false;
  out = *number;
  return true;
}

boost::system::result<std::string, SignError> SignCompact(std::string encoded_header,
                                                          const json::object& payload,
                                                          const EcPrivateKey& key) {
  std::string jws = std::move(encoded_header);
  jws += '.';
  util::Base64UrlEncodeAppend(json::serialize(payload), jws);
  const auto signature = key.Sign(jws);
  if (!signature) return signature.error();
  jws += '.';
  util::Base64UrlEncodeAppend(*signature, jws);
  return jws;
}

}  // namespace vwr::token::jwt
