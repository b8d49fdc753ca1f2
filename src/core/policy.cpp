#include "core/policy.hpp"

namespace vwr::core {

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kFifo:
      return "fifo";
    case Mode::kPassthrough:
      return "passthrough";
    case Mode::kReject:
      return "reject";
    case Mode::kPause:
      return "pause";
  }
  return "fifo";
}

std::optional<Mode> ParseMode(std::string_view name) {
  if (name == "fifo") return Mode::kFifo;
  if (name == "passthrough") return Mode::kPassthrough;
  if (name == "reject") return Mode::kReject;
  if (name == "pause") return Mode::kPause;
  return std::nullopt;
}

std::vector<PolicyProblem> ValidatePolicy(const Policy& p) {
  using std::chrono::milliseconds;
  std::vector<PolicyProblem> out;
  auto bad = [&](std::string_view key, std::string msg) {
    out.push_back(PolicyProblem{std::string(key), std::move(msg)});
  };
  if (p.max_active < 1 || p.max_active > kMaxMaxActive)
    bad("max_active", "must be between 1 and 1000000000");
  if (!(p.admit_rate > 0.0) || p.admit_rate > kMaxAdmitRate)
    bad("admit_rate", "must be greater than 0 and at most 1000000");
  if (p.burst < 1 || p.burst > kMaxMaxActive) bad("burst", "must be between 1 and 1000000000");
  if (p.session_timeout < milliseconds(1'000) || p.session_timeout > milliseconds(7 * 86'400'000))
    bad("session_timeout", "must be between 1s and 7d");
  if (p.session_max != milliseconds(0) &&
      (p.session_max < milliseconds(1'000) || p.session_max > milliseconds(7 * 86'400'000)))
    bad("session_max", "must be 0 (no cap) or between 1s and 7d");
  if (p.claim_grace < milliseconds(1'000) || p.claim_grace > milliseconds(3'600'000))
    bad("claim_grace", "must be between 1s and 1h");
  if (p.queue_limit < 0) bad("queue_limit", "must be 0 (unlimited) or positive");
  if (p.poll_min < milliseconds(100) || p.poll_min > milliseconds(600'000))
    bad("poll.min", "must be between 100ms and 10m");
  if (p.poll_max < p.poll_min || p.poll_max > milliseconds(600'000))
    bad("poll.max", "must be at least poll.min and at most 10m");
  if (p.abandon_after_polls > kMaxAbandonAfterPolls)
    bad("abandon_after_polls", "must be between 0 (never) and 1000");
  return out;
}

}  // namespace vwr::core
