#include "token/jwt_json.hpp"

#include "util/base64.hpp"

namespace vwr::token::jwt {

namespace json = boost::json;

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
