#include "admin/operator_routes.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>

#include "http/errors.hpp"
#include "util/log_escape.hpp"

namespace vwr::admin {
namespace {

// A sign-in or a new operator is a few dozen bytes of JSON.
constexpr std::size_t kMaxBodyBytes = 4096;

http::Response Json(http::status status, std::string body, const http::Request& req) {
  http::Response res = http::MakeJson(status, std::move(body), req.version(), req.keep_alive());
  // Tokens and CSRF tokens pass here: never kept by a cache.
  res.set(http::field::cache_control, "no-store");
  return res;
}

http::Response MethodNotAllowed(const http::Request& req, std::string_view allow) {
  http::Response res =
      http::MakeError(http::ApiError::kMethodNotAllowed, fmt::format("use {}", allow),
                      req.version(), req.keep_alive());
  res.set(http::field::allow, allow);
  return res;
}

std::string CallerJson(const Caller& caller) {
  std::string body = R"({"operator":)";
  http::AppendJsonString(body, caller.name);
  fmt::format_to(std::back_inserter(body), R"(,"role":"{}","via":"{}")", RoleName(caller.role),
                 caller.by_session ? "session" : "token");
  return body;
}

// The JSON object of a request body, or the refusal.
std::optional<boost::json::object> BodyObject(const http::Request& req, http::Respond& respond) {
  if (req.body().size() > kMaxBodyBytes) {
    respond(http::MakeError(http::ApiError::kPayloadTooLarge, "the body is too large",
                            req.version(), req.keep_alive()));
    return std::nullopt;
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(req.body(), ec);
  if (ec || !doc.is_object()) {
    respond(http::MakeError(http::ApiError::kBadRequest, "the body must be a JSON object",
                            req.version(), req.keep_alive()));
    return std::nullopt;
  }
  return std::move(doc.as_object());
}

}  // namespace

http::Response AdminError(http::status status, std::string_view code, std::string_view message,
                          const http::Request& req) {
  return AdminError(status, code, message, req.version(), req.keep_alive());
}

http::Response AdminError(http::status status, std::string_view code, std::string_view message,
                          unsigned version, bool keep_alive) {
  std::string body = R"({"error":{"code":)";
  http::AppendJsonString(body, code);
  body += R"(,"message":)";
  http::AppendJsonString(body, message);
  body += "}}";
  return http::MakeJson(status, std::move(body), version, keep_alive);
}

OperatorRoutes::OperatorRoutes(Operators& operators, std::shared_ptr<OperatorStore> store,
                               AuditLog& audit, const util::Clock& clock)
    : operators_(operators),
      store_(std::move(store)),
      audit_(audit),
      clock_(clock),
      signin_log_(clock, 10) {}

bool OperatorRoutes::Owns(const http::PathSegments& parts) {
  if (parts.size() < 4) return false;
  const std::string_view what = parts[3];
  if (what == "session" || what == "audit") return parts.size() == 4;
  if (what == "operators") return parts.size() == 4 || parts.size() == 5;
  return false;
}

bool OperatorRoutes::IsSignIn(const http::Request& req, const http::PathSegments& parts) {
  return parts.size() == 4 && parts[3] == "session" && req.method() == http::verb::post;
}

void OperatorRoutes::SignIn(const http::Request& req, const http::ConnectionInfo& connection,
                            http::Respond respond) {
  const std::string peer = connection.peer.to_string();
  // A sign-in from another site would plant that site's choice of operator in the browser
  // (login CSRF).
  if (std::string why = CrossOriginProblem(req); !why.empty()) {
    spdlog::warn("console: sign-in refused from {}: {}", peer, why);
    return respond(AdminError(http::status::forbidden, "csrf_refused",
                              "sign in from the console's own page: " + why, req));
  }
  const std::string_view type = req[http::field::content_type];
  if (!type.starts_with("application/json")) {
    // A form another site posts cannot say application/json without the browser asking first.
    return respond(http::MakeError(http::ApiError::kBadRequest,
                                   "send the token as JSON (Content-Type: application/json)",
                                   req.version(), req.keep_alive()));
  }
  std::optional<boost::json::object> body = BodyObject(req, respond);
  if (!body) return;
  const boost::json::value* token = body->if_contains("token");
  if (token == nullptr || !token->is_string() || body->size() != 1) {
    return respond(http::MakeError(http::ApiError::kBadRequest,
                                   R"(expected {"token": "<admin or operator token>"})",
                                   req.version(), req.keep_alive()));
  }
  const std::string_view agent = req[http::field::user_agent];
  SignInResult result = operators_.SignIn(std::string_view(token->as_string()), connection);
  std::uint64_t suppressed = 0;
  switch (result.outcome) {
    case SignInResult::Outcome::kThrottled: {
      if (signin_log_.Allow(suppressed)) {
        spdlog::warn(
            "console: sign-in refused from {}: too many failed attempts (try again in {}s); "
            "User-Agent \"{}\"{}",
            peer, result.retry_after.count(), util::LogEscaped(agent, 120),
            suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
      }
      http::Response res =
          AdminError(http::status::too_many_requests, "too_many_attempts",
                     fmt::format("too many failed sign-ins from this address; try again in {} s",
                                 result.retry_after.count()),
                     req);
      res.set(http::field::retry_after, std::to_string(result.retry_after.count()));
      return respond(std::move(res));
    }
    case SignInResult::Outcome::kWrongToken: {
      if (signin_log_.Allow(suppressed)) {
        spdlog::warn(
            "console: sign-in refused from {}: the token names no operator; "
            "User-Agent \"{}\"{}",
            peer, util::LogEscaped(agent, 120),
            suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
      }
      return respond(http::MakeError(http::ApiError::kUnauthorized, "the token names no operator",
                                     req.version(), req.keep_alive()));
    }
    case SignInResult::Outcome::kOk:
      break;
  }
  std::string answer = CallerJson(result.caller);
  answer += R"(,"csrf_token":)";
  http::AppendJsonString(answer, result.csrf_token);
  fmt::format_to(std::back_inserter(answer), R"(,"expires_at":{}}})", result.expires_unix);
  http::Response res = Json(http::status::ok, std::move(answer), req);
  res.set(http::field::set_cookie, result.cookie);
  audit_.Record({.operator_name = result.caller.name,
                 .address = peer,
                 .room = "",
                 .action = "session.sign_in",
                 .before = "",
                 .after = std::string(RoleName(result.caller.role))},
                [respond = std::move(respond), res = std::move(res)](bool) mutable {
                  respond(std::move(res));
                });
}

void OperatorRoutes::Serve(const http::Request& req, const http::ConnectionInfo& connection,
                           const Caller& caller, const http::PathSegments& parts,
                           http::Respond respond) {
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  const std::string_view what = parts[3];
  if (what == "session") {
    if (!read && req.method() != http::verb::delete_) {
      return respond(MethodNotAllowed(req, "GET, POST, DELETE"));
    }
    return Session(req, connection, caller, std::move(respond));
  }
  if (what == "audit") {
    if (!read) return respond(MethodNotAllowed(req, "GET"));
    return Audit(req, std::move(respond));
  }
  // operators
  if (parts.size() == 4) {
    if (read) return ListOperators(req, std::move(respond));
    if (req.method() == http::verb::post) {
      return AddOperator(req, connection, caller, std::move(respond));
    }
    return respond(MethodNotAllowed(req, "GET, POST"));
  }
  if (req.method() != http::verb::delete_) return respond(MethodNotAllowed(req, "DELETE"));
  RemoveOperator(parts[4], req, connection, caller, std::move(respond));
}

void OperatorRoutes::Session(const http::Request& req, const http::ConnectionInfo& connection,
                             const Caller& caller, http::Respond respond) {
  if (req.method() == http::verb::delete_) {
    if (!caller.by_session) {
      return respond(http::MakeError(http::ApiError::kBadRequest,
                                     "sign-out ends a console session; this request came with "
                                     "a bearer token",
                                     req.version(), req.keep_alive()));
    }
    std::string cookie = operators_.SignOut(caller);
    http::Response res{http::status::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::field::set_cookie, cookie);
    res.set(http::field::cache_control, "no-store");
    return audit_.Record({.operator_name = caller.name,
                          .address = connection.peer.to_string(),
                          .room = "",
                          .action = "session.sign_out",
                          .before = "",
                          .after = ""},
                         [respond = std::move(respond), res = std::move(res)](bool) mutable {
                           respond(std::move(res));
                         });
  }
  std::string body = CallerJson(caller);
  if (caller.by_session) {
    body += R"(,"csrf_token":)";
    http::AppendJsonString(body, operators_.CsrfTokenOf(caller));
    fmt::format_to(std::back_inserter(body), R"(,"expires_at":{})",
                   operators_.SessionExpiresUnix(caller));
  }
  body += '}';
  respond(Json(http::status::ok, std::move(body), req));
}

void OperatorRoutes::ListOperators(const http::Request& req, http::Respond respond) {
  std::string body = R"({"operators":[)";
  bool first = true;
  for (const OperatorInfo& info : operators_.List()) {
    if (!first) body += ',';
    first = false;
    body += R"({"name":)";
    http::AppendJsonString(body, info.name);
    fmt::format_to(std::back_inserter(body), R"(,"role":"{}","origin":"{}")", RoleName(info.role),
                   OperatorOriginName(info.origin));
    if (info.created_unix > 0) {
      fmt::format_to(std::back_inserter(body), R"(,"created_at":{})", info.created_unix);
    }
    body += '}';
  }
  body += "]}";
  respond(Json(http::status::ok, std::move(body), req));
}

void OperatorRoutes::AddOperator(const http::Request& req, const http::ConnectionInfo& connection,
                                 const Caller& caller, http::Respond respond) {
  std::optional<boost::json::object> body = BodyObject(req, respond);
  if (!body) return;
  std::string name;
  std::optional<Role> role;
  for (const auto& [key, value] : *body) {
    const boost::json::string* text = value.if_string();
    if (key == "name" && text != nullptr) {
      name.assign(text->data(), text->size());
    } else if (key == "role" && text != nullptr) {
      role = ParseRole(std::string_view(*text));
      if (!role) {
        return respond(http::MakeError(http::ApiError::kBadRequest,
                                       "role must be one of viewer, operator, admin", req.version(),
                                       req.keep_alive()));
      }
    } else {
      return respond(http::MakeError(
          http::ApiError::kBadRequest,
          R"(expected {"name": "...", "role": "viewer|operator|admin"} (both strings))",
          req.version(), req.keep_alive()));
    }
  }
  if (!IsOperatorName(name)) {
    return respond(http::MakeError(
        http::ApiError::kBadRequest,
        "name must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter or digit",
        req.version(), req.keep_alive()));
  }
  if (!role) {
    return respond(http::MakeError(http::ApiError::kBadRequest,
                                   "role is required: viewer, operator or admin", req.version(),
                                   req.keep_alive()));
  }
  if (operators_.Find(name)) {
    return respond(AdminError(http::status::conflict, "conflict",
                              "an operator of that name exists already", req));
  }
  const std::string token = NewOperatorToken();
  OperatorInfo info{.name = name,
                    .role = *role,
                    .token_hash = TokenHash(token),
                    .origin = OperatorOrigin::kApi,
                    .created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                        clock_.WallNow().time_since_epoch())
                                        .count()};
  auto added = [this, info, token, caller_name = caller.name, peer = connection.peer.to_string(),
                v = req.version(), ka = req.keep_alive(),
                respond = std::move(respond)](bool ok, bool created) mutable {
    if (!ok) {
      return respond(http::MakeError(http::ApiError::kUnavailable,
                                     "the operator could not be stored; try again", v, false));
    }
    if (!created) {
      return respond(AdminError(http::status::conflict, "conflict",
                                "an operator of that name exists already", v, ka));
    }
    operators_.AddStored(info);
    std::string answer = R"({"name":)";
    http::AppendJsonString(answer, info.name);
    fmt::format_to(std::back_inserter(answer), R"(,"role":"{}","origin":"api","created_at":{})",
                   RoleName(info.role), info.created_unix);
    answer += R"(,"token":)";
    http::AppendJsonString(answer, token);
    answer += '}';
    http::Response res = http::MakeJson(http::status::created, std::move(answer), v, ka);
    res.set(http::field::cache_control, "no-store");
    audit_.Record(
        {.operator_name = caller_name,
         .address = peer,
         .room = "",
         .action = "operators.add",
         .before = "",
         .after = fmt::format(R"({{"name":"{}","role":"{}"}})", info.name, RoleName(info.role))},
        [respond = std::move(respond), res = std::move(res)](bool) mutable {
          respond(std::move(res));
        });
  };
  if (!store_) return added(true, true);
  store_->AddOperator(info, std::move(added));
}

void OperatorRoutes::RemoveOperator(std::string_view name, const http::Request& req,
                                    const http::ConnectionInfo& connection, const Caller& caller,
                                    http::Respond respond) {
  std::optional<OperatorInfo> info = operators_.Find(name);
  if (info && info->origin != OperatorOrigin::kApi) {
    return respond(AdminError(http::status::conflict, "conflict",
                              info->origin == OperatorOrigin::kConfig
                                  ? "this operator is in the configuration file; remove it there"
                                  : "the admin token's operator cannot be removed",
                              req));
  }
  if (!IsOperatorName(name)) {
    return respond(http::MakeError(http::ApiError::kNotFound, "no such operator", req.version(),
                                   req.keep_alive()));
  }
  auto removed = [this, name = std::string(name), role = info ? info->role : Role::kViewer,
                  caller_name = caller.name, peer = connection.peer.to_string(), v = req.version(),
                  ka = req.keep_alive(),
                  respond = std::move(respond)](bool ok, bool existed) mutable {
    if (!ok) {
      return respond(http::MakeError(http::ApiError::kUnavailable,
                                     "the operator could not be removed; try again", v, false));
    }
    operators_.RemoveStored(name);
    if (!existed) {
      return respond(http::MakeError(http::ApiError::kNotFound, "no such operator", v, ka));
    }
    http::Response res{http::status::no_content, v};
    res.keep_alive(ka);
    audit_.Record({.operator_name = caller_name,
                   .address = peer,
                   .room = "",
                   .action = "operators.remove",
                   .before = fmt::format(R"({{"name":"{}","role":"{}"}})", name, RoleName(role)),
                   .after = ""},
                  [respond = std::move(respond), res = std::move(res)](bool) mutable {
                    respond(std::move(res));
                  });
  };
  if (!store_) return removed(true, info.has_value());
  store_->RemoveOperator(std::string(name), std::move(removed));
}

void OperatorRoutes::Audit(const http::Request& req, http::Respond respond) {
  auto query = ParseAuditQuery(http::QueryOf(req.target()));
  if (!query) {
    return respond(http::MakeError(http::ApiError::kBadRequest, query.error(), req.version(),
                                   req.keep_alive()));
  }
  const bool csv = query->csv;
  audit_.Search(
      std::move(*query), [csv, v = req.version(), ka = req.keep_alive(),
                          respond = std::move(respond)](bool ok, std::vector<AuditEntry> entries) {
        if (!ok) {
          return respond(http::MakeError(http::ApiError::kUnavailable,
                                         "the audit log cannot be read now; try again", v, false));
        }
        http::Response res{http::status::ok, v};
        res.keep_alive(ka);
        res.set(http::field::cache_control, "no-store");
        if (csv) {
          res.set(http::field::content_type, "text/csv; charset=utf-8");
          res.set(http::field::content_disposition, "attachment; filename=\"vwr-audit.csv\"");
          res.body() = RenderAuditCsv(entries);
        } else {
          res.set(http::field::content_type, "application/json");
          res.body() = RenderAuditJson(entries);
        }
        res.prepare_payload();
        respond(std::move(res));
      });
}

}  // namespace vwr::admin
