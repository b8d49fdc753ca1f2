#pragma once

#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vwr::token {

// HMAC-SHA256 (RFC 2104) with the key schedule done once.
//
// The constructor hashes the ipad and opad key blocks and keeps the two SHA-256 midstates, so a
// MAC costs two SHA-256 compressions plus the message, with no allocation and no OpenSSL provider
// lookup (OpenSSL 3's EVP/HMAC APIs allocate and fetch per use, which dominates for short
// messages). The midstates are key-equivalent secrets and are wiped on destruction.
//
// Internal to the token library. Thread-safe: const methods only read the midstates.
class HmacSha256 {
 public:
  static constexpr std::size_t kDigestSize = 32;
  using Digest = std::array<std::uint8_t, kDigestSize>;

  // Incremental MAC over a message given in pieces. Obtain one from Begin().
  class Stream {
   public:
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    void Update(std::span<const std::uint8_t> data);
    void Update(std::string_view data);
    // Call at most once; the stream is spent afterwards.
    Digest Finish();

   private:
    friend class HmacSha256;
    explicit Stream(const HmacSha256& mac);

    const HmacSha256& mac_;
    SHA256_CTX inner_;
  };

  explicit HmacSha256(std::span<const std::uint8_t> key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = default;
  HmacSha256& operator=(const HmacSha256&) = default;

  Stream Begin() const { return Stream(*this); }
  Digest Compute(std::span<const std::uint8_t> message) const;
  Digest Compute(std::string_view message) const;

 private:
  SHA256_CTX inner_;  // after absorbing key ^ ipad
  SHA256_CTX outer_;  // after absorbing key ^ opad
};

}  // namespace vwr::token
