#include "admin/operators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "http/cookies.hpp"
#include "http/request_parts.hpp"
#include "util/random.hpp"

namespace vwr::admin {
namespace {

constexpr std::string_view kCookieName = "vwr_console";
constexpr std::string_view kSecureCookieName = "__Host-vwr_console";
// Longer than any token the API makes or the configuration accepts would need to be: a longer
// bearer token is refused before it is hashed.
constexpr std::size_t kMaxTokenLength = 512;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Why a change that came with a console cookie is not the console's own, or empty when it is.
// The CSRF token proves that the page read it from this server (a page of another origin
// cannot); Origin and Sec-Fetch-Site (CrossOriginProblem) refuse what another origin sends even
// before that. Clients that send neither (curl) need the token alone.
std::string CsrfProblem(const http::Request& request, std::string_view csrf_token) {
  if (std::string problem = CrossOriginProblem(request); !problem.empty()) return problem;
  const std::string_view sent = request["X-CSRF-Token"];
  if (sent.empty()) return "the X-CSRF-Token header is missing";
  if (!util::ConstantTimeEquals(sent, csrf_token)) return "the X-CSRF-Token is not the session's";
  return {};
}

bool IsRead(http::verb method) {
  return method == http::verb::get || method == http::verb::head || method == http::verb::options;
}

}  // namespace

std::string CrossOriginProblem(const http::Request& request) {
  const std::string_view site = request["Sec-Fetch-Site"];
  if (!site.empty() && site != "same-origin") {
    return fmt::format("Sec-Fetch-Site is {}, not same-origin",
                       site.size() <= 16 ? site : std::string_view("(too long)"));
  }
  const std::string_view origin = request[http::field::origin];
  if (origin.empty()) return {};
  std::string_view rest;
  if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  }
  const std::string_view host = request[http::field::host];
  if (rest.empty() || host.empty() || !EqualsIgnoreCase(rest, host)) {
    return "the Origin is not this server";
  }
  return {};
}

std::string_view OperatorOriginName(OperatorOrigin origin) {
  switch (origin) {
    case OperatorOrigin::kAdminToken:
      return "admin_token";
    case OperatorOrigin::kConfig:
      return "config";
    case OperatorOrigin::kApi:
      return "api";
  }
  return "api";
}

Operators::Operators(const util::Clock& clock, ConsoleSettings settings)
    : clock_(clock),
      settings_(settings),
      sessions_(clock, settings.session_timeout, settings.max_sessions),
      throttle_(clock, settings.signin) {}

void Operators::SetFixed(std::vector<OperatorInfo> fixed) {
  std::lock_guard lock(mu_);
  fixed_ = std::move(fixed);
}

void Operators::SetStored(std::vector<OperatorInfo> stored) {
  std::map<std::string, OperatorInfo, std::less<>> by_name;
  for (OperatorInfo& info : stored) {
    info.origin = OperatorOrigin::kApi;
    std::string name = info.name;
    by_name.emplace(std::move(name), std::move(info));
  }
  std::lock_guard lock(mu_);
  stored_ = std::move(by_name);
}

void Operators::AddStored(OperatorInfo info) {
  info.origin = OperatorOrigin::kApi;
  std::lock_guard lock(mu_);
  std::string name = info.name;
  stored_[std::move(name)] = std::move(info);
}

void Operators::RemoveStored(std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto it = stored_.find(name); it != stored_.end()) stored_.erase(it);
}

bool Operators::IsFixed(std::string_view name) const {
  return std::any_of(fixed_.begin(), fixed_.end(),
                     [name](const OperatorInfo& f) { return f.name == name; });
}

std::vector<OperatorInfo> Operators::List() const {
  std::lock_guard lock(mu_);
  std::vector<OperatorInfo> all = fixed_;
  for (const auto& [name, info] : stored_) {
    if (!IsFixed(name)) all.push_back(info);
  }
  return all;
}

std::optional<OperatorInfo> Operators::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const OperatorInfo& info : fixed_) {
    if (info.name == name) return info;
  }
  if (auto it = stored_.find(name); it != stored_.end()) return it->second;
  return std::nullopt;
}

std::optional<OperatorInfo> Operators::ByTokenHash(std::string_view token_hash) const {
  std::lock_guard lock(mu_);
  // A handful of operators: a scan is as quick as a map, and compares every entry alike.
  std::optional<OperatorInfo> found;
  for (const OperatorInfo& info : fixed_) {
    if (util::ConstantTimeEquals(info.token_hash, token_hash) && !found) found = info;
  }
  for (const auto& [name, info] : stored_) {
    if (util::ConstantTimeEquals(info.token_hash, token_hash) && !found) {
      if (!IsFixed(name)) found = info;
    }
  }
  return found;
}

std::string_view Operators::cookie_name() const {
  return settings_.cookie_secure ? kSecureCookieName : kCookieName;
}

std::string Operators::CookieValue(std::string_view session_id,
                                   std::chrono::seconds max_age) const {
  // Path=/ because the page (/console/) and the API it calls (/admin/api/v1/) share it; no
  // Domain, so that it stays on this host (and __Host- requires both).
  std::string cookie =
      fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict", cookie_name(), session_id,
                  std::max<std::int64_t>(0, max_age.count()));
  if (settings_.cookie_secure) cookie += "; Secure";
  return cookie;
}

Authentication Operators::Authenticate(const http::Request& request,
                                       const http::ConnectionInfo& connection) {
  (void)connection;
  Authentication auth;
  const std::string_view authorization = request[http::field::authorization];
  if (!authorization.empty()) {
    const std::string_view token = http::BearerToken(authorization);
    if (token.empty() || token.size() > kMaxTokenLength) {
      auth.outcome = Authentication::Outcome::kBadToken;
      return auth;
    }
    std::optional<OperatorInfo> who = ByTokenHash(TokenHash(token));
    if (!who) {
      auth.outcome = Authentication::Outcome::kBadToken;
      return auth;
    }
    auth.outcome = Authentication::Outcome::kOk;
    auth.caller = Caller{.name = who->name, .role = who->role, .by_session = false};
    return auth;
  }
  const std::string_view cookie = http::FindCookie(request, cookie_name(), "");
  if (cookie.empty()) return auth;  // kMissing
  auto found = sessions_.Find(cookie);
  if (!found) {
    auth.outcome = Authentication::Outcome::kBadSession;
    return auth;
  }
  auto& [hash, session] = *found;
  // The operator must still exist with the token the session was opened with: removing an
  // operator (or changing its token) ends its sessions at once.
  std::optional<OperatorInfo> who = Find(session.operator_name);
  if (!who || who->token_hash != session.token_hash) {
    sessions_.End(hash);
    auth.outcome = Authentication::Outcome::kBadSession;
    return auth;
  }
  if (!IsRead(request.method())) {
    std::string problem = CsrfProblem(request, session.csrf_token);
    if (!problem.empty()) {
      auth.outcome = Authentication::Outcome::kCsrfRefused;
      auth.why = std::move(problem);
      auth.caller = Caller{.name = who->name, .role = who->role, .by_session = true};
      return auth;
    }
  }
  auth.outcome = Authentication::Outcome::kOk;
  auth.caller =
      Caller{.name = who->name, .role = who->role, .by_session = true, .session_hash = hash};
  return auth;
}

SignInResult Operators::SignIn(std::string_view token, const http::ConnectionInfo& connection) {
  SignInResult result;
  if (const std::chrono::seconds wait = throttle_.RetryAfter(connection.peer); wait.count() > 0) {
    result.outcome = SignInResult::Outcome::kThrottled;
    result.retry_after = wait;
    return result;
  }
  std::optional<OperatorInfo> who;
  if (!token.empty() && token.size() <= kMaxTokenLength) who = ByTokenHash(TokenHash(token));
  if (!who) {
    throttle_.Fail(connection.peer);
    result.outcome = SignInResult::Outcome::kWrongToken;
    return result;
  }
  ConsoleSessions::Created created = sessions_.Create(who->name, who->token_hash);
  result.outcome = SignInResult::Outcome::kOk;
  result.caller = Caller{
      .name = who->name, .role = who->role, .by_session = true, .session_hash = created.hash};
  result.cookie = CookieValue(created.id, sessions_.timeout());
  result.csrf_token = created.session.csrf_token;
  result.expires_unix = created.session.ends_unix;
  return result;
}

std::string Operators::SignOut(const Caller& caller) {
  if (!caller.session_hash.empty()) sessions_.End(caller.session_hash);
  return CookieValue("", std::chrono::seconds(0));
}

std::string Operators::CsrfTokenOf(const Caller& caller) {
  if (caller.session_hash.empty()) return {};
  std::optional<ConsoleSessions::Session> session = sessions_.FindByHash(caller.session_hash);
  return session ? session->csrf_token : std::string();
}

std::int64_t Operators::SessionExpiresUnix(const Caller& caller) {
  if (caller.session_hash.empty()) return 0;
  std::optional<ConsoleSessions::Session> session = sessions_.FindByHash(caller.session_hash);
  return session ? session->ends_unix : 0;
}

}  // namespace vwr::admin
