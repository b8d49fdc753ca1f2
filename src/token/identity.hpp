#pragma once

#include <string>
#include <string_view>

#include "token/hmac_sha256.hpp"
#include "token/key.hpp"

namespace vwr::token {

// A stable pseudonym for `user_id`, used as the admission token `sub` so that user ids never leave
// the process: base64url of the first 16 bytes of HMAC-SHA256(identity_key, user_id), 22
// characters. identity_key = DeriveKey(key, "vwr.identity.v1"); pass the master key. The same
// user maps to the same pseudonym for as long as the master key is kept.
//
// Costs about 1 us (the identity key is re-derived per call); IdentityPseudonyms keeps the key.
std::string HashIdentity(const SecretKey& key, std::string_view user_id);

// HashIdentity with the key schedule done once: about 0.3 us a pseudonym, no allocation beyond
// the result. The rooms hold identities only as these pseudonyms: whatever a user id looks like
// (up to 256 bytes), a room keeps 22 characters for it, and no store, journal or Redis key ever
// holds a user id. Thread-safe.
class IdentityPseudonyms {
 public:
  static constexpr std::size_t kLength = 22;

  explicit IdentityPseudonyms(const SecretKey& master);

  std::string Of(std::string_view identity) const;
  // Whether `text` has a pseudonym's shape (22 base64url characters): what a token's `sub` may
  // show of an identity a room holds.
  static bool IsPseudonym(std::string_view text);

 private:
  HmacSha256 mac_;
};

}  // namespace vwr::token
