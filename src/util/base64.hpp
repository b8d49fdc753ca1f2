#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vwr::util {

// base64url (RFC 4648 section 5) without padding, as used in JWTs and our tickets.
//
// Decoding is strict so that every byte string has exactly one accepted text form: padding ('='),
// characters outside [A-Za-z0-9_-], lengths of the form 4k+1 and non-zero unused trailing bits
// are all rejected. Table-driven, no allocation beyond the returned string.

// Length of the encoding of `byte_count` bytes.
constexpr std::size_t Base64UrlEncodedLength(std::size_t byte_count) {
  return byte_count / 3 * 4 + (byte_count % 3 == 0 ? 0 : byte_count % 3 + 1);
}

// Number of bytes that a text of `text_length` characters decodes to; nullopt when no valid text
// has that length (4k+1).
constexpr std::optional<std::size_t> Base64UrlDecodedLength(std::size_t text_length) {
  if (text_length % 4 == 1) return std::nullopt;
  return text_length / 4 * 3 + (text_length % 4 == 0 ? 0 : text_length % 4 - 1);
}

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
std::string Base64UrlEncode(std::string_view bytes);

// Appends the encoding of `bytes` to `out`.
void Base64UrlEncodeAppend(std::span<const std::uint8_t> bytes, std::string& out);
void Base64UrlEncodeAppend(std::string_view bytes, std::string& out);

// The decoded bytes, or nullopt when `text` is not canonical unpadded base64url.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Allocation-free decoding into `out`. Returns the number of bytes written, or nullopt when `text`
// is invalid or `out` is shorter than Base64UrlDecodedLength(text.size()). On failure the content
// of `out` is unspecified.
std::optional<std::size_t> Base64UrlDecodeInto(std::string_view text, std::span<std::uint8_t> out);

}  // namespace vwr::util
