#include "token/identity.hpp"

#include <algorithm>
#include <span>

#include "util/base64.hpp"

namespace vwr::token {
namespace {
constexpr std::string_view kKeyLabel = "vwr.identity.v1";
constexpr std::size_t kPseudonymBytes = 16;
static_assert(util::Base64UrlEncodedLength(kPseudonymBytes) == IdentityPseudonyms::kLength);
}  // namespace

std::string HashIdentity(const SecretKey& key, std::string_view user_id) {
  return IdentityPseudonyms(key).Of(user_id);
}

IdentityPseudonyms::IdentityPseudonyms(const SecretKey& master)
    : mac_(DeriveKey(master, kKeyLabel).bytes) {}

std::string IdentityPseudonyms::Of(std::string_view identity) const {
  const HmacSha256::Digest digest = mac_.Compute(identity);
  return util::Base64UrlEncode(std::span(digest.data(), kPseudonymBytes));
}

bool IdentityPseudonyms::IsPseudonym(std::string_view text) {
  return text.size() == kLength && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

}  // namespace vwr::token
