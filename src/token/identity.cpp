#include "token/identity.hpp"

#include <span>

#include "token/hmac_sha256.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {
constexpr std::string_view kKeyLabel = "vwr.identity.v1";
constexpr std::size_t kPseudonymBytes = 16;
}  // namespace

std::string HashIdentity(const SecretKey& key, std::string_view user_id) {
  const HmacSha256::Digest digest = HmacSha256(DeriveKey(key, kKeyLabel).bytes).Compute(user_id);
  return util::Base64UrlEncode(std::span(digest.data(), kPseudonymBytes));
}

}  // namespace vwr::token
