#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "token/es256.hpp"
#include "token/jws.hpp"
#include "token/key_ring.hpp"

// The key ring's own JWTs: verifying one (jwt::VerifyCompact), reading its claims without
// throwing, and signing one. Shared by the admission tokens and the entry passes, which are both
// ES256 JWTs from the same key ring, told apart by their typ.
namespace vwr::token::jwt {

// jwt::VerifyCompact for a token of the ring: ES256 only, a key the ring holds, typ exactly
// `type`, at most `max_length` bytes; header and claims are allocated from `storage`. The
// ring's active header (KeyRing::Signer::encoded_header, typ "JWT") is taken as known.
boost::system::result<VerifiedJws, JwsError> VerifyOwn(std::string_view token,
                                                       const KeyRing::Snapshot& ring,
                                                       std::string_view type,
                                                       std::size_t max_length,
                                                       boost::json::storage_ptr storage);

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
