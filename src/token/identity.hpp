#pragma once

#include <string>
#include <string_view>

#include "token/key.hpp"

namespace vwr::token {

// A stable pseudonym for `user_id`, used as the admission token `sub` so that user ids never leave
// the process: base64url of the first 16 bytes of HMAC-SHA256(identity_key, user_id), 22
// characters. identity_key = DeriveKey(key, "vwr.identity.v1"); pass the master key. The same
// user maps to the same pseudonym for as long as the master key is kept.
//
// Costs about 1 us (the identity key is re-derived per call); not meant for per-poll use.
std::string HashIdentity(const SecretKey& key, std::string_view user_id);

}  // namespace vwr::token
