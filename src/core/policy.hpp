#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::core {

// What a room does with a join.
enum class Mode : std::uint8_t {
  kFifo,         // queue in arrival order, admit at the policy's rate and concurrency
  kPassthrough,  // admit everyone at once; only count
  kReject,       // closed: joins and waiting tickets answer "rejected"
  kPause,        // queue, but admit nobody
};

std::string_view ModeName(Mode mode);
std::optional<Mode> ParseMode(std::string_view name);

// A room's limits. Plain value; validated by config/ before it reaches a Room.
struct Policy {
  std::int64_t max_active = 100;  // concurrent admitted sessions (TRACER limitCnt)
  double admit_rate = 10.0;       // new admissions per second
  std::int64_t burst = 10;        // admissions that may accumulate while nobody can use them
  std::chrono::milliseconds session_timeout{600'000};  // idle time that ends a session
  // Time inside from admission after which a session ends however active it is; 0: no cap.
  std::chrono::milliseconds session_max{0};
  std::chrono::milliseconds claim_grace{20'000};  // time a called ticket has to be claimed
  Mode mode = Mode::kFifo;
  std::int64_t queue_limit = 0;  // 0 = unlimited; otherwise joins beyond it answer "full"
  std::chrono::milliseconds poll_min{1'000};
  std::chrono::milliseconds poll_max{30'000};
  // A waiting ticket silent for this many of the pollAfterMs it was told is abandoned: out of
  // the line's size, passed by the frontier without a slot unless it polls again first (see
  // core::Room). 0: never. Off here; the configuration file's default is 5.
  std::uint32_t abandon_after_polls = 0;

  bool operator==(const Policy&) const = default;
};

inline constexpr std::int64_t kMaxMaxActive = 1'000'000'000;
inline constexpr double kMaxAdmitRate = 1'000'000.0;
// Past a thousand missed polls nobody is coming back anyway.
inline constexpr std::uint32_t kMaxAbandonAfterPolls = 1000;

// One reason a policy is impossible, naming the config key (as written in YAML).
struct PolicyProblem {
  std::string key;
  std::string message;
};

// Checks every field; empty when the policy can be used. Shared by config loading and the
// admin API so that both accept exactly the same values.
std::vector<PolicyProblem> ValidatePolicy(const Policy& policy);

}  // namespace vwr::core
