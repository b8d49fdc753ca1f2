#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/console_sessions.hpp"
#include "admin/roles.hpp"
#include "admin/signin_throttle.hpp"
#include "http/http.hpp"
#include "util/clock.hpp"

namespace vwr::admin {

// Where an operator comes from, and so who may remove it: the admin token and the configuration's
// operators change with the file or the environment; the API's with the API.
enum class OperatorOrigin : std::uint8_t { kAdminToken, kConfig, kApi };
std::string_view OperatorOriginName(OperatorOrigin origin);

// A named person with a role. Only the hash of the token is kept (TokenHash): a token created
// through the API is shown once and cannot be read back from memory, the database or Redis.
struct OperatorInfo {
  std::string name;
  Role role = Role::kViewer;
  std::string token_hash;  // TokenHash(token)
  OperatorOrigin origin = OperatorOrigin::kApi;
  std::int64_t created_unix = 0;  // 0: unknown (the file's and the admin token's)

  bool operator==(const OperatorInfo&) const = default;
};

// Why a request does not come from a page of this server, going by what browsers send and pages
// cannot forge: Sec-Fetch-Site other than same-origin, or an Origin other than this Host (any
// scheme). Empty when it does, or when neither header came (a client that is not a browser).
std::string CrossOriginProblem(const http::Request& request);

// The operator the admin token stands for.
inline constexpr std::string_view kAdminOperatorName = "admin";

// What the console's session settings are (config `console:`).
struct ConsoleSettings {
  std::chrono::seconds session_timeout{8 * 3600};  // a session's whole life (cookie Max-Age)
  bool cookie_secure = false;                      // "Secure" and the __Host- name
  SigninThrottleSettings signin;
  std::size_t max_sessions = ConsoleSessions::kDefaultMaxSessions;
};

// Who is asking, once authenticated.
struct Caller {
  std::string name;
  Role role = Role::kViewer;
  bool by_session = false;  // a console cookie (changes need the CSRF check), else a bearer token
  std::string session_hash{};  // by_session: which session (sign-out ends it)
};

// How a request's credentials turned out.
struct Authentication {
  enum class Outcome {
    kOk,
    kMissing,      // no bearer token and no console cookie
    kBadToken,     // a bearer token that names no operator
    kBadSession,   // a console cookie that names no live session (expired, signed out, forged)
    kCsrfRefused,  // a live session, but a change without the CSRF proof or from another origin
  };
  Outcome outcome = Outcome::kMissing;
  Caller caller;    // kOk
  std::string why;  // kCsrfRefused: which check failed (for the answer and the log)
};

// What a sign-in did.
struct SignInResult {
  enum class Outcome { kOk, kWrongToken, kThrottled };
  Outcome outcome = Outcome::kWrongToken;
  Caller caller;           // kOk
  std::string cookie;      // kOk: the Set-Cookie value
  std::string csrf_token;  // kOk
  std::int64_t expires_unix = 0;
  std::chrono::seconds retry_after{0};  // kThrottled
};

// Everyone who may use the admin API and the console, and their console sessions: the one place
// that turns a request's credentials into a Caller (Authenticate), used by every admin route.
//
//   Authorization: Bearer <token>  -> the operator whose token hashes to TokenHash(token); the
//                                     admin token is operator "admin" with role admin
//   Cookie: vwr_console=<id>       -> the session's operator, if the session is live and the
//                                     operator still exists with the token it signed in with;
//                                     a change (any method but GET/HEAD) also needs
//                                     X-CSRF-Token (the session's) and, when the browser sends
//                                     them, Origin naming this host and Sec-Fetch-Site
//                                     same-origin
//
// A bearer token wins over a cookie (and a wrong one is refused, never helped by a cookie).
// Sign-in exchanges a token for a session; failed sign-ins are limited per client address.
//
// Thread-safe: every method may be called from any thread (one mutex for the operators, the
// sessions and the throttle each; nothing blocks while holding one).
class Operators {
 public:
  Operators(const util::Clock& clock, ConsoleSettings settings = {});

  // The admin token's and the configuration's operators (at start; names unique, checked by
  // the configuration), and the ones kept by the API (from the database or Redis, again
  // whenever they are read). A stored operator with the name of a fixed one is ignored.
  void SetFixed(std::vector<OperatorInfo> fixed);
  void SetStored(std::vector<OperatorInfo> stored);
  // One API-made operator more, or one less (this node's change, before the store is read
  // again).
  void AddStored(OperatorInfo info);
  void RemoveStored(std::string_view name);

  std::vector<OperatorInfo> List() const;
  std::optional<OperatorInfo> Find(std::string_view name) const;

  Authentication Authenticate(const http::Request& request, const http::ConnectionInfo& connection);
  // Exchanges `token` for a console session (the caller's address is what the throttle counts).
  SignInResult SignIn(std::string_view token, const http::ConnectionInfo& connection);
  // Ends the session; the Set-Cookie value that clears the cookie.
  std::string SignOut(const Caller& caller);
  // The CSRF token of the session a caller came with (empty for a bearer token).
  std::string CsrfTokenOf(const Caller& caller);
  std::int64_t SessionExpiresUnix(const Caller& caller);

  // The console cookie's name: "__Host-vwr_console" when Secure, else "vwr_console".
  std::string_view cookie_name() const;
  const ConsoleSettings& settings() const { return settings_; }

 private:
  std::optional<OperatorInfo> ByTokenHash(std::string_view token_hash) const;
  // Whether an operator of the config file has this name (it shadows a stored one). Needs mu_.
  bool IsFixed(std::string_view name) const;
  std::string CookieValue(std::string_view session_id, std::chrono::seconds max_age) const;

  const util::Clock& clock_;
  const ConsoleSettings settings_;
  mutable std::mutex mu_;
  std::vector<OperatorInfo> fixed_;                          // guarded by mu_
  std::map<std::string, OperatorInfo, std::less<>> stored_;  // by name; guarded by mu_
  ConsoleSessions sessions_;
  SigninThrottle throttle_;
};

}  // namespace vwr::admin
