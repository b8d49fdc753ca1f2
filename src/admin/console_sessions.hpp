#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/clock.hpp"

namespace vwr::admin {

// The console's signed-in sessions, in this node's memory.
//
// A session is named by a random 256-bit id that only the browser holds (in an HttpOnly cookie);
// the table is keyed by the id's SHA-256, so that not even a memory dump of the node yields a
// cookie that works. Each session has a CSRF token of its own, which the page sends in a header
// with every change, and a fixed end (`timeout` after sign-in: the cookie's Max-Age). A new
// sign-in always makes a new id (no session fixation: an id planted in a browser before sign-in
// is never adopted). Signing out ends the session here, so a copy of the cookie is worthless
// afterwards. A restart ends every session (operators sign in again).
//
// At most `max_sessions` are kept: when full, expired ones go first, then the oldest.
//
// Thread-safe (one mutex; nothing blocks under it).
class ConsoleSessions {
 public:
  static constexpr std::size_t kDefaultMaxSessions = 10'000;
  // A session id's text: base64url of 32 bytes.
  static constexpr std::size_t kIdLength = 43;

  struct Session {
    std::string operator_name;
    std::string token_hash;  // of the token it signed in with: a new or removed token ends it
    std::string csrf_token;
    util::TimePoint ends;
    std::int64_t ends_unix = 0;
  };
  struct Created {
    std::string id;    // for the cookie; not kept
    std::string hash;  // the table's key
    Session session;
  };

  ConsoleSessions(const util::Clock& clock, std::chrono::seconds timeout,
                  std::size_t max_sessions = kDefaultMaxSessions);

  Created Create(std::string operator_name, std::string token_hash);
  // The live session a cookie value names, with its key; nullopt for an unknown, ended or
  // malformed id (any length or alphabet other than a real id's is refused before hashing).
  std::optional<std::pair<std::string, Session>> Find(std::string_view id);
  std::optional<Session> FindByHash(std::string_view hash);
  void End(std::string_view hash);
  std::size_t size();

  std::chrono::seconds timeout() const { return timeout_; }

 private:
  void Evict(util::TimePoint now);  // mu_ held

  const util::Clock& clock_;
  const std::chrono::seconds timeout_;
  const std::size_t max_sessions_;
  std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;  // by TokenHash(id); guarded by mu_
};

}  // namespace vwr::admin
