#include "loadgen/fairness.hpp"

#include <algorithm>
#include <array>

#include "util/base64.hpp"
#include "util/varint.hpp"

namespace vwr::loadgen {

std::optional<std::uint64_t> TicketNumber(std::string_view ticket) {
  // Only the head is needed: version, incarnation and the number's varint (at most 10 bytes).
  constexpr std::size_t kHeadBytes = 1 + 8 + 10;
  const std::size_t head_chars = std::min<std::size_t>(ticket.size(), (kHeadBytes * 4 + 2) / 3);
  // Whole base64 quanta only, so that the decoder's padding rules do not apply to a cut text.
  const std::string_view head = ticket.substr(0, head_chars - head_chars % 4);
  std::array<std::uint8_t, kHeadBytes + 3> bytes{};
  const auto n = util::Base64UrlDecodeInto(head, bytes);
  if (!n || *n < 10 || bytes[0] != 0x01) return std::nullopt;
  const std::uint8_t* p = bytes.data() + 9;
  std::uint64_t number = 0;
  if (!util::GetVarint(p, bytes.data() + *n, number) || number == 0) return std::nullopt;
  return number;
}

void FairnessTracker::RecordAdmitted(std::uint64_t key, Clock::time_point seen) {
  if (key <= max_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  if (!steps_.empty() && key <= steps_.back().key) return;
  steps_.push_back({key, seen});
  max_.store(key, std::memory_order_release);
}

bool FairnessTracker::IsViolation(std::uint64_t key, std::uint64_t max_at_send,
                                  Clock::time_point sent, Duration slack) const {
  if (key >= max_at_send) return false;
  if (slack.count() <= 0) return true;
  std::lock_guard lock(mutex_);
  // The first moment someone behind `key` was seen admitted.
  const auto it = std::upper_bound(steps_.begin(), steps_.end(), key,
                                   [](std::uint64_t k, const Step& s) { return k < s.key; });
  if (it == steps_.end()) return false;
  return sent >= it->seen + slack;
}

}  // namespace vwr::loadgen
