#include "core/attendance.hpp"

#include <algorithm>
#include <chrono>

#include "core/pacing.hpp"

namespace vwr::core {

Attendance::Attendance(util::TimePoint epoch)
    : epoch_(epoch), ring_(new std::atomic<Chunk*>[kRing]()) {}

Attendance::~Attendance() = default;

std::uint32_t Attendance::Coarse(util::TimePoint now) const {
  const std::int64_t ms = std::max<std::int64_t>(0, util::ToMillis(now - epoch_));
  return static_cast<std::uint32_t>(std::min<std::int64_t>(ms / kUnitMs, kPassed - 1));
}

std::uint32_t Attendance::DeadlineAfter(util::TimePoint now, std::int64_t after_ms) const {
  const std::int64_t ms =
      std::max<std::int64_t>(0, util::ToMillis(now - epoch_)) + std::max<std::int64_t>(0, after_ms);
  return static_cast<std::uint32_t>(
      std::min<std::int64_t>((ms + kUnitMs - 1) / kUnitMs, kPassed - 1));
}

std::int64_t SilenceAllowedMs(std::optional<std::int64_t> eta_seconds, const Policy& policy) {
  if (policy.abandon_after_polls == 0) return 0;
  // The client was told at most this long; a poll a little late by the network still counts.
  const std::int64_t told_ms = PollAfterMs(eta_seconds, policy, /*uniform=*/1.0);
  return static_cast<std::int64_t>(policy.abandon_after_polls) * told_ms + Attendance::kUnitMs;
}

std::uint32_t Attendance::PollDeadline(util::TimePoint now, std::optional<std::int64_t> eta_seconds,
                                       const Policy& policy) const {
  // The client was told at most this long; a poll a little late by the network still counts.
  const std::int64_t told_ms = PollAfterMs(eta_seconds, policy, /*uniform=*/1.0);
  return DeadlineAfter(now, static_cast<std::int64_t>(after_polls()) * told_ms + kUnitMs);
}

std::atomic<std::uint32_t>* Attendance::Find(std::uint64_t ticket) const {
  Chunk* chunk = ring_[SlotOf(ticket)].load(std::memory_order_acquire);
  if (chunk == nullptr || chunk->id.load(std::memory_order_acquire) != IdOf(ticket)) return nullptr;
  return &chunk->marks[ticket % kChunk];
}

void Attendance::CountReturn() {
  std::uint64_t n = abandoned_.load(std::memory_order_relaxed);
  while (n > 0 && !abandoned_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
  }
}

Attendance::Renewal Attendance::Renew(std::uint64_t ticket, std::uint32_t deadline) {
  std::atomic<std::uint32_t>* mark = Find(ticket);
  if (mark == nullptr) return Renewal::kUnknown;
  std::uint32_t seen = mark->load(std::memory_order_acquire);
  while (true) {
    if (seen == kPassed) return Renewal::kPassed;
    if (mark->compare_exchange_weak(seen, deadline, std::memory_order_acq_rel)) break;
  }
  if (seen != kAbandoned) return Renewal::kPresent;
  CountReturn();
  return Renewal::kReturned;
}

Attendance::Renewal Attendance::NotePoll(std::uint64_t ticket, util::TimePoint now,
                                         std::optional<std::int64_t> eta_seconds,
                                         const Policy& policy) {
  return Renew(ticket, PollDeadline(now, eta_seconds, policy));
}

bool Attendance::Abandoned(std::uint64_t ticket) const {
  const std::atomic<std::uint32_t>* mark = Find(ticket);
  return mark != nullptr && mark->load(std::memory_order_acquire) == kAbandoned;
}

Attendance::Chunk* Attendance::Ensure(std::uint64_t ticket, std::uint32_t deadline) {
  std::atomic<Chunk*>& slot = ring_[SlotOf(ticket)];
  Chunk* chunk = slot.load(std::memory_order_relaxed);
  if (chunk != nullptr) {
    return chunk->id.load(std::memory_order_relaxed) == IdOf(ticket) ? chunk : nullptr;
  }
  if (free_.empty()) {
    all_.push_back(std::make_unique<Chunk>());
    chunk = all_.back().get();
  } else {
    chunk = free_.back();
    free_.pop_back();
  }
  // A poll still holding this chunk from its last use reads id 0 (not its tickets) from here
  // on; one that read the old id just before may still write one deadline into it, which the
  // loop below or a later poll overwrites: no abandoned mark is ever lost or made that way.
  chunk->id.store(0, std::memory_order_release);
  for (std::atomic<std::uint32_t>& mark : chunk->marks)
    mark.store(deadline, std::memory_order_relaxed);
  chunk->id.store(IdOf(ticket), std::memory_order_release);
  slot.store(chunk, std::memory_order_release);
  return chunk;
}

void Attendance::Release(std::uint64_t frontier) {
  const std::uint64_t below = FirstOf(frontier + 1);  // chunks wholly at or below the frontier
  if (below <= released_below_) return;
  auto release_slot = [&](std::size_t s, std::uint64_t id_below) {
    Chunk* chunk = ring_[s].load(std::memory_order_relaxed);
    if (chunk == nullptr || chunk->id.load(std::memory_order_relaxed) >= id_below) return;
    ring_[s].store(nullptr, std::memory_order_release);
    free_.push_back(chunk);
  };
  const std::uint64_t id_below = IdOf(below);
  if ((below - released_below_) / kChunk >= kRing) {
    for (std::size_t s = 0; s < kRing; ++s) release_slot(s, id_below);
  } else {
    for (std::uint64_t first = released_below_; first < below; first += kChunk) {
      release_slot(SlotOf(first), id_below);
    }
  }
  released_below_ = below;
}

void Attendance::Expect(std::uint64_t ticket, std::uint32_t deadline) {
  Chunk* chunk = Ensure(ticket, deadline);
  if (chunk != nullptr) chunk->marks[ticket % kChunk].store(deadline, std::memory_order_release);
}

bool Attendance::Pass(std::uint64_t ticket) {
  std::atomic<std::uint32_t>* mark = Find(ticket);
  if (mark == nullptr) return false;
  const std::uint32_t seen = mark->exchange(kPassed, std::memory_order_acq_rel);
  if (seen != kAbandoned) return false;
  CountReturn();
  return true;
}

void Attendance::Forget(std::uint64_t ticket) { (void)Pass(ticket); }

std::uint64_t Attendance::Sweep(std::uint64_t frontier, std::uint64_t last_issued,
                                std::uint32_t now, std::uint32_t grace, std::size_t budget) {
  Release(frontier);
  if (sweep_next_ <= frontier || sweep_next_ > last_issued) sweep_next_ = frontier + 1;
  std::uint64_t marked = 0;
  const bool abandoning = after_polls() > 0;
  while (budget > 0 && sweep_next_ <= last_issued) {
    const std::uint64_t chunk_end = std::min(last_issued, FirstOf(sweep_next_) + kChunk - 1);
    const std::uint64_t end = std::min<std::uint64_t>(chunk_end, sweep_next_ + budget - 1);
    Chunk* chunk = Ensure(sweep_next_, grace);
    if (chunk != nullptr && abandoning) {
      for (std::uint64_t t = sweep_next_; t <= end; ++t) {
        std::atomic<std::uint32_t>& mark = chunk->marks[t % kChunk];
        std::uint32_t seen = mark.load(std::memory_order_acquire);
        // A poll that lands between the load and the exchange wins: the mark stays present.
        if (seen < now &&
            mark.compare_exchange_strong(seen, kAbandoned, std::memory_order_acq_rel)) {
          abandoned_.fetch_add(1, std::memory_order_acq_rel);
          ++marked;
        }
      }
    }
    budget -= static_cast<std::size_t>(end - sweep_next_ + 1);
    sweep_next_ = end + 1;
  }
  if (sweep_next_ > last_issued) sweep_next_ = frontier + 1;  // from the front again next time
  return marked;
}

void Attendance::Pardon(std::uint64_t frontier, std::uint64_t last_issued, std::uint32_t deadline) {
  for (std::uint64_t t = frontier + 1; t <= last_issued; ++t) {
    std::atomic<std::uint32_t>* mark = Find(t);
    if (mark == nullptr) {
      t = FirstOf(t) + kChunk - 1;  // nothing watched in this chunk
      continue;
    }
    std::uint32_t seen = mark->load(std::memory_order_acquire);
    while (seen != kPassed &&
           !mark->compare_exchange_weak(seen, deadline, std::memory_order_acq_rel)) {
    }
    if (seen == kAbandoned) CountReturn();
  }
}

void Attendance::Clear() {
  for (std::size_t s = 0; s < kRing; ++s) {
    if (Chunk* chunk = ring_[s].exchange(nullptr, std::memory_order_acq_rel))
      free_.push_back(chunk);
  }
  abandoned_.store(0, std::memory_order_release);
  sweep_next_ = 0;
  released_below_ = 0;
}

}  // namespace vwr::core
