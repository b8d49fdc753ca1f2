#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "loadgen/spec.hpp"

namespace vwr::loadgen {

// The number a native ticket carries ahead of its MAC (token::TicketCodec's wire format:
// base64url of 0x01 | incarnation (8 bytes) | varint number | ...): the place in the room's one
// line, the same on every node. nullopt for anything else (a server whose tickets are opaque):
// then the order of the calls stands in for it (FairnessTracker, below).
std::optional<std::uint64_t> TicketNumber(std::string_view ticket);

// Watches that the line is served in order, across every simulated person and worker thread.
//
// Each person has an order key: who joined earlier has the lower key. When a person is seen
// admitted, their key is recorded; a later poll of someone with a lower key that still answers
// "waiting" is a FIFO violation: someone who joined after them got in first.
//
//   poll sent at time s by person A (key a), with M = AdmittedMax() read when it was sent
//   answer "waiting" and a < M  →  B (key M > a) was seen admitted before s: a violation,
//                                  unless s is within `slack` of the first such admission
//
// "Seen admitted before the poll was sent" makes the check free of races between the threads
// and of answers crossing on the wire: it only compares what had certainly happened. The slack
// (default 0) excuses a node that answers from a frontier one tick old while another node has
// already admitted someone behind (docs/capacity.md).
//
// Keys: the ticket number where the ticket shows it; otherwise the order of calls, where A is
// earlier than B only when A's first call was answered before B's first call was sent (people
// arriving at the same moment are not compared). Thread-safe; AdmittedMax is one atomic load,
// the lock is taken only when someone is admitted or a violation is suspected.
class FairnessTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // A person with order key `key` was seen admitted at `seen`.
  void RecordAdmitted(std::uint64_t key, Clock::time_point seen);
  std::uint64_t AdmittedMax() const { return max_.load(std::memory_order_acquire); }
  // Whether a "waiting" answer to a poll of a person with key `key`, sent at `sent` when
  // AdmittedMax() was `max_at_send`, is a FIFO violation.
  bool IsViolation(std::uint64_t key, std::uint64_t max_at_send, Clock::time_point sent,
                   Duration slack) const;

 private:
  struct Step {
    std::uint64_t key;
    Clock::time_point seen;
  };
  mutable std::mutex mutex_;
  std::vector<Step> steps_;  // keys strictly increasing: when the maximum first passed each
  std::atomic<std::uint64_t> max_{0};
};

// The order of first calls (joins, first inputQueue.do), for people without a ticket number.
class CallOrder {
 public:
  // Read when the first call is sent.
  std::uint64_t AtSend() const { return answered_.load(std::memory_order_acquire); }
  // Taken when its answer arrives: A (answered a) is earlier than B (sent b) iff a <= b.
  std::uint64_t OnAnswer() { return answered_.fetch_add(1, std::memory_order_acq_rel) + 1; }

 private:
  std::atomic<std::uint64_t> answered_{0};
};

}  // namespace vwr::loadgen
