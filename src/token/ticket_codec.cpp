#include "token/ticket_codec.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <span>

#include "util/base64.hpp"
#include "util/varint.hpp"

namespace vwr::token {
namespace {

constexpr std::string_view kKeyLabel = "vwr.ticket.v1";
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMacLength = 16;
constexpr std::size_t kMaxVarintLength = util::kMaxVarintBytes;
constexpr std::size_t kMinPayloadLength = 1 + 8 + 1 + 1;
constexpr std::size_t kMaxPayloadLength = 1 + 8 + 2 * kMaxVarintLength;
constexpr std::size_t kMaxTicketBytes = kMaxPayloadLength + kMacLength;
constexpr std::size_t kMinTicketLength =
    util::Base64UrlEncodedLength(kMinPayloadLength + kMacLength);
static_assert(util::Base64UrlEncodedLength(kMaxTicketBytes) <= TicketCodec::kMaxTicketLength);

using util::GetVarint;
using util::PutVarint;

std::array<std::uint8_t, kMacLength> ComputeMac(const HmacSha256& mac, std::string_view room,
                                                std::span<const std::uint8_t> payload) {
  HmacSha256::Stream stream = mac.Begin();
  stream.Update(room);
  stream.Update(std::string_view("\0", 1));
  stream.Update(payload);
  const HmacSha256::Digest digest = stream.Finish();
  std::array<std::uint8_t, kMacLength> out;
  std::copy_n(digest.begin(), kMacLength, out.begin());
  return out;
}

}  // namespace

TicketCodec::TicketCodec(const SecretKey& key) : mac_(DeriveKey(key, kKeyLabel).bytes) {}

std::string TicketCodec::Encode(std::string_view room, const TicketClaims& claims) const {
  std::array<std::uint8_t, kMaxTicketBytes> buffer;
  std::uint8_t* p = buffer.data();
  *p++ = kVersion;
  for (int shift = 56; shift >= 0; shift -= 8) {
    *p++ = static_cast<std::uint8_t>(claims.incarnation >> shift);
  }
  p = PutVarint(claims.number, p);
  p = PutVarint(claims.frontier_at_join, p);
  const auto payload_length = static_cast<std::size_t>(p - buffer.data());
  const auto mac = ComputeMac(mac_, room, std::span(buffer.data(), payload_length));
  std::copy(mac.begin(), mac.end(), p);

  std::string out;
  util::Base64UrlEncodeAppend(std::span(buffer.data(), payload_length + kMacLength), out);
  return out;
}

std::optional<TicketClaims> TicketCodec::Decode(std::string_view room,
                                                std::string_view ticket) const {
  if (ticket.size() > kMaxTicketLength || ticket.size() < kMinTicketLength) return std::nullopt;
  if (room.find('\0') != std::string_view::npos) return std::nullopt;

  std::array<std::uint8_t, kMaxTicketLength / 4 * 3> buffer;
  const std::optional<std::size_t> length = util::Base64UrlDecodeInto(ticket, buffer);
  if (!length || *length < kMinPayloadLength + kMacLength || *length > kMaxTicketBytes) {
    return std::nullopt;
  }
  const std::size_t payload_length = *length - kMacLength;

  // Authenticate before interpreting anything.
  const auto expected = ComputeMac(mac_, room, std::span(buffer.data(), payload_length));
  if (CRYPTO_memcmp(expected.data(), buffer.data() + payload_length, kMacLength) != 0) {
    return std::nullopt;
  }

  const std::uint8_t* p = buffer.data();
  const std::uint8_t* const end = buffer.data() + payload_length;
  if (*p++ != kVersion) return std::nullopt;
  TicketClaims claims;
  for (int i = 0; i < 8; ++i) claims.incarnation = (claims.incarnation << 8) | *p++;
  if (!GetVarint(p, end, claims.number) || !GetVarint(p, end, claims.frontier_at_join) ||
      p != end) {
    return std::nullopt;
  }
  return claims;
}

}  // namespace vwr::token
