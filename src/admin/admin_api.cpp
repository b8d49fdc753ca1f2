#include "admin/admin_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "analytics/metrics.hpp"
#include "analytics/statistics.hpp"
#include "config/duration.hpp"
#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "token/session_id.hpp"
#include "util/duration.hpp"
#include "util/ip_range.hpp"
#include "util/log_escape.hpp"
#include "util/random.hpp"

namespace vwr::admin {
namespace {

std::string FormatMs(std::chrono::milliseconds ms) {
  return ms.count() % 1000 == 0 ? fmt::format("{}s", ms.count() / 1000)
                                : fmt::format("{}ms", ms.count());
}

// Reads a whole, non-negative integer from a JSON number (1e3 and 5.0 are whole numbers too).
std::optional<std::int64_t> WholeNumber(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string RenderPolicy(std::string_view room, const core::Policy& p) {
  std::string body = R"({"room":)";
  http::AppendJsonString(body, room);
  fmt::format_to(std::back_inserter(body),
                 R"(,"max_active":{},"admit_rate":{},"burst":{},"mode":"{}","queue_limit":{},)"
                 R"("session_timeout":"{}","session_max":"{}","claim_grace":"{}",)"
                 R"("poll":{{"min":"{}","max":"{}"}},"abandon_after_polls":{}}})",
                 p.max_active, p.admit_rate, p.burst, core::ModeName(p.mode), p.queue_limit,
                 FormatMs(p.session_timeout), FormatMs(p.session_max), FormatMs(p.claim_grace),
                 FormatMs(p.poll_min), FormatMs(p.poll_max), p.abandon_after_polls);
  return body;
}

AdminApi::AdminApi(http::RoomDirectory& rooms, store::Store& store, std::string admin_token,
                   const util::Clock& clock, http::ApiMetrics& metrics, RoomMessages* messages,
                   AdminKeys keys)
    : rooms_(rooms),
      store_(store),
      own_operators_(std::make_unique<Operators>(clock)),
      own_audit_(std::make_unique<AuditLog>(clock, std::make_shared<MemoryAuditBackend>())),
      operators_(own_operators_.get()),
      audit_(own_audit_.get()),
      operator_routes_(std::make_unique<OperatorRoutes>(*operators_, nullptr, *audit_, clock)),
      refused_log_(clock, 20),
      metrics_(metrics),
      pipeline_(clock, metrics),
      messages_(messages),
      keys_(std::move(keys)) {
  own_operators_->SetFixed({OperatorInfo{.name = std::string(kAdminOperatorName),
                                         .role = Role::kAdmin,
                                         .token_hash = TokenHash(admin_token),
                                         .origin = OperatorOrigin::kAdminToken}});
}

void AdminApi::SetAccess(Operators& operators, AuditLog& audit,
                         std::shared_ptr<OperatorStore> store) {
  operators_ = &operators;
  audit_ = &audit;
  operator_routes_ =
      std::make_unique<OperatorRoutes>(operators, std::move(store), audit, pipeline_.clock());
}

void AdminApi::SetStatistics(analytics::Statistics* stats) {
  stats_ = stats;
  stats_api_ =
      stats != nullptr ? std::make_unique<StatsApi>(*stats, rooms_, pipeline_.clock()) : nullptr;
}

void AdminApi::Serve(const http::Request& request, const http::ConnectionInfo& connection,
                     http::Respond respond) {
  // The change a request makes (if any) is written to the audit log once it has succeeded, and
  // only then answered. Admin requests are few: the draft's allocation is no hot-path cost.
  auto draft = std::make_shared<AuditDraft>();
  http::Respond audited = [this, draft, peer = connection.peer.to_string(),
                           respond = std::move(respond)](http::Response response) {
    if (draft->change.action.empty() || response.result_int() >= 300) {
      return respond(std::move(response));
    }
    AuditRecord record = std::move(draft->change);
    record.operator_name = draft->operator_name;
    record.address = peer;
    audit_->Record(std::move(record),
                   [respond, response = std::move(response)](bool) { respond(response); });
  };
  http::RequestContext ctx = pipeline_.Begin(request, connection, std::move(audited));
  if (std::optional<http::Response> now = Route(ctx, *draft)) ctx.Finish(std::move(*now));
}

std::variant<Caller, http::Response> AdminApi::Authorize(http::RequestContext& ctx,
                                                         const http::PathSegments& parts) {
  const http::Request& req = ctx.request();
  const std::string_view path = http::PathOf(req.target());
  Authentication auth = operators_->Authenticate(req, ctx.connection());
  auto log_refusal = [&](std::string_view why) {
    std::uint64_t suppressed = 0;
    if (!refused_log_.Allow(suppressed)) return;
    spdlog::warn("admin: refused {} {} from {}: {}{}", std::string_view(req.method_string()),
                 util::LogEscaped(path), ctx.connection().peer.to_string(), why,
                 suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  };
  switch (auth.outcome) {
    case Authentication::Outcome::kOk:
      break;
    case Authentication::Outcome::kCsrfRefused:
      log_refusal(fmt::format("operator {}'s console session, but {}", auth.caller.name, auth.why));
      return AdminError(http::status::forbidden, "csrf_refused",
                        "a change through the console must come from its own page: " + auth.why,
                        ctx.version(), ctx.keep_alive());
    case Authentication::Outcome::kMissing:
    case Authentication::Outcome::kBadToken:
    case Authentication::Outcome::kBadSession: {
      const bool session = auth.outcome == Authentication::Outcome::kBadSession;
      log_refusal(auth.outcome == Authentication::Outcome::kMissing ? "no credentials"
                  : session ? "the console session has ended or never existed"
                            : "the token names no operator");
      http::Response res = ctx.ErrorResponse(
          http::ApiError::kUnauthorized, session ? "the console session has ended; sign in again"
                                                 : "a valid admin or operator token is required");
      res.set(http::field::www_authenticate, "Bearer");
      return res;
    }
  }
  const Role needed = RequiredRole(req.method(), parts);
  if (!Allows(auth.caller.role, needed)) {
    log_refusal(fmt::format("operator {} is a {}; this needs {}", auth.caller.name,
                            RoleName(auth.caller.role), RoleName(needed)));
    return AdminError(http::status::forbidden, "forbidden",
                      fmt::format("operator {} has role {}; this needs role {}", auth.caller.name,
                                  RoleName(auth.caller.role), RoleName(needed)),
                      ctx.version(), ctx.keep_alive());
  }
  return std::move(auth.caller);
}

std::optional<http::Response> AdminApi::Route(http::RequestContext& ctx, AuditDraft& draft) {
  const http::Request& req = ctx.request();
  const std::string_view path = http::PathOf(req.target());
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  auto only_get = [&]() {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET");
    res.set(http::field::allow, "GET");
    return res;
  };
  if (path == "/healthz") {
    ctx.set_endpoint(http::Endpoint::kHealth);
    if (!read) return only_get();
    return ctx.JsonResponse(http::status::ok, R"({"status":"ok"})");
  }
  if (path == "/readyz") {
    ctx.set_endpoint(http::Endpoint::kReady);
    if (!read) return only_get();
    if (!ready_.load(std::memory_order_relaxed)) {
      return ctx.JsonResponse(http::status::service_unavailable, R"({"status":"draining"})");
    }
    if (!store_.Ready()) {
      return ctx.JsonResponse(http::status::service_unavailable,
                              R"({"status":"store_unavailable"})");
    }
    for (const ReadyCheck& c : ready_checks_) {
      if (c.check()) continue;
      std::string body = R"({"status":)";
      http::AppendJsonString(body, c.status);
      body += '}';
      return ctx.JsonResponse(http::status::service_unavailable, std::move(body));
    }
    return ctx.JsonResponse(http::status::ok, R"({"status":"ready"})");
  }
  if (path == "/metrics") {
    ctx.set_endpoint(http::Endpoint::kMetrics);
    if (!read) return only_get();
    return Metrics(ctx);
  }

  const http::PathSegments parts = http::SplitPath(path);
  const bool keys = parts.size() >= 4 && parts[3] == "keys" && keys_.ring != nullptr;
  const bool stats =
      parts.size() >= 4 && (parts[3] == "stats" || parts[3] == "live") && stats_api_ != nullptr;
  const bool operator_route = OperatorRoutes::Owns(parts);
  const bool control = parts.size() >= 4 && control_ != nullptr && ControlApi::Owns(parts[3]);
  if (parts.size() < 4 || parts[0] != "admin" || parts[1] != "api" || parts[2] != "v1" ||
      (parts[3] != "rooms" && !keys && !stats && !control && !operator_route)) {
    return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
  }
  ctx.set_endpoint(keys      ? http::Endpoint::kKeys
                   : stats   ? http::Endpoint::kStats
                   : control ? http::Endpoint::kControl
                             : http::Endpoint::kPolicy);
  // The operator routes answer through their own callback (they write their own audit entries).
  auto answer_later = [&ctx] {
    return
        [shared = std::move(ctx).Share()](http::Response res) { shared->Finish(std::move(res)); };
  };
  if (OperatorRoutes::IsSignIn(req, parts)) {  // the one route without credentials
    const http::Request& request = ctx.request();
    const http::ConnectionInfo& connection = ctx.connection();
    operator_routes_->SignIn(request, connection, answer_later());
    return std::nullopt;
  }
  std::variant<Caller, http::Response> who = Authorize(ctx, parts);
  if (auto* refused = std::get_if<http::Response>(&who)) return std::move(*refused);
  const Caller& caller = std::get<Caller>(who);
  draft.operator_name = caller.name;
  if (operator_route) {
    const http::Request& request = ctx.request();
    const http::ConnectionInfo& connection = ctx.connection();
    operator_routes_->Serve(request, connection, caller, parts, answer_later());
    return std::nullopt;
  }
  AuditRecord& note = draft.change;
  note.operator_name = caller.name;  // also who a change is reported as (traffic control's hold)
  if (keys) return RouteKeys(ctx, parts, note);
  if (control) return control_->Serve(ctx, parts, note);
  if (stats) {
    // Answered by StatsApi once history has been read.
    const http::ConnectionInfo& connection = ctx.connection();
    stats_api_->Serve(req, connection, parts, [ctx = std::move(ctx).Share()](http::Response res) {
      ctx->Finish(std::move(res));
    });
    return std::nullopt;
  }
  if (parts.size() == 4) {
    if (!read) return only_get();
    return ListRooms(ctx);
  }
  if (parts.size() == 6 && parts[5] == "sessions") {
    ctx.set_endpoint(http::Endpoint::kSessions);
    http::RoomEntry* room = rooms_.Find(parts[4]);
    if (room == nullptr) return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
    if (req.method() != http::verb::delete_) {
      http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use DELETE");
      res.set(http::field::allow, "DELETE");
      return res;
    }
    EndAllSessions(*room, ctx, note);
    return std::nullopt;
  }
  if (parts.size() == 7 && parts[5] == "sessions") {
    ctx.set_endpoint(http::Endpoint::kSessions);
    http::RoomEntry* room = rooms_.Find(parts[4]);
    if (room == nullptr) return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
    if (req.method() != http::verb::delete_) {
      http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use DELETE");
      res.set(http::field::allow, "DELETE");
      return res;
    }
    return EndSession(*room, parts[6], ctx, note);
  }
  if (parts.size() == 7 && parts[5] == "lists" && guard_ != nullptr) {
    http::RoomEntry* room = rooms_.Find(parts[4]);
    if (room == nullptr) return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
    return Lists(*room, parts[6], ctx, note);
  }
  if (parts.size() == 6 && parts[5] == "message" && messages_ != nullptr) {
    http::RoomEntry* room = rooms_.Find(parts[4]);
    if (room == nullptr) return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
    return Message(*room, ctx, note);
  }
  if (parts.size() != 6 || parts[5] != "policy") {
    return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
  }
  http::RoomEntry* room = rooms_.Find(parts[4]);
  if (room == nullptr) return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
  if (read) return GetPolicy(*room, ctx);
  if (req.method() == http::verb::put) return PutPolicy(*room, ctx, note);
  http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET or PUT");
  res.set(http::field::allow, "GET, PUT");
  return res;
}

http::Response AdminApi::Message(http::RoomEntry& room, const http::RequestContext& ctx,
                                 AuditRecord& note) {
  const http::Request& req = ctx.request();
  const std::string& id = room.state->id();
  auto render = [&] {
    const RoomMessages::Message m = messages_->Get(id);
    std::string body = R"({"room":)";
    http::AppendJsonString(body, id);
    body += R"(,"message":)";
    http::AppendJsonString(body, m.text);
    body += m.replaced ? R"(,"replaced":true})" : R"(,"replaced":false})";
    return ctx.JsonResponse(http::status::ok, std::move(body));
  };
  switch (req.method()) {
    case http::verb::get:
    case http::verb::head:
      return render();
    case http::verb::delete_:
      note = {.room = id, .action = "message.reset", .before = messages_->Get(id).text};
      messages_->Replace(id, std::nullopt);
      note.after = messages_->Get(id).text;
      spdlog::info("admin: message of room {} reset to the configured one by {}", id,
                   ctx.connection().peer.to_string());
      return render();
    case http::verb::put:
      break;
    default: {
      http::Response res =
          ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET, PUT or DELETE");
      res.set(http::field::allow, "GET, PUT, DELETE");
      return res;
    }
  }
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(req.body(), ec);
  const boost::json::object* obj = ec ? nullptr : doc.if_object();
  if (obj == nullptr) {
    return ctx.ErrorResponse(http::ApiError::kBadRequest,
                             R"(expected a JSON object {"message": "..."})");
  }
  for (const auto& [key, value] : *obj) {
    if (key != "message") {
      return ctx.ErrorResponse(http::ApiError::kBadRequest,
                               fmt::format("unknown key \"{}\" (allowed: message)",
                                           std::string_view(key).substr(0, 60)));
    }
  }
  const boost::json::value* message = obj->if_contains("message");
  if (message == nullptr) {
    return ctx.ErrorResponse(http::ApiError::kBadRequest,
                             R"(missing "message" (a string, or null to reset))");
  }
  note = {.room = id,
          .action = message->is_null() ? "message.reset" : "message.set",
          .before = messages_->Get(id).text};
  if (message->is_null()) {
    messages_->Replace(id, std::nullopt);
  } else if (const boost::json::string* text = message->if_string()) {
    if (text->size() > RoomMessages::kMaxBytes) {
      return ctx.ErrorResponse(
          http::ApiError::kBadRequest,
          fmt::format("message is longer than {} bytes", RoomMessages::kMaxBytes));
    }
    const bool control = std::any_of(text->begin(), text->end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (control) {
      return ctx.ErrorResponse(http::ApiError::kBadRequest,
                               "message must be one line (no line breaks or control characters)");
    }
    messages_->Replace(id, std::string(text->data(), text->size()));
  } else {
    return ctx.ErrorResponse(http::ApiError::kBadRequest, "message must be a string or null");
  }
  note.after = messages_->Get(id).text;
  spdlog::info("admin: message of room {} {} by {}", id,
               message->is_null() ? "reset to the configured one" : "replaced",
               ctx.connection().peer.to_string());
  return render();
}

std::optional<http::Response> AdminApi::Lists(http::RoomEntry& room, std::string_view list_name,
                                              http::RequestContext& ctx, AuditRecord& note) {
  const http::Request& req = ctx.request();
  const std::string& id = room.state->id();
  const std::optional<guard::GuardList> list = guard::ParseGuardList(list_name);
  if (!list) {
    return ctx.ErrorResponse(http::ApiError::kNotFound,
                             "no such list (lists: deny, allow, unblock, block, join_block)");
  }
  auto render = [&] {
    std::string body = R"({"room":)";
    http::AppendJsonString(body, id);
    body += R"(,"list":)";
    http::AppendJsonString(body, guard::GuardListName(*list));
    body += R"(,"entries":[)";
    bool first = true;
    for (const guard::GuardEntry& entry : guard_->List(id, *list)) {
      body += first ? "{" : ",{";
      first = false;
      body += entry.is_ip ? R"("ip":)" : R"("identity":)";
      http::AppendJsonString(body, entry.value);
      body += R"(,"source":)";
      http::AppendJsonString(body, entry.source);
      if (entry.expires_unix != 0) body += fmt::format(R"(,"expires":{})", entry.expires_unix);
      body += "}";
    }
    body += "]}";
    return ctx.JsonResponse(http::status::ok, std::move(body));
  };
  const http::verb method = req.method();
  if (method == http::verb::get || method == http::verb::head) return render();
  if (method != http::verb::post && method != http::verb::delete_) {
    http::Response res =
        ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET, POST or DELETE");
    res.set(http::field::allow, "GET, POST, DELETE");
    return res;
  }
  // One entry: {"ip": "10.0.0.0/8"} or {"identity": "..."}, and for block "ttl" (seconds).
  // DELETE may name it in the query instead (?ip=... or ?identity=...).
  std::string ip;
  std::string identity;
  std::optional<std::int64_t> ttl;
  const bool has_body = req.body().find_first_not_of(" \t\r\n") != std::string::npos;
  if (method == http::verb::delete_ && !has_body) {
    ip = http::QueryParam(http::QueryOf(req.target()), "ip").value_or("");
    identity = http::QueryParam(http::QueryOf(req.target()), "identity").value_or("");
  } else {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(req.body(), ec);
    const boost::json::object* obj = ec ? nullptr : doc.if_object();
    if (obj == nullptr) {
      return ctx.ErrorResponse(http::ApiError::kBadRequest,
                               R"(expected a JSON object {"ip": "..."} or {"identity": "..."})");
    }
    for (const auto& [key, value] : *obj) {
      if (key == "ip" || key == "identity") {
        const boost::json::string* text = value.if_string();
        if (text == nullptr) {
          return ctx.ErrorResponse(http::ApiError::kBadRequest,
                                   fmt::format("{} must be a string", std::string_view(key)));
        }
        (key == "ip" ? ip : identity).assign(text->data(), text->size());
      } else if (key == "ttl" && method == http::verb::post && guard::GuardListExpires(*list)) {
        const std::int64_t* seconds = value.if_int64();
        if (seconds == nullptr || *seconds < 1 || *seconds > 7 * 86'400) {
          return ctx.ErrorResponse(http::ApiError::kBadRequest,
                                   "ttl must be a whole number of seconds between 1 and 604800");
        }
        ttl = *seconds;
      } else {
        return ctx.ErrorResponse(
            http::ApiError::kBadRequest,
            fmt::format(
                "unknown key \"{}\" (allowed: ip, identity{})", std::string_view(key).substr(0, 60),
                guard::GuardListExpires(*list) && method == http::verb::post ? ", ttl" : ""));
      }
    }
  }
  if (ip.empty() == identity.empty()) {
    return ctx.ErrorResponse(http::ApiError::kBadRequest, "give exactly one of ip and identity");
  }
  if (!ip.empty() && !util::IpRange::Parse(ip)) {
    return ctx.ErrorResponse(http::ApiError::kBadRequest,
                             "ip must be an IP address or a CIDR block such as 10.0.0.0/8");
  }
  if (identity.size() > 256) {
    return ctx.ErrorResponse(http::ApiError::kBadRequest, "identity is longer than 256 bytes");
  }
  const bool is_ip = !ip.empty();
  const std::string& value = is_ip ? ip : identity;
  if (method == http::verb::post) {
    std::optional<std::chrono::seconds> time;
    if (ttl) time = std::chrono::seconds(*ttl);
    if (!guard_->Add(id, *list, guard::GuardEntry{is_ip, value, 0, "admin"}, time)) {
      return ctx.ErrorResponse(http::ApiError::kBadRequest, "the entry cannot be added");
    }
    note = {.room = id,
            .action = fmt::format("lists.{}.add", guard::GuardListName(*list)),
            .after = ttl ? fmt::format("{} (ttl {}s)", value, *ttl) : value};
    spdlog::info("admin: room {}: {} \"{}\" added to the {} list by {}", id,
                 is_ip ? "address" : "identity", util::LogEscaped(value),
                 guard::GuardListName(*list), ctx.connection().peer.to_string());
    AnswerRecorded(ctx, render());
    return std::nullopt;
  }
  if (!guard_->Remove(id, *list, is_ip, value)) {
    return ctx.ErrorResponse(
        http::ApiError::kNotFound,
        fmt::format("no such entry in the {} list (entries from the configuration "
                    "change with it)",
                    guard::GuardListName(*list)));
  }
  note = {.room = id,
          .action = fmt::format("lists.{}.remove", guard::GuardListName(*list)),
          .before = value};
  spdlog::info("admin: room {}: {} \"{}\" removed from the {} list by {}", id,
               is_ip ? "address" : "identity", util::LogEscaped(value), guard::GuardListName(*list),
               ctx.connection().peer.to_string());
  AnswerRecorded(ctx, render());
  return std::nullopt;
}

void AdminApi::AnswerRecorded(http::RequestContext& ctx, http::Response answer) {
  if (!lists_recorded_) return ctx.Finish(std::move(answer));
  lists_recorded_([ctx = std::move(ctx).Share(),
                   answer = std::move(answer)](bool recorded) mutable {
    if (recorded) return ctx->Finish(std::move(answer));
    http::Response res = ctx->ErrorResponse(
        http::ApiError::kUnavailable,
        "the change is in force on this node but could not be recorded (see the log); repeat it");
    res.keep_alive(false);
    ctx->Finish(std::move(res));
  });
}

std::optional<http::Response> AdminApi::RouteKeys(http::RequestContext& ctx,
                                                  const http::PathSegments& parts,
                                                  AuditRecord& note) {
  const http::Request& req = ctx.request();
  const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
  if (parts.size() == 4) {
    if (read) return ListKeys(ctx);
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET");
    res.set(http::field::allow, "GET");
    return res;
  }
  if (parts.size() == 5 && parts[4] == "rotate" && keys_.rotate) {
    if (req.method() == http::verb::post) {
      RotateKeys(ctx, note);
      return std::nullopt;
    }
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use POST");
    res.set(http::field::allow, "POST");
    return res;
  }
  return ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint");
}

http::Response AdminApi::ListKeys(const http::RequestContext& ctx) {
  std::string body = R"({"keys":[)";
  bool first = true;
  auto optional = [&](const char* name, const std::optional<std::int64_t>& value) {
    if (value) {
      fmt::format_to(std::back_inserter(body), R"(,"{}":{})", name, *value);
    } else {
      fmt::format_to(std::back_inserter(body), R"(,"{}":null)", name);
    }
  };
  for (const token::KeyDescription& key : keys_.ring->Describe()) {
    body += first ? "{" : ",{";
    first = false;
    body += R"("kid":)";
    http::AppendJsonString(body, key.kid);
    fmt::format_to(std::back_inserter(body), R"(,"state":"{}")", token::KeyStateName(key.state));
    optional("created_at", key.created_unix);
    optional("retired_at", key.retired_unix);
    optional("not_after", key.not_after_unix);
    body += "}";
  }
  body += R"(],"jwks":)";
  body += keys_.ring->Current().jwks;
  body += "}";
  return ctx.JsonResponse(http::status::ok, std::move(body));
}

void AdminApi::RotateKeys(http::RequestContext& ctx, AuditRecord& note) {
  note.action = "keys.rotate";
  note.before = keys_.ring->Current().signer->kid;
  // `note` lives as long as the context's answer callback, which the continuation holds.
  keys_.rotate([this, &note, ctx = std::move(ctx).Share()](
                   boost::system::result<token::KeyEvents, std::string> done) {
    const std::string peer = ctx->connection().peer.to_string();
    if (!done) {
      spdlog::error("admin: key rotation asked by {} failed: {}", peer, done.error());
      http::Response res = ctx->ErrorResponse(http::ApiError::kUnavailable,
                                              "the key could not be rotated: " + done.error());
      res.keep_alive(false);
      return ctx->Finish(std::move(res));
    }
    const std::string kid = done->created.value_or("");
    note.after = kid;
    spdlog::info("admin: signing key rotated by {}: new key {}, retired {}", peer, kid,
                 done->retired.value_or("none"));
    std::string body = R"({"kid":)";
    http::AppendJsonString(body, kid);
    body += R"(,"retired":)";
    if (done->retired) {
      http::AppendJsonString(body, *done->retired);
    } else {
      body += "null";
    }
    body += R"(,"jwks":)";
    body += keys_.ring->Current().jwks;
    body += "}";
    ctx->Json(http::status::ok, std::move(body));
  });
}

std::optional<http::Response> AdminApi::EndSession(http::RoomEntry& room, std::string_view session,
                                                   http::RequestContext& ctx, AuditRecord& note) {
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  const bool digits = !session.empty() && session.size() <= 20 &&
                      session.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) {
    auto [end, ec] = std::from_chars(session.data(), session.data() + session.size(), ticket);
    if (ec != std::errc{} || end != session.data() + session.size()) {
      return ctx.ErrorResponse(http::ApiError::kBadRequest, "the ticket number is too large");
    }
    incarnation = room.state->incarnation();
  } else if (!token::ParseSessionId(session, incarnation, ticket)) {
    return ctx.ErrorResponse(
        http::ApiError::kBadRequest,
        "a session is named by its token's jti (<16 hex digits>.<ticket>) or by its "
        "ticket number");
  }
  // A jti of an earlier lifetime of the room's state, or ticket 0 (a fail_open admission),
  // names no session that exists now.
  if (ticket == 0 || incarnation != room.state->incarnation()) {
    return ctx.ErrorResponse(http::ApiError::kSessionNotFound, "no such session");
  }
  note = {.room = room.state->id(), .action = "sessions.end", .before = std::to_string(ticket)};
  room.state->Leave(ticket, [ctx = std::move(ctx).Share(), id = room.state->id(), ticket,
                             stats = stats_](boost::system::result<bool> ended) {
    if (!ended) {
      spdlog::error("admin: session {} of room {} not ended: {}", ticket, id,
                    ended.error().message());
      http::Response res = ctx->ErrorResponse(http::ApiError::kUnavailable,
                                              "the session could not be ended; try again");
      res.keep_alive(false);
      return ctx->Finish(std::move(res));
    }
    if (!*ended) return ctx->Error(http::ApiError::kSessionNotFound, "no such session");
    if (stats != nullptr) stats->recorder().Room(id).EndedByOperator();
    spdlog::info("admin: session {} of room {} ended by {}", ticket, id,
                 ctx->connection().peer.to_string());
    ctx->Finish(ctx->EmptyResponse(http::status::no_content));
  });
  return std::nullopt;
}

void AdminApi::EndAllSessions(http::RoomEntry& room, http::RequestContext& ctx, AuditRecord& note) {
  note = {.room = room.state->id(),
          .action = "sessions.end_all",
          .before = fmt::format(R"({{"active":{}}})", room.state->Figures().active)};
  // `note` lives as long as the context's answer callback, which the continuation holds.
  room.state->LeaveAll([&note, ctx = std::move(ctx).Share(), id = room.state->id(),
                        stats = stats_](boost::system::result<std::uint64_t> ended) {
    if (!ended) {
      spdlog::error("admin: the sessions of room {} were not all ended: {}", id,
                    ended.error().message());
      http::Response res =
          ctx->ErrorResponse(http::ApiError::kUnavailable,
                             "the sessions could not all be ended (some may have); try again");
      res.keep_alive(false);
      return ctx->Finish(std::move(res));
    }
    note.after = fmt::format(R"({{"ended":{}}})", *ended);
    if (stats != nullptr && *ended > 0) stats->recorder().Room(id).EndedByOperator(*ended);
    spdlog::info("admin: every session of room {} ended by {}: {} ended", id,
                 ctx->connection().peer.to_string(), *ended);
    std::string body = R"({"room":)";
    http::AppendJsonString(body, id);
    fmt::format_to(std::back_inserter(body), R"(,"ended":{}}})", *ended);
    ctx->Json(http::status::ok, std::move(body));
  });
}

http::Response AdminApi::GetPolicy(http::RoomEntry& room, const http::RequestContext& ctx) {
  std::string body = RenderPolicy(room.state->id(), room.state->policy());
  if (control_ != nullptr) {
    // The limits in force, then who or what set them last.
    body.insert(body.size() - 1, control_->PolicyControl(room.state->id()));
  }
  return ctx.JsonResponse(http::status::ok, std::move(body));
}

std::optional<http::Response> AdminApi::PutPolicy(http::RoomEntry& room, http::RequestContext& ctx,
                                                  AuditRecord& note) {
  std::variant<core::Policy, http::Response> change = PolicyChange(room, ctx);
  if (auto* refused = std::get_if<http::Response>(&change)) return std::move(*refused);
  const core::Policy& next = std::get<core::Policy>(change);
  const std::string rendered = RenderPolicy(room.state->id(), next);
  std::string who = note.operator_name;
  note = {.operator_name = who,
          .room = room.state->id(),
          .action = "policy",
          .before = RenderPolicy(room.state->id(), room.state->policy()),
          .after = rendered};
  room.state->SetPolicy(next, [ctx = std::move(ctx).Share(), rendered, id = room.state->id(),
                               before = room.state->policy(), next, control = control_,
                               who = std::move(who)](boost::system::result<void> done) {
    if (!done) {
      spdlog::error("admin: policy of room {} not changed: {}", id, done.error().message());
      http::Response res = ctx->ErrorResponse(http::ApiError::kUnavailable,
                                              "the change could not be stored; try again");
      res.keep_alive(false);
      return ctx->Finish(std::move(res));
    }
    spdlog::info("admin: policy of room {} changed by {}: {}", id,
                 ctx->connection().peer.to_string(), rendered);
    // The operator's change wins: the room's controller holds off.
    if (control != nullptr) {
      control->OperatorSet(id, who + "@" + ctx->connection().peer.to_string(), before, next);
    }
    ctx->Json(http::status::ok, rendered);
  });
  return std::nullopt;
}

std::variant<core::Policy, http::Response> AdminApi::PolicyChange(http::RoomEntry& room,
                                                                  const http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  // The refusal; the change is not made.
  auto reject = [&](std::string_view why) -> std::variant<core::Policy, http::Response> {
    return ctx.ErrorResponse(http::ApiError::kBadRequest, why);
  };
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(req.body(), ec);
  if (ec) return reject("body is not valid JSON");
  const boost::json::object* obj = doc.if_object();
  if (obj == nullptr) return reject("body must be a JSON object");

  core::Policy next = room.state->policy();
  for (const auto& [key, value] : *obj) {
    // A copy, not the binding: clang 14 (the fuzz build) cannot capture structured bindings.
    const std::string_view name = key;
    auto bad = [&](std::string_view why) { return reject(fmt::format("{}: {}", name, why)); };
    if (key == "max_active" || key == "burst" || key == "queue_limit") {
      const std::optional<std::int64_t> n = WholeNumber(value);
      if (!n) return bad("must be a whole number");
      (key == "max_active" ? next.max_active : key == "burst" ? next.burst : next.queue_limit) = *n;
    } else if (key == "admit_rate") {
      if (!value.is_number()) return bad("must be a number");
      next.admit_rate = value.to_number<double>();
    } else if (key == "mode") {
      const boost::json::string* s = value.if_string();
      const std::optional<core::Mode> mode =
          s ? core::ParseMode(std::string_view(*s)) : std::nullopt;
      if (!mode) return bad("must be one of fifo, passthrough, reject, pause");
      next.mode = *mode;
    } else if (key == "session_timeout" || key == "session_max") {
      // A duration as the configuration writes it ("10m", "90s"), or a number of seconds.
      std::optional<std::chrono::milliseconds> d;
      if (const boost::json::string* s = value.if_string()) {
        d = util::ParseDuration(std::string_view(*s));
      } else if (const std::optional<std::int64_t> n = WholeNumber(value);
                 n && *n >= 0 && *n <= 7 * 86'400) {
        d = std::chrono::seconds(*n);
      }
      if (!d) return bad("must be a duration (\"90s\", \"10m\", \"2h\") or whole seconds");
      (key == "session_timeout" ? next.session_timeout : next.session_max) = *d;
    } else if (key == "abandon_after_polls") {
      // Polls of silence that abandon a waiting ticket; 0: never.
      const std::optional<std::int64_t> n = WholeNumber(value);
      if (!n || *n < 0 || *n > core::kMaxAbandonAfterPolls) {
        return bad("must be a whole number from 0 (never) to 1000");
      }
      next.abandon_after_polls = static_cast<std::uint32_t>(*n);
    } else {
      return bad(
          "unknown key (settable: max_active, admit_rate, burst, mode, queue_limit, "
          "session_timeout, session_max, abandon_after_polls)");
    }
  }
  if (const auto problems = core::ValidatePolicy(next); !problems.empty()) {
    std::string message;
    for (const core::PolicyProblem& problem : problems) {
      if (!message.empty()) message += "; ";
      message += problem.key + ": " + problem.message;
    }
    return reject(message);
  }
  return next;
}

http::Response AdminApi::ListRooms(const http::RequestContext& ctx) {
  std::string body = R"({"rooms":[)";
  bool first = true;
  for (const auto& entry : rooms_.entries()) {
    const store::RoomFigures f = entry->state->Figures();
    if (!first) body.push_back(',');
    first = false;
    body += R"({"policy":)";
    body += RenderPolicy(entry->state->id(), entry->state->policy());
    fmt::format_to(std::back_inserter(body),
                   R"(,"queueSize":{},"active":{},"calledUnclaimed":{},"frontier":{},)"
                   R"("lastTicket":{},"advanceRate":{:.3f},"scope":"{}","nodes":{})",
                   f.queue_size, f.active, f.called_unclaimed, f.frontier, f.last_issued,
                   f.advance_rate, f.cluster_wide ? "cluster" : "node", f.nodes);
    if (f.newcomer_eta_seconds) {
      fmt::format_to(std::back_inserter(body), R"(,"newcomerEtaSeconds":{})",
                     *f.newcomer_eta_seconds);
    }
    if (!f.tick_holder.empty()) {
      body += R"(,"tickHolder":)";
      http::AppendJsonString(body, f.tick_holder);
    }
    body.push_back('}');
  }
  body += "]}";
  return ctx.JsonResponse(http::status::ok, std::move(body));
}

http::Response AdminApi::Metrics(const http::RequestContext& ctx) {
  std::string out;
  out.reserve(16 * 1024);
  std::vector<std::pair<std::string, store::RoomFigures>> figures;
  // One version of the room list for the whole page, whatever a reload does meanwhile.
  const std::vector<http::RoomEntry*>& entries = rooms_.entries();
  for (const http::RoomEntry* entry : entries) {
    figures.emplace_back(analytics::EscapeLabel(entry->state->id()), entry->state->Figures());
  }
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    analytics::AppendHelp(out, name, type, help);
    for (std::size_t i = 0; i < figures.size(); ++i) {
      analytics::AppendSample(out, name, fmt::format("room=\"{}\"", figures[i].first),
                              value(i, figures[i].second));
    }
  };
  using F = const store::RoomFigures&;
  family("vwr_room_joins_total", "counter", "Joins that got a new ticket.",
         [](std::size_t, F f) { return f.counters.joins; });
  family("vwr_room_rejoins_total", "counter",
         "Joins by a userId that held a live ticket, answered with that ticket.",
         [](std::size_t, F f) { return f.counters.rejoins; });
  family("vwr_room_rejected_total", "counter", "Joins refused because the room is closed.",
         [](std::size_t, F f) { return f.counters.rejected; });
  family("vwr_room_full_total", "counter", "Joins refused because the queue is full.",
         [](std::size_t, F f) { return f.counters.full; });
  family("vwr_room_admissions_total", "counter", "Sessions created (admissions).",
         [](std::size_t, F f) { return f.counters.admissions; });
  family("vwr_room_immediate_admissions_total", "counter", "Admissions without waiting.",
         [](std::size_t, F f) { return f.counters.immediate; });
  family("vwr_room_bypass_admissions_total", "counter",
         "Sessions admitted without a place in line (entry pass, allow list); not in "
         "vwr_room_admissions_total.",
         [](std::size_t, F f) { return f.counters.bypass; });
  family("vwr_room_polls_total", "counter", "Status polls.",
         [&](std::size_t i, F) { return entries[i]->traffic.polls.Value(); });
  family("vwr_room_entry_pass_joins_total", "counter",
         "Joins admitted at once by an entry pass (this node's).",
         [&](std::size_t i, F) { return entries[i]->traffic.entry_pass_joins.Value(); });
  family("vwr_room_pow_refused_total", "counter",
         "Joins refused for their proof of work: missing, invalid, expired or replayed (this "
         "node's).",
         [&](std::size_t i, F) { return entries[i]->traffic.pow_refused.Value(); });
  family("vwr_room_leaves_total", "counter", "Sessions ended by leave.",
         [](std::size_t, F f) { return f.counters.leaves; });
  family("vwr_room_no_shows_total", "counter", "Called tickets not claimed within claim_grace.",
         [](std::size_t, F f) { return f.counters.no_shows; });
  family("vwr_room_expired_sessions_total", "counter", "Sessions ended by idleness.",
         [](std::size_t, F f) { return f.counters.expired_sessions; });
  family("vwr_room_abandoned_total", "counter",
         "Waiting tickets passed without a call: they had stopped polling.",
         [](std::size_t, F f) { return f.counters.abandoned; });
  family("vwr_room_queue_size", "gauge", "People waiting.",
         [](std::size_t, F f) { return f.queue_size; });
  family("vwr_room_active_sessions", "gauge", "Admitted sessions.",
         [](std::size_t, F f) { return static_cast<std::uint64_t>(f.active); });
  family("vwr_room_called_unclaimed", "gauge", "Called tickets not yet claimed.",
         [](std::size_t, F f) { return static_cast<std::uint64_t>(f.called_unclaimed); });
  family("vwr_room_frontier", "gauge", "Highest ticket called.",
         [](std::size_t, F f) { return f.frontier; });
  family("vwr_room_last_ticket", "gauge", "Highest ticket issued.",
         [](std::size_t, F f) { return f.last_issued; });
  family("vwr_room_advance_rate", "gauge", "Observed admissions per second (EWMA).",
         [](std::size_t, F f) { return f.advance_rate; });
  family("vwr_room_max_active", "gauge", "Policy: concurrent sessions allowed.",
         [&](std::size_t i, F) {
           return static_cast<std::uint64_t>(entries[i]->state->policy().max_active);
         });
  family("vwr_room_admit_rate", "gauge", "Policy: admissions per second.",
         [&](std::size_t i, F) { return entries[i]->state->policy().admit_rate; });
  family("vwr_room_nodes", "gauge",
         "Nodes serving the room: 1 on the embedded store; on Redis, the nodes that ticked it "
         "within three lease periods.",
         [](std::size_t, F f) { return static_cast<std::uint64_t>(f.nodes); });
  metrics_.Render(out);
  if (guard_ != nullptr) guard_->RenderMetrics(out);
  if (stats_ != nullptr) stats_->RenderPrometheus(out);
  if (control_ != nullptr) control_->RenderMetrics(out);
  http::Response res = ctx.EmptyResponse(http::status::ok);
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.body() = std::move(out);
  res.prepare_payload();
  return res;
}

}  // namespace vwr::admin
