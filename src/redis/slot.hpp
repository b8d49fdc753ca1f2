#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vwr::redis {

inline constexpr int kClusterSlots = 16384;

// The Redis Cluster hash slot of `key`: CRC16 (XMODEM) of its hash tag (the text between the
// first '{' and the next '}', when not empty) or else of the whole key, modulo 16384. Keys that
// share a tag, like "{room:a}:tickets" and "{room:a}:frontier", share a slot.
std::uint16_t HashSlot(std::string_view key);

// The slot all of `keys` hash to; nullopt when they span several slots (no cluster node could
// run a command on all of them) or when there are none.
std::optional<std::uint16_t> CommonSlot(std::span<const std::string> keys);

}  // namespace vwr::redis
