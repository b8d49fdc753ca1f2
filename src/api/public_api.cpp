// PublicApi: routing, naming who a request is for, the status poll, room info, challenges, the
// JWKS and the answers' encoding (the hot path). Joins are in join.cpp; sessions (heartbeat,
// leave, giving back a place, verify) in sessions.cpp.
#include "api/public_api.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <variant>

#include "core/pacing.hpp"
#include "http/answer_body.hpp"
#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "http/return_url.hpp"
#include "http/session_standing.hpp"
#include "token/identity.hpp"
#include "token/session_id.hpp"
#include "util/random.hpp"

namespace vwr::api {
PublicApi::PublicApi(http::RoomDirectory& rooms, const token::TicketCodec& tickets,
                     const token::AdmissionTokenSigner& tokens,
                     const token::SecretKey& identity_key, const util::Clock& clock,
                     http::ApiMetrics& metrics, PublicApiOptions options)
    : rooms_(rooms),
      tickets_(tickets),
      tokens_(tokens),
      pseudonyms_(identity_key),
      clock_(clock),
      metrics_(metrics),
      fail_open_log_(clock, 1),
      sign_log_(clock, 1),
      options_(std::move(options)),
      pipeline_(clock, metrics,
                {.trusted_proxies = options_.trusted_proxies, .guard = options_.guard}),
      passes_(tokens.ring()),
      challenges_(identity_key),
      activity_(clock) {
  // /api/v1/verify answers 401 to every visitor not (yet) admitted.
  pipeline_.SetErrorLinesPerSecond(http::Endpoint::kVerify, 5);
}

std::int64_t PublicApi::WallSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
      .count();
}

void PublicApi::Serve(const http::Request& request, const http::ConnectionInfo& connection,
                      http::Respond respond) {
  http::RequestContext ctx = pipeline_.Begin(request, connection, std::move(respond));
  Route(ctx);
}

void PublicApi::Fail(http::RequestContext& ctx, const boost::system::error_code& error) {
  http::Response res = ctx.ErrorResponse(
      http::ApiError::kUnavailable, error == store::StoreError::kNotDurable
                                        ? "the change could not be stored; try again"
                                        : "the waiting room cannot reach its store; try again");
  res.keep_alive(false);
  ctx.Finish(std::move(res));
}

void PublicApi::FailOpenOrClosed(http::RoomEntry& room, http::RequestContext& ctx,
                                 const boost::system::error_code& error,
                                 const std::string& identity) {
  if (!room.state->fail_open()) return Fail(ctx, error);
  // fail_open: the store cannot say who is next, so everyone goes through. The token names no
  // session (ticket 0): heartbeats answer that it has ended, and the protected service, which
  // checks the token alone, lets its holder in until it expires.
  std::uint64_t suppressed = 0;
  if (fail_open_log_.Allow(suppressed)) {
    spdlog::warn("room {}: the store failed ({}); admitting (failure_policy fail_open){}",
                 room.state->id(), error.message(),
                 suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  }
  store::TicketAnswer answer;
  answer.status = core::TicketStatus::kAdmitted;
  answer.admitted_unix = WallSeconds();
  answer.identity = identity;
  AnswerTicket(ctx, *room.state, answer, "");
}

const PublicApi::RoomAction PublicApi::kRoomActions[] = {
    {"", http::verb::get, http::Endpoint::kRoomInfo, nullptr, &PublicApi::RoomInfo},
    {"join", http::verb::post, http::Endpoint::kJoin, &PublicApi::NameJoiner, &PublicApi::Join},
    {"status", http::verb::get, http::Endpoint::kStatus, &PublicApi::NameTicket,
     &PublicApi::Status},
    {"events", http::verb::get, http::Endpoint::kEvents, &PublicApi::NameTicket,
     &PublicApi::Events},
    {"challenge", http::verb::get, http::Endpoint::kChallenge, nullptr, &PublicApi::Challenge},
    {"heartbeat", http::verb::post, http::Endpoint::kHeartbeat, nullptr, &PublicApi::Heartbeat},
    {"leave", http::verb::post, http::Endpoint::kLeave, &PublicApi::NameLeaver, &PublicApi::Leave},
};

void PublicApi::Route(http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  const std::string_view path = http::PathOf(req.target());
  if (path == "/.well-known/jwks.json") {
    ctx.set_endpoint(http::Endpoint::kJwks);
    if (!http::IsRead(req)) {
      http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET");
      res.set(http::field::allow, "GET");
      return ctx.Finish(std::move(res));
    }
    return ctx.Finish(Jwks(ctx));
  }
  if (path == "/api/v1/verify") {
    ctx.set_endpoint(http::Endpoint::kVerify);
    return Verify(ctx);
  }
  const http::PathSegments parts = http::SplitPath(path);
  // api / v1 / rooms / {room} [/ action]
  if (parts.size() < 4 || parts.size() > 5 || parts[0] != "api" || parts[1] != "v1" ||
      parts[2] != "rooms" || parts[3].empty()) {
    return ctx.Error(http::ApiError::kNotFound, "no such endpoint");
  }
  const std::string_view name = parts.size() == 5 ? parts[4] : std::string_view{};
  const RoomAction* action = nullptr;
  for (const RoomAction& candidate : kRoomActions) {
    if (candidate.name != name) continue;
    action = &candidate;
    break;
  }
  if (action == nullptr) return ctx.Error(http::ApiError::kNotFound, "no such endpoint");
  ctx.set_endpoint(action->endpoint);
  const bool head_ok = action->method == http::verb::get && req.method() == http::verb::head;
  if (req.method() != action->method && !head_ok) {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed,
                                           fmt::format("use {}", http::to_string(action->method)));
    res.set(http::field::allow, http::to_string(action->method));
    return ctx.Finish(std::move(res));
  }
  http::RoomEntry* room = rooms_.Find(parts[3]);
  if (room == nullptr) return ctx.Error(http::ApiError::kRoomNotFound, "no such room");
  ctx.set_room(room->state->id());

  Caller caller;
  if (action->who != nullptr && !(this->*action->who)(*room, ctx, caller)) return;
  // Abuse protection: every action on a room is counted, once it has named its caller and
  // before it costs anything more (a proof check, a store call). A blocked caller gets 429.
  const guard::GuardVerdict verdict =
      ctx.Guard(room->state->id(), caller.identity, caller.verified, caller.kind);
  if (verdict.action == guard::GuardAction::kBlock) {
    return ctx.Finish(ctx.BlockedResponse(verdict));
  }
  caller.bypass = verdict.action == guard::GuardAction::kBypass;
  (this->*action->work)(*room, ctx, caller);
}

bool PublicApi::NameJoiner(http::RoomEntry& /*room*/, http::RequestContext& ctx, Caller& caller) {
  JoinRequest& body = caller.join;
  if (std::optional<http::Response> invalid = JoinBody(ctx, body)) {
    ctx.Finish(std::move(*invalid));
    return false;
  }
  if (options_.user_identity != nullptr) {
    if (std::optional<http::Response> refused = ResolveUser(ctx, body)) {
      ctx.Finish(std::move(*refused));
      return false;
    }
  }
  // The guard is told the verified user, else the hint (whose lists an operator may fill).
  // Only a verified user is counted per identity: a userId is the client's word (counted by
  // address only; see GuardRequest), though an operator's list entries hold for it.
  caller.verified = !body.verified_user.empty();
  caller.identity = caller.verified ? body.verified_user : body.user_id;
  caller.kind = guard::GuardRequestKind::kJoin;
  // For the traffic analysis' breakdowns (which page, which user).
  ctx.KeepVisitor(std::move(body.page_url), std::string(caller.identity));
  return true;
}

bool PublicApi::NameTicket(http::RoomEntry& /*room*/, http::RequestContext& ctx, Caller& caller) {
  const http::Request& req = ctx.request();
  std::string_view ticket = http::FieldValue(req, kTicketHeader);
  if (ticket.empty()) {
    std::optional<std::string> q = http::QueryParam(http::QueryOf(req.target()), "ticket");
    if (q && !q->empty()) {
      caller.ticket_from_query = std::move(*q);
      ticket = caller.ticket_from_query;
    }
  }
  // A ticket is one place in line: its polls are counted as one identity's. It is signed, so
  // only its holder can send it (a forged one counts against itself, then fails to decode).
  // Without one, the address alone is counted (and Status refuses the poll).
  caller.identity = ticket;
  caller.verified = !ticket.empty();
  return true;
}

bool PublicApi::NameLeaver(http::RoomEntry& /*room*/, http::RequestContext& ctx, Caller& caller) {
  const http::Request& req = ctx.request();
  if (!http::BearerToken(req[http::field::authorization]).empty()) return true;
  // Counted as the ticket's polls are: one place, one identity (a forged one counts against
  // itself, then fails to decode).
  caller.identity = http::FieldValue(req, kTicketHeader);
  caller.verified = !caller.identity.empty();
  return true;
}

void PublicApi::Status(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller) {
  const std::string_view ticket = caller.identity;
  if (ticket.empty()) {
    return ctx.Error(http::ApiError::kBadRequest,
                     "a ticket is required (header X-VWR-Ticket or query ticket=)");
  }
  const std::optional<token::TicketClaims> claims = tickets_.Decode(room.state->id(), ticket);
  if (!claims) {
    return ctx.Error(http::ApiError::kInvalidTicket, "the ticket is not valid for this room");
  }
  room.traffic.polls.Add();
  store::TicketAnswer answer;
  if (room.state->incarnation() == 0) {
    // A shared store not reached yet since start: nobody can tell where this ticket stands.
    return FailOpenOrClosed(room, ctx, store::StoreError::kUnavailable, "");
  }
  if (claims->incarnation != room.state->incarnation()) {
    // Genuine, but issued before this room's state was reset: its place no longer exists.
    answer.status = core::TicketStatus::kExpired;
    answer.ticket = claims->number;
  } else if (!room.state->StatusCached(claims->number, claims->frontier_at_join, answer)) {
    // Called, admitted or ended: the store decides, and may claim the ticket.
    room.state->Status(claims->number, claims->frontier_at_join,
                       [this, &room, ctx = std::move(ctx).Share(), ticket = std::string(ticket)](
                           boost::system::result<store::TicketAnswer> decided) mutable {
                         if (!decided) return FailOpenOrClosed(room, *ctx, decided.error(), "");
                         AnswerTicket(*ctx, *room.state, *decided, ticket);
                       });
    return;
  }
  AnswerTicket(ctx, *room.state, answer, ticket);
}

void PublicApi::RoomInfo(http::RoomEntry& room, http::RequestContext& ctx, Caller& /*caller*/) {
  const store::RoomFigures f = room.state->Figures();
  const core::Policy& p = room.state->policy();
  std::string body = R"({"room":)";
  http::AppendJsonString(body, room.state->id());
  fmt::format_to(std::back_inserter(body),
                 R"(,"mode":"{}","queueSize":{},"active":{},"maxActive":{},"admitRate":{},)",
                 core::ModeName(p.mode), f.queue_size, f.active, p.max_active, p.admit_rate);
  if (f.newcomer_eta_seconds) {
    fmt::format_to(std::back_inserter(body), R"("etaSeconds":{},"etaRange":[{},{}]}})",
                   *f.newcomer_eta_seconds,
                   f.newcomer_eta_low_seconds.value_or(*f.newcomer_eta_seconds),
                   f.newcomer_eta_high_seconds.value_or(*f.newcomer_eta_seconds));
  } else {
    body += R"("etaSeconds":null,"etaRange":null})";
  }
  ctx.Json(http::status::ok, std::move(body));
}

void PublicApi::Challenge(http::RoomEntry& room, http::RequestContext& ctx, Caller& /*caller*/) {
  token::PowSetting setting;
  const token::PowSettings& pow = pow_.Get();
  if (const auto it = pow.find(room.state->id()); it != pow.end()) setting = it->second;
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
          .count();
  const std::int64_t expires_ms = now_ms + setting.lifetime.count();
  // A room without proof of work still answers (difficulty 0): a client may ask before every
  // join, and the join accepts the challenge or no challenge alike.
  std::string body = R"({"challenge":)";
  http::AppendJsonString(body, challenges_.Issue(room.state->id(), setting.difficulty, expires_ms));
  fmt::format_to(std::back_inserter(body), R"(,"difficulty":{},"expiresAtMs":{},"ttlMs":{}}})",
                 setting.difficulty, expires_ms, expires_ms - now_ms);
  ctx.Json(http::status::ok, std::move(body));
}

http::Response PublicApi::Jwks(const http::RequestContext& ctx) {
  const token::KeyRing::Snapshot& ring = tokens_.ring().Current();
  http::Response res = ctx.EmptyResponse(http::status::ok);
  // Verifiers may keep it a minute; one that meets an unknown kid (a rotation within that
  // minute) fetches it again. Retired keys stay listed until their tokens have expired.
  res.set(http::field::cache_control, "public, max-age=60");
  res.set(http::field::etag, ring.jwks_etag);
  if (const std::string_view match = ctx.request()[http::field::if_none_match];
      !match.empty() && match.find(ring.jwks_etag) != std::string_view::npos) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, "application/json");
  res.body() = ring.jwks;
  res.prepare_payload();
  return res;
}

void PublicApi::AnswerTicket(http::RequestContext& ctx, store::RoomState& room,
                             const store::TicketAnswer& a, std::string_view ticket,
                             const PassGrant* presented) {
  if (a.status != core::TicketStatus::kAdmitted) {
    return ctx.Json(http::status::ok, RenderAnswer(room, a, ticket, {}, nullptr));
  }
  const std::int64_t now = WallSeconds();
  std::int64_t lifetime_s = 0;
  const auto token = IssueToken(room, a, now, lifetime_s);
  if (!token) return SigningFailed(ctx, room, "admission token", token.error());
  std::optional<PassGrant> issued;
  if (presented == nullptr) {
    auto pass = IssuePass(room, a, now);
    if (!pass) return SigningFailed(ctx, room, "entry pass", pass.error());
    issued = std::move(*pass);
  }
  const PassGrant* pass = presented != nullptr ? presented : issued ? &*issued : nullptr;
  http::Response res =
      ctx.JsonResponse(http::status::ok, RenderAnswer(room, a, ticket, *token, pass));
  res.insert(http::field::set_cookie, http::SetCookieValue(http::kAdmissionCookiePrefix, room.id(),
                                                           *token, lifetime_s, options_.cookies));
  if (pass != nullptr) {
    res.insert(http::field::set_cookie,
               http::SetCookieValue(http::kEntryPassCookiePrefix, room.id(), pass->pass,
                                    pass->exp - now, options_.cookies));
  }
  ctx.Finish(std::move(res));
}

void PublicApi::SigningFailed(http::RequestContext& ctx, store::RoomState& room,
                              std::string_view what, token::SignError error) {
  // No signing key: the node is not ready yet (503, try again). OpenSSL failing: out of memory
  // (500). Either way the session, if one was made, stands: the ticket's next poll gets a token.
  const bool no_key = error == token::SignError::kNoSigningKey;
  std::uint64_t suppressed = 0;
  if (sign_log_.Allow(suppressed)) {
    spdlog::error("room {}: the {} of an admitted answer could not be signed ({}); answering {}{}",
                  room.id(), what, token::SignErrorName(error), no_key ? 503 : 500,
                  suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  }
  if (no_key) {
    return ctx.Error(http::ApiError::kUnavailable,
                     "no admission token can be signed yet (no signing key); try again");
  }
  ctx.Error(http::ApiError::kInternal, "the admission token could not be signed; try again");
}

std::string PublicApi::RenderAnswer(store::RoomState& room, const store::TicketAnswer& a,
                                    std::string_view ticket, std::string_view token,
                                    const PassGrant* pass) {
  // Every poll's answer is written here: the format strings are compiled (FMT_COMPILE), not
  // parsed on each call.
  const core::Policy& p = room.policy();
  // A worker's recycled body: no allocation for a poll (see http::TakeAnswerBody).
  std::string body =
      http::TakeAnswerBody(512 + token.size() + (pass != nullptr ? pass->pass.size() : 0));
  body += R"({"room":)";
  http::AppendJsonString(body, room.id());
  body += R"(,"status":")";
  body += core::TicketStatusName(a.status);
  body += R"(","ticket":)";
  if (ticket.empty()) {
    body += "null";
  } else {
    http::AppendJsonString(body, ticket);
  }
  const std::uint64_t initial = a.ticket >= a.frontier_at_join ? a.ticket - a.frontier_at_join : 0;
  std::int64_t poll_after_ms = 0;
  switch (a.status) {
    case core::TicketStatus::kWaiting:
      poll_after_ms = core::PollAfterMs(a.eta_seconds, p, util::FastUniform());
      break;
    case core::TicketStatus::kRejected:
    case core::TicketStatus::kFull:
      poll_after_ms = p.poll_max.count();  // worth trying again later, not soon
      break;
    default:
      break;
  }
  fmt::format_to(std::back_inserter(body),
                 FMT_COMPILE(R"(,"position":{},"initialPosition":{},"queueSize":{},)"), a.position,
                 initial, a.queue_size);
  if (a.eta_seconds) {
    // The range holds the real wait about eight times in ten (core::WaitModel).
    fmt::format_to(std::back_inserter(body), FMT_COMPILE(R"("etaSeconds":{},"etaRange":[{},{}],)"),
                   *a.eta_seconds, a.eta_low_seconds.value_or(*a.eta_seconds),
                   a.eta_high_seconds.value_or(*a.eta_seconds));
  } else if (a.status == core::TicketStatus::kAdmitted) {
    body += R"("etaSeconds":0,"etaRange":[0,0],)";
  } else {
    body += R"("etaSeconds":null,"etaRange":null,)";
  }
  fmt::format_to(std::back_inserter(body), FMT_COMPILE(R"("pollAfterMs":{})"), poll_after_ms);
  if (a.status == core::TicketStatus::kAdmitted) {
    body += R"(,"token":)";
    http::AppendJsonString(body, token);
    fmt::format_to(std::back_inserter(body), FMT_COMPILE(R"(,"sessionTimeoutSeconds":{})"),
                   std::chrono::duration_cast<std::chrono::seconds>(p.session_timeout).count());
    // The cap on time inside (rooms[].session_max): when the session ends however active, so
    // that the page can show the time left and warn before the end. null: no cap.
    const std::int64_t session_max_s =
        std::chrono::duration_cast<std::chrono::seconds>(p.session_max).count();
    if (session_max_s > 0) {
      const std::int64_t admitted = a.admitted_unix > 0 ? a.admitted_unix : WallSeconds();
      fmt::format_to(std::back_inserter(body),
                     FMT_COMPILE(R"(,"sessionMaxSeconds":{},"sessionEndsAt":{})"), session_max_s,
                     admitted + session_max_s);
    } else {
      body += R"(,"sessionMaxSeconds":null,"sessionEndsAt":null)";
    }
    if (pass != nullptr) {
      body += R"(,"entryPass":)";
      http::AppendJsonString(body, pass->pass);
      fmt::format_to(std::back_inserter(body), FMT_COMPILE(R"(,"entryPassExpires":{})"), pass->exp);
    }
  }
  body.push_back('}');
  return body;
}

std::chrono::seconds PublicApi::TokenLifetime(store::RoomState& room) const {
  const TokenLifetimes& lifetimes = token_lifetimes_.Get();
  const auto configured = lifetimes.find(room.id());
  return configured != lifetimes.end()
             ? configured->second
             : std::chrono::duration_cast<std::chrono::seconds>(room.policy().session_timeout);
}

std::int64_t PublicApi::TokenExpiry(store::RoomState& room, std::int64_t now,
                                    std::int64_t admitted_unix,
                                    std::chrono::seconds lifetime) const {
  std::int64_t exp = now + lifetime.count();
  const auto session_max =
      std::chrono::duration_cast<std::chrono::seconds>(room.policy().session_max).count();
  // The cap on time inside: no token of the session outlives it, whatever its lifetime.
  if (session_max > 0 && admitted_unix > 0) exp = std::min(exp, admitted_unix + session_max);
  return exp;
}

boost::system::result<std::string, token::SignError> PublicApi::IssueToken(
    store::RoomState& room, const store::TicketAnswer& a, std::int64_t now,
    std::int64_t& lifetime_s) {
  token::AdmissionClaims claims;
  claims.iss = options_.issuer;
  claims.aud = room.id();
  claims.sub = SubjectOf(a.identity);
  // Issued now, not at admission: a client that polls its admitted ticket's status gets a fresh
  // token for its session, and so can stay beyond one token's lifetime while the session lasts.
  claims.iat = now;
  claims.nbf = now;
  const std::int64_t admitted = a.admitted_unix > 0 ? a.admitted_unix : now;
  claims.auth_time = admitted;
  claims.exp = TokenExpiry(room, now, admitted, TokenLifetime(room));
  lifetime_s = std::max<std::int64_t>(0, claims.exp - now);
  claims.jti = token::SessionId(room.incarnation(), a.ticket);
  return tokens_.Issue(claims);
}

boost::system::result<std::optional<PublicApi::PassGrant>, token::SignError> PublicApi::IssuePass(
    store::RoomState& room, const store::TicketAnswer& a, std::int64_t now) {
  // Only a place in line earns a pass: not a fail_open admission (ticket 0, nobody knows who
  // was next), and not a session admitted by a pass (bypass tickets), whose pass would otherwise
  // be renewed by every re-entry.
  if (a.ticket == 0 || a.ticket >= core::kBypassTicketBase) return std::optional<PassGrant>();
  const EntryPasses& passes = entry_passes_.Get();
  const auto configured = passes.find(room.id());
  if (configured == passes.end()) return std::optional<PassGrant>();
  // From the first admission, whenever the answer is given: later polls never extend it.
  const std::int64_t admitted = a.admitted_unix > 0 ? a.admitted_unix : now;
  const std::int64_t exp = admitted + configured->second.count();
  if (exp <= now) return std::optional<PassGrant>();
  token::EntryPassClaims claims;
  claims.iss = options_.issuer;
  claims.aud = room.id();
  claims.sub = SubjectOf(a.identity);
  claims.sid = token::SessionId(room.incarnation(), a.ticket);
  claims.iat = admitted;
  claims.exp = exp;
  auto pass = passes_.Issue(claims);
  if (!pass) return pass.error();
  return std::optional<PassGrant>(PassGrant{std::move(*pass), exp});
}

// ---- /api/v1/verify ----

}  // namespace vwr::api
