#include "token/hmac_sha256.hpp"

#include <openssl/crypto.h>

#include <algorithm>

// The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP_Digest*, but they are the
// only way to copy a midstate without a heap allocation (EVP_MD_CTX_copy_ex duplicates the
// provider context). They remain in OpenSSL 3 and use the same assembly (SHA-NI/AVX2).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vwr::token {
namespace {
constexpr std::size_t kBlockSize = 64;
}  // namespace

HmacSha256::HmacSha256(std::span<const std::uint8_t> key) {
  std::array<std::uint8_t, kBlockSize> block{};
  if (key.size() > kBlockSize) {
    SHA256(key.data(), key.size(), block.data());
  } else if (!key.empty()) {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<std::uint8_t, kBlockSize> pad;
  for (std::size_t i = 0; i < kBlockSize; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad.data(), pad.size());
  for (std::size_t i = 0; i < kBlockSize; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad.data(), pad.size());
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
}

HmacSha256::~HmacSha256() {
  OPENSSL_cleanse(&inner_, sizeof(inner_));
  OPENSSL_cleanse(&outer_, sizeof(outer_));
}

HmacSha256::Digest HmacSha256::Compute(std::span<const std::uint8_t> message) const {
  Stream stream(*this);
  stream.Update(message);
  return stream.Finish();
}

HmacSha256::Digest HmacSha256::Compute(std::string_view message) const {
  Stream stream(*this);
  stream.Update(message);
  return stream.Finish();
}

HmacSha256::Stream::Stream(const HmacSha256& mac) : mac_(mac), inner_(mac.inner_) {}

HmacSha256::Stream::~Stream() { OPENSSL_cleanse(&inner_, sizeof(inner_)); }

void HmacSha256::Stream::Update(std::span<const std::uint8_t> data) {
  SHA256_Update(&inner_, data.data(), data.size());
}

void HmacSha256::Stream::Update(std::string_view data) {
  SHA256_Update(&inner_, data.data(), data.size());
}

HmacSha256::Digest HmacSha256::Stream::Finish() {
  Digest inner_digest;
  SHA256_Final(inner_digest.data(), &inner_);
  SHA256_CTX outer = mac_.outer_;
  SHA256_Update(&outer, inner_digest.data(), inner_digest.size());
  Digest digest;
  SHA256_Final(digest.data(), &outer);
  OPENSSL_cleanse(&outer, sizeof(outer));
  return digest;
}

}  // namespace vwr::token
