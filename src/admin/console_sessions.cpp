#include "admin/console_sessions.hpp"

#include <algorithm>
#include <array>

#include "admin/roles.hpp"
#include "util/base64.hpp"
#include "util/random.hpp"

namespace vwr::admin {
namespace {

std::string RandomId() {
  std::array<std::uint8_t, 32> bytes{};
  util::SecureRandom(bytes);
  return util::Base64UrlEncode(bytes);
}

bool LooksLikeId(std::string_view id) {
  if (id.size() != ConsoleSessions::kIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace

ConsoleSessions::ConsoleSessions(const util::Clock& clock, std::chrono::seconds timeout,
                                 std::size_t max_sessions)
    : clock_(clock), timeout_(timeout), max_sessions_(std::max<std::size_t>(max_sessions, 1)) {}

ConsoleSessions::Created ConsoleSessions::Create(std::string operator_name,
                                                 std::string token_hash) {
  const util::TimePoint now = clock_.Now();
  Created created;
  created.id = RandomId();
  created.hash = TokenHash(created.id);
  created.session = Session{.operator_name = std::move(operator_name),
                            .token_hash = std::move(token_hash),
                            .csrf_token = RandomId(),
                            .ends = now + timeout_,
                            .ends_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                             (clock_.WallNow() + timeout_).time_since_epoch())
                                             .count()};
  std::lock_guard lock(mu_);
  if (sessions_.size() >= max_sessions_) Evict(now);
  sessions_[created.hash] = created.session;
  return created;
}

void ConsoleSessions::Evict(util::TimePoint now) {
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.ends <= now; });
  while (sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.ends < b.second.ends; });
    sessions_.erase(oldest);
  }
}

std::optional<std::pair<std::string, ConsoleSessions::Session>> ConsoleSessions::Find(
    std::string_view id) {
  if (!LooksLikeId(id)) return std::nullopt;
  std::string hash = TokenHash(id);
  std::optional<Session> session = FindByHash(hash);
  if (!session) return std::nullopt;
  return std::pair(std::move(hash), std::move(*session));
}

std::optional<ConsoleSessions::Session> ConsoleSessions::FindByHash(std::string_view hash) {
  const util::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  const auto it = sessions_.find(std::string(hash));
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.ends <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void ConsoleSessions::End(std::string_view hash) {
  std::lock_guard lock(mu_);
  sessions_.erase(std::string(hash));
}

std::size_t ConsoleSessions::size() {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace vwr::admin
