#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vwr::util {

// Fills `out` with cryptographically secure random bytes (getrandom(2)). Aborts the process when
// the kernel cannot supply them: no key, ticket or token may ever be made from weak randomness.
void SecureRandom(std::span<std::uint8_t> out);

// A secure random 64-bit value.
std::uint64_t SecureRandom64();

// Fast, non-cryptographic per-thread generator (xoshiro-style) for jitter and sampling.
// Returns a double in [0, 1).
double FastUniform();

// Lower-case hex of `bytes`.
std::string HexEncode(std::span<const std::uint8_t> bytes);

}  // namespace vwr::util

namespace vwr::util {
// Compares two secrets in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
}  // namespace vwr::util
