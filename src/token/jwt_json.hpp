#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "token/es256.hpp"

// Reading the JSON parts of a JWT (header, claims) without throwing, and signing one: shared by
// the admission tokens and the entry passes, which are both ES256 JWTs from the same key ring.
namespace vwr::token::jwt {

// The base64url part `encoded` as a JSON object; nullopt when it is not one. Small documents
// live in `resource` (a stack buffer).
std::optional<boost::json::object> ParseObject(std::string_view encoded,
                                               boost::json::monotonic_resource& resource);

// The string member `key`, or nullptr when absent or not a string.
const boost::json::string* FindString(const boost::json::object& object, std::string_view key);

// Copies the string member `key` into `out`; false when absent or not a string.
bool GetString(const boost::json::object& object, std::string_view key, std::string& out);

// The integer member `key` into `out`; false when absent or not an integer (the parser stores
// every integer that fits as int64; doubles such as 1e9 and booleans are refused).
bool GetInt64(const boost::json::object& object, std::string_view key, std::int64_t& out);

// The compact JWS `encoded_header`.base64url(payload).base64url(ES256 signature by `key`).
boost::system::result<std::string, SignError> SignCompact(std::string encoded_header,
                                                          const boost::json::object& payload,
                                                          const EcPrivateKey& key);

}  // namespace vwr::token::jwt
