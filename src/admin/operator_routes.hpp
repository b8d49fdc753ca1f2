#pragma once

#include <memory>
#include <string_view>

#include "admin/audit_log.hpp"
#include "admin/operator_store.hpp"
#include "admin/operators.hpp"
#include "http/http.hpp"
#include "http/request_parts.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace vwr::admin {

// The admin API's routes about who may use it, on the admin listener (AdminApi routes here):
//
//   POST   /admin/api/v1/session           {"token": "..."} -> a console session (cookie), its
//                                          CSRF token; no credentials needed, failures limited
//                                          per client address
//   GET    /admin/api/v1/session           who the caller is (and, for a cookie, its CSRF token)
//   DELETE /admin/api/v1/session           signs out: the session ends on this node at once
//   GET    /admin/api/v1/operators         every operator, with role and origin (admin)
//   POST   /admin/api/v1/operators         {"name": "...", "role": "..."} -> 201 with the token,
//                                          shown this once (admin)
//   DELETE /admin/api/v1/operators/{name}  removes an operator made through the API (admin)
//   GET    /admin/api/v1/audit             the audit log, searched; &format=csv (viewer)
//
// Changes are recorded in the audit log before they are answered. Thread-safe.
class OperatorRoutes {
 public:
  // `store` may be null: operators made through the API are then kept in memory only.
  OperatorRoutes(Operators& operators, std::shared_ptr<OperatorStore> store, AuditLog& audit,
                 const util::Clock& clock);

  // Whether `parts` (admin api v1 ...) is one of these routes' paths.
  static bool Owns(const http::PathSegments& parts);
  // Sign-in: the one route that needs no credentials.
  static bool IsSignIn(const http::Request& request, const http::PathSegments& parts);

  void SignIn(const http::Request& request, const http::ConnectionInfo& connection,
              http::Respond respond);
  // Every other route, for an authenticated caller whose role allows it (AdminApi checked).
  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             const Caller& caller, const http::PathSegments& parts, http::Respond respond);

 private:
  void Session(const http::Request& request, const http::ConnectionInfo& connection,
               const Caller& caller, http::Respond respond);
  void ListOperators(const http::Request& request, http::Respond respond);
  void AddOperator(const http::Request& request, const http::ConnectionInfo& connection,
                   const Caller& caller, http::Respond respond);
  void RemoveOperator(std::string_view name, const http::Request& request,
                      const http::ConnectionInfo& connection, const Caller& caller,
                      http::Respond respond);
  void Audit(const http::Request& request, http::Respond respond);

  Operators& operators_;
  std::shared_ptr<OperatorStore> store_;
  AuditLog& audit_;
  const util::Clock& clock_;
  util::LogLimiter signin_log_;
};

// {"error":{"code":code,"message":message}} with `status`: the admin API's own refusals
// (forbidden, csrf_refused, too_many_attempts, conflict) beside http::ApiError's.
http::Response AdminError(http::status status, std::string_view code, std::string_view message,
                          const http::Request& request);
http::Response AdminError(http::status status, std::string_view code, std::string_view message,
                          unsigned version, bool keep_alive);

}  // namespace vwr::admin
