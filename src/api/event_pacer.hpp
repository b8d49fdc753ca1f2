#pragma once

#include <cstdint>
#include <optional>

#include "util/clock.hpp"

namespace vwr::api {

// When a waiting ticket's event stream (GET /api/v1/rooms/{room}/events) says something. The
// stream reads the ticket's standing every period (a few times a second, so that an admission
// goes out at once); this decides which of those readings become events:
//
//   the first reading                         -> sent at once
//   a reading that differs from the last sent -> sent, but no sooner than min_gap after it
//                                                (the latest reading then, not a backlog)
//   nothing written for keep_alive            -> a comment, so that the client and any
//                                                proxy between see the stream alive
//
// Only what a visitor is told matters for "differs": the position, the estimate and its range.
// The queue behind them changes with every join and is not worth an event.
//
// Pure logic on the times it is given; one per stream, used by one thread at a time.
class EventPacer {
 public:
  // What a waiting ticket is told: its place and its estimated wait (none: paused or closed).
  struct Standing {
    std::uint64_t position = 0;
    std::optional<std::int64_t> eta_seconds{};
    std::optional<std::int64_t> eta_low_seconds{};
    std::optional<std::int64_t> eta_high_seconds{};
    bool operator==(const Standing&) const = default;
  };

  EventPacer(util::Duration min_gap, util::Duration keep_alive, util::TimePoint opened)
      : min_gap_(min_gap), keep_alive_(keep_alive), last_write_(opened) {}

  // Whether `standing`, read at `now`, should go out as an event now.
  bool ShouldSend(const Standing& standing, util::TimePoint now) const {
    if (!sent_) return true;
    return !(standing == *sent_) && now - last_event_ >= min_gap_;
  }
  // An event with `standing` was written at `now`.
  void Sent(const Standing& standing, util::TimePoint now) {
    sent_ = standing;
    last_event_ = now;
    last_write_ = now;
  }
  // Something else than a standing was told since (the room closed): the next standing goes
  // out at once, even if it equals the last one sent.
  void Forget() { sent_.reset(); }
  // Whether a keep-alive comment is due at `now` (nothing written for keep_alive).
  bool KeepAliveDue(util::TimePoint now) const { return now - last_write_ >= keep_alive_; }
  // Something else (a comment, another event) was written at `now`.
  void Wrote(util::TimePoint now) { last_write_ = now; }

 private:
  util::Duration min_gap_;
  util::Duration keep_alive_;
  util::TimePoint last_write_;
  util::TimePoint last_event_{};
  std::optional<Standing> sent_;
};

}  // namespace vwr::api
