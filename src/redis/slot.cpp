#include "redis/slot.hpp"

#include <array>

namespace vwr::redis {
namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis Cluster specifies it.
constexpr std::array<std::uint16_t, 256> MakeTable() {
  std::array<std::uint16_t, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    auto crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}
constexpr std::array<std::uint16_t, 256> kTable = MakeTable();

std::uint16_t Crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (char c : data) {
    crc = static_cast<std::uint16_t>((crc << 8) ^
                                     kTable[((crc >> 8) ^ static_cast<std::uint8_t>(c)) & 0xff]);
  }
  return crc;
}

}  // namespace

std::uint16_t HashSlot(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(Crc16(key) % kClusterSlots);
}

std::optional<std::uint16_t> CommonSlot(std::span<const std::string> keys) {
  if (keys.empty()) return std::nullopt;
  const std::uint16_t slot = HashSlot(keys.front());
  for (const std::string& key : keys.subspan(1)) {
    if (HashSlot(key) != slot) return std::nullopt;
  }
  return slot;
}

}  // namespace vwr::redis
