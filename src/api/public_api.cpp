#include "api/public_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <variant>

#include "core/pacing.hpp"
#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "http/return_url.hpp"
#include "http/session_standing.hpp"
#include "token/identity.hpp"
#include "token/session_id.hpp"
#include "util/random.hpp"

namespace vwr::api {
namespace {

bool IsRead(const http::Request& req) {
  return req.method() == http::verb::get || req.method() == http::verb::head;
}

// A header value fit to be sent back (X-VWR-Subject): visible ASCII only.
bool IsHeaderSafe(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// A Host header value fit to be put into a URL: a name, an IPv4 or a bracketed IPv6 address,
// with an optional port. Nothing that could end the authority early ('/', '@', '?', '#', '\').
bool IsUrlHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
  });
}

// A request target as nginx's $request_uri gives it: a path from the root, no spaces or
// control characters.
bool IsUrlPath(std::string_view uri) {
  if (uri.empty() || uri.front() != '/' || uri.size() > http::kMaxReturnUrlBytes) return false;
  return std::none_of(uri.begin(), uri.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() && std::equal(a.begin(), a.end(), lower.begin(),
                                                [](char x, char y) { return Lower(x) == y; });
}

}  // namespace

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
      challenges_(identity_key) {
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
    {"challenge", http::verb::get, http::Endpoint::kChallenge, nullptr, &PublicApi::Challenge},
    {"heartbeat", http::verb::post, http::Endpoint::kHeartbeat, nullptr, &PublicApi::Heartbeat},
    {"leave", http::verb::post, http::Endpoint::kLeave, &PublicApi::NameLeaver, &PublicApi::Leave},
};

void PublicApi::Route(http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  const std::string_view path = http::PathOf(req.target());
  if (path == "/.well-known/jwks.json") {
    ctx.set_endpoint(http::Endpoint::kJwks);
    if (!IsRead(req)) {
      http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET");
      res.set(http::field::allow, "GET");
      return ctx.Finish(std::move(res));
    }
    return ctx.Finish(Jwks(ctx));
  }
  if (path == "/api/v1/verify") {
    ctx.set_endpoint(http::Endpoint::kVerify);
    return ctx.Finish(Verify(ctx));
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
  std::string_view ticket = req[kTicketHeader];
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
  caller.identity = req[kTicketHeader];
  caller.verified = !caller.identity.empty();
  return true;
}

void PublicApi::Join(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller) {
  JoinRequest& body = caller.join;
  // The allow list needs no proof and no place.
  if (caller.bypass) return JoinBypass(room, ctx, std::move(body.identity));

  // A ticket of this room's state: the caller's own place, given back (a reload).
  std::string ticket_text(ctx.request()[kTicketHeader]);
  if (!ticket_text.empty() && room.state->incarnation() != 0) {
    const std::optional<token::TicketClaims> claims =
        tickets_.Decode(room.state->id(), ticket_text);
    if (claims && claims->incarnation == room.state->incarnation()) {
      return Rejoin(room, ctx, std::move(body), claims->number, claims->frontier_at_join,
                    std::move(ticket_text));
    }
  }
  JoinFresh(room, ctx, std::move(body));
}

std::optional<http::Response> PublicApi::ResolveUser(const http::RequestContext& ctx,
                                                     JoinRequest& body) {
  const http::Request& req = ctx.request();
  std::string_view token = req[kUserTokenHeader];
  if (token.empty()) token = body.user_token;
  if (token.empty()) token = http::BearerToken(req[http::field::authorization]);
  if (token.empty() && !options_.user_token_cookie.empty()) {
    token = http::FindCookie(req, options_.user_token_cookie, "");
  }
  if (token.empty()) {
    if (!options_.user_token_required) return std::nullopt;  // an anonymous join
    return ctx.ErrorResponse(
        http::ApiError::kUserTokenRequired,
        "this room admits signed-in users: send the platform's user token (header "
        "X-VWR-User-Token, or \"userToken\" in the body)");
  }
  auto user = options_.user_identity->Verify(token, WallSeconds());
  if (!user) {
    if (user.error() == token::UserTokenError::kNoKeys) {
      return ctx.ErrorResponse(http::ApiError::kUnavailable,
                               token::UserTokenErrorMessage(user.error()));
    }
    return ctx.ErrorResponse(http::ApiError::kInvalidUserToken,
                             token::UserTokenErrorMessage(user.error()));
  }
  body.verified_user = std::move(*user);
  body.identity = pseudonyms_.Of(body.verified_user);
  return std::nullopt;
}

void PublicApi::Rejoin(http::RoomEntry& room, http::RequestContext& ctx, JoinRequest body,
                       std::uint64_t ticket, std::uint64_t frontier_at_join,
                       std::string ticket_text) {
  store::TicketAnswer cached;
  if (room.state->StatusCached(ticket, frontier_at_join, cached)) {
    return AnswerTicket(ctx, *room.state, cached, ticket_text);
  }
  room.state->Status(ticket, frontier_at_join,
                     [this, &room, ctx = std::move(ctx).Share(), body = std::move(body),
                      ticket_text = std::move(ticket_text)](
                         boost::system::result<store::TicketAnswer> decided) mutable {
                       if (!decided) {
                         return FailOpenOrClosed(room, *ctx, decided.error(), body.identity);
                       }
                       // Spent (its call lapsed, its session ended): a new place, as if it had
                       // brought none.
                       if (decided->status == core::TicketStatus::kExpired) {
                         return JoinFresh(room, *ctx, std::move(body));
                       }
                       AnswerTicket(*ctx, *room.state, *decided, ticket_text);
                     });
}

void PublicApi::JoinFresh(http::RoomEntry& room, http::RequestContext& ctx, JoinRequest body) {
  const token::PowSettings& pow = pow_.Get();
  const auto setting = pow.find(room.state->id());
  if (setting == pow.end() || setting->second.difficulty == 0) {
    return JoinChecked(room, ctx, std::move(body));
  }
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
          .count();
  const token::ChallengeCodec::Result checked = challenges_.Verify(
      room.state->id(), body.challenge, body.nonce, now_ms, setting->second.difficulty);
  if (!checked.ok) {
    room.traffic.pow_refused.Add();
    switch (checked.error) {
      case token::PowError::kRequired:
        return ctx.Error(http::ApiError::kPowRequired,
                         "this room asks a proof of work: GET the room's challenge, solve it and "
                         "join with challenge and nonce");
      case token::PowError::kExpired:
        return ctx.Error(http::ApiError::kPowExpired, "the challenge has expired; fetch a new one");
      case token::PowError::kInvalid:
        break;
    }
    return ctx.Error(http::ApiError::kPowInvalid,
                     "the proof of work does not hold for this room's challenge");
  }
  const std::int64_t issued_ms = checked.claims.expires_ms - setting->second.lifetime.count();
  if (issued_ms < pow_not_before_ms_.load(std::memory_order_relaxed)) {
    room.traffic.pow_refused.Add();
    return ctx.Error(http::ApiError::kPowExpired,
                     "the challenge was issued before this node started; fetch a new one");
  }
  // Remembered until it would be refused anyway as expired (a second of slack for the nodes'
  // clocks).
  const std::chrono::milliseconds keep(checked.claims.expires_ms - now_ms + 1000);
  std::string key = body.challenge;
  room.state->ConsumeOnce(std::move(key), keep,
                          [this, &room, ctx = std::move(ctx).Share(),
                           body = std::move(body)](boost::system::result<bool> fresh) mutable {
                            if (!fresh) return Fail(*ctx, fresh.error());
                            if (!*fresh) {
                              room.traffic.pow_refused.Add();
                              return ctx->Error(http::ApiError::kPowReplayed,
                                                "this challenge was used already; fetch a new one");
                            }
                            JoinChecked(room, *ctx, std::move(body));
                          });
}

void PublicApi::JoinChecked(http::RoomEntry& room, http::RequestContext& ctx, JoinRequest body) {
  const http::Request& req = ctx.request();
  std::string identity = std::move(body.identity);

  // An entry pass of this room lets its holder back in without queueing: the one in the body
  // (the SDK's copy), else the cookie. A pass that does not hold (expired, another room's,
  // forged, a signed user's pass presented by another user) is ignored: the join is a plain one.
  if (entry_passes_.Get().contains(room.state->id())) {
    const std::string_view candidates[] = {
        body.entry_pass, http::FindCookie(req, http::kEntryPassCookiePrefix, room.state->id())};
    for (const std::string_view presented : candidates) {
      if (presented.empty()) continue;
      auto pass = passes_.Verify(presented, WallSeconds(), room.state->id(), options_.issuer);
      if (!pass) {
        spdlog::debug("room {}: join with an entry pass that does not hold ({})", room.state->id(),
                      token::PassErrorName(pass.error()));
      } else if (!identity.empty() && SubjectOf(identity) != pass->sub) {
        spdlog::debug("room {}: join with another user's entry pass", room.state->id());
      } else {
        return JoinWithPass(room, ctx, std::move(identity), std::string(presented), *pass);
      }
    }
  }

  room.state->Join(identity, [this, &room, ctx = std::move(ctx).Share(),
                              identity](boost::system::result<store::TicketAnswer> answer) mutable {
    if (!answer) return FailOpenOrClosed(room, *ctx, answer.error(), identity);
    AnswerTicket(*ctx, *room.state, *answer, TicketOf(*room.state, *answer));
  });
}

std::string PublicApi::TicketOf(const store::RoomState& room,
                                const store::TicketAnswer& answer) const {
  if (answer.ticket == 0) return {};
  return tickets_.Encode(room.id(),
                         token::TicketClaims{.incarnation = room.incarnation(),
                                             .number = answer.ticket,
                                             .frontier_at_join = answer.frontier_at_join});
}

void PublicApi::JoinWithPass(http::RoomEntry& room, http::RequestContext& ctx, std::string identity,
                             std::string pass, const token::EntryPassClaims& claims) {
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  if (!token::ParseSessionId(claims.sid, incarnation, ticket) ||
      incarnation != room.state->incarnation() || ticket == 0 || room.state->SessionEnded(ticket)) {
    return AdmitWithPass(room, ctx, std::move(identity), std::move(pass), claims);
  }
  // The session the pass was earned with lives: it is the one to re-enter (a reload, a lost
  // cookie), not a second one.
  room.state->Status(
      ticket, ticket,
      [this, &room, ctx = std::move(ctx).Share(), identity = std::move(identity),
       pass = std::move(pass), claims](boost::system::result<store::TicketAnswer> answer) mutable {
        if (!answer) return FailOpenOrClosed(room, *ctx, answer.error(), identity);
        if (answer->status != core::TicketStatus::kAdmitted) {
          return AdmitWithPass(room, *ctx, std::move(identity), std::move(pass), claims);
        }
        room.traffic.entry_pass_joins.Add();
        const PassGrant grant{std::move(pass), claims.exp};
        AnswerTicket(*ctx, *room.state, *answer, TicketOf(*room.state, *answer), &grant);
      });
}

void PublicApi::AdmitWithPass(http::RoomEntry& room, http::RequestContext& ctx,
                              std::string identity, std::string pass,
                              const token::EntryPassClaims& claims) {
  // One session at a time per pass: held to its signed user, or to the pass itself (the session
  // it was earned with, which has ended), however often and wherever the pass is replayed.
  std::string holder = !identity.empty() ? std::move(identity) : "pass:" + claims.sid;
  room.state->Admit(holder, [this, &room, ctx = std::move(ctx).Share(), holder,
                             grant = PassGrant{std::move(pass), claims.exp}](
                                boost::system::result<store::TicketAnswer> answer) mutable {
    if (!answer) return FailOpenOrClosed(room, *ctx, answer.error(), holder);
    room.traffic.entry_pass_joins.Add();
    AnswerTicket(*ctx, *room.state, *answer, TicketOf(*room.state, *answer), &grant);
  });
}

void PublicApi::JoinBypass(http::RoomEntry& room, http::RequestContext& ctx, std::string identity) {
  room.state->Admit(identity, [this, &room, ctx = std::move(ctx).Share(), identity](
                                  boost::system::result<store::TicketAnswer> answer) mutable {
    if (!answer) return FailOpenOrClosed(room, *ctx, answer.error(), identity);
    AnswerTicket(*ctx, *room.state, *answer, TicketOf(*room.state, *answer));
  });
}

std::string_view PublicApi::SubjectOf(std::string_view identity) {
  return token::IdentityPseudonyms::IsPseudonym(identity) ? identity : std::string_view("anon");
}

std::optional<http::Response> PublicApi::JoinBody(const http::RequestContext& ctx,
                                                  JoinRequest& out) {
  const std::string& body = ctx.request().body();
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto bad = [&ctx](std::string_view message) {
      return ctx.ErrorResponse(http::ApiError::kBadRequest, message);
    };
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (ec) return bad("body is not valid JSON");
    const boost::json::object* obj = doc.if_object();
    if (obj == nullptr) return bad("body must be a JSON object");
    if (const boost::json::value* uid = obj->if_contains("userId"); uid && !uid->is_null()) {
      const boost::json::string* s = uid->if_string();
      if (s == nullptr) return bad("userId must be a string");
      if (s->size() > kMaxUserIdBytes) return bad("userId is longer than 256 bytes");
      out.user_id.assign(s->data(), s->size());
    }
    if (const boost::json::value* url = obj->if_contains("pageUrl"); url && !url->is_null()) {
      const boost::json::string* s = url->if_string();
      if (s == nullptr) return bad("pageUrl must be a string");
      if (s->size() > kMaxPageUrlBytes) return bad("pageUrl is longer than 2048 bytes");
      out.page_url.assign(s->data(), s->size());
    }
    if (const boost::json::value* token = obj->if_contains("userToken");
        token && !token->is_null()) {
      const boost::json::string* s = token->if_string();
      if (s == nullptr) return bad("userToken must be a string");
      if (s->size() > token::UserIdentityVerifier::kMaxTokenLength) {
        return bad("userToken is longer than 8192 bytes");
      }
      out.user_token.assign(s->data(), s->size());
    }
    if (const boost::json::value* pass = obj->if_contains("entryPass"); pass && !pass->is_null()) {
      const boost::json::string* s = pass->if_string();
      if (s == nullptr) return bad("entryPass must be a string");
      if (s->size() > kMaxEntryPassBytes) return bad("entryPass is longer than 4096 bytes");
      out.entry_pass.assign(s->data(), s->size());
    }
    // Proof of work: only the shape here; ChallengeCodec::Verify judges the content.
    for (auto [name, field] : {std::pair{"challenge", &out.challenge}, {"nonce", &out.nonce}}) {
      const boost::json::value* value = obj->if_contains(name);
      if (value == nullptr || value->is_null()) continue;
      const boost::json::string* s = value->if_string();
      if (s == nullptr) return bad(fmt::format("{} must be a string", name));
      if (s->size() > kMaxPowFieldBytes) {
        return bad(fmt::format("{} is longer than {} bytes", name, kMaxPowFieldBytes));
      }
      field->assign(s->data(), s->size());
    }
  }
  return std::nullopt;
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

std::variant<std::uint64_t, http::Response> PublicApi::SessionOf(store::RoomState& room,
                                                                 const http::RequestContext& ctx,
                                                                 bool check_time) {
  const std::string_view token = http::BearerToken(ctx.request()[http::field::authorization]);
  if (token.empty()) {
    return ctx.ErrorResponse(http::ApiError::kInvalidToken,
                             "an admission token is required (Authorization: Bearer)");
  }
  const std::optional<std::int64_t> now =
      check_time ? std::optional<std::int64_t>(WallSeconds()) : std::nullopt;
  auto verified = tokens_.Verify(token, now, room.id());
  if (!verified && verified.error() == token::TokenError::kExpired) {
    return ctx.ErrorResponse(http::ApiError::kInvalidToken,
                             "the admission token has expired; the ticket's status gives a fresh "
                             "one while the session lasts");
  }
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  if (!verified || !token::ParseSessionId(verified->jti, incarnation, ticket)) {
    return ctx.ErrorResponse(http::ApiError::kInvalidToken,
                             "the admission token is not valid for this room");
  }
  if (incarnation != room.incarnation() || ticket == 0) {
    // Ticket 0: let through by fail_open while the store was away, with no session to keep.
    return ctx.ErrorResponse(http::ApiError::kSessionNotFound, "the session has ended");
  }
  return ticket;
}

void PublicApi::Heartbeat(http::RoomEntry& room, http::RequestContext& ctx, Caller& /*caller*/) {
  // Only a token still valid keeps a session: an expired one is what the protected service
  // refuses too.
  auto session = SessionOf(*room.state, ctx, /*check_time=*/true);
  if (auto* error = std::get_if<http::Response>(&session)) return ctx.Finish(std::move(*error));
  room.state->Heartbeat(
      std::get<std::uint64_t>(session),
      [this, ctx = std::move(ctx).Share()](boost::system::result<bool> found) mutable {
        if (!found) return Fail(*ctx, found.error());
        if (!*found) return ctx->Error(http::ApiError::kSessionNotFound, "the session has ended");
        ctx->Finish(ctx->EmptyResponse(http::status::no_content));
      });
}

void PublicApi::Leave(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller) {
  if (http::BearerToken(ctx.request()[http::field::authorization]).empty() &&
      !caller.identity.empty()) {
    return GiveBackPlace(room, ctx, caller.identity);
  }
  // A genuine token of this room ends its session even when it has expired: freeing a slot
  // early only helps the people waiting.
  // The answer clears the admission cookie: its token names a session that is over. (The entry
  // pass stays: it is what lets its holder come back.)
  auto left_answer = [this, &room](const http::RequestContext& leaving) {
    http::Response res = leaving.EmptyResponse(http::status::no_content);
    res.set(http::field::set_cookie,
            http::SetCookieValue(http::kAdmissionCookiePrefix, room.state->id(), "", 0,
                                 options_.cookies));
    return res;
  };
  auto session = SessionOf(*room.state, ctx, /*check_time=*/false);
  if (auto* error = std::get_if<http::Response>(&session)) {
    // Leaving a session that has already ended is done, not an error.
    if (error->result() != http::status::not_found) return ctx.Finish(std::move(*error));
    return ctx.Finish(left_answer(ctx));
  }
  room.state->Leave(
      std::get<std::uint64_t>(session),
      [this, ctx = std::move(ctx).Share(), left_answer](boost::system::result<bool> left) mutable {
        if (!left) return Fail(*ctx, left.error());
        ctx->Finish(left_answer(*ctx));
      });
}

void PublicApi::GiveBackPlace(http::RoomEntry& room, http::RequestContext& ctx,
                              std::string_view ticket) {
  // Only the ticket's holder can name it: it is signed for this room. Another room's ticket, a
  // forged or altered one, gives back nothing.
  const std::optional<token::TicketClaims> claims = tickets_.Decode(room.state->id(), ticket);
  if (!claims) {
    return ctx.Error(http::ApiError::kInvalidTicket, "the ticket is not valid for this room");
  }
  if (room.state->incarnation() == 0) {
    return Fail(ctx, store::StoreError::kUnavailable);  // nobody can tell where it stands yet
  }
  if (claims->incarnation != room.state->incarnation() ||
      claims->number >= core::kBypassTicketBase) {
    // From before the room's state began anew (its place no longer exists), or a session's
    // number that never stood in line: nothing to give back.
    return ctx.Finish(ctx.EmptyResponse(http::status::no_content));
  }
  // Done whether or not there was still a place: given back already (a replay), its call
  // lapsed, or admitted (a session ends with its admission token, not with the ticket). Giving
  // back never moves anyone: the place is gone for good, and a later join with this ticket
  // starts at the end of the line.
  room.state->Withdraw(claims->number, [this, ctx = std::move(ctx).Share()](
                                           boost::system::result<bool> withdrawn) mutable {
    if (!withdrawn) return Fail(*ctx, withdrawn.error());
    ctx->Finish(ctx->EmptyResponse(http::status::no_content));
  });
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
  const core::Policy& p = room.policy();
  std::string body;
  body.reserve(512 + token.size() + (pass != nullptr ? pass->pass.size() : 0));
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
  fmt::format_to(std::back_inserter(body), R"(,"position":{},"initialPosition":{},"queueSize":{},)",
                 a.position, initial, a.queue_size);
  if (a.eta_seconds) {
    // The range holds the real wait about eight times in ten (core::WaitModel).
    fmt::format_to(std::back_inserter(body), R"("etaSeconds":{},"etaRange":[{},{}],)",
                   *a.eta_seconds, a.eta_low_seconds.value_or(*a.eta_seconds),
                   a.eta_high_seconds.value_or(*a.eta_seconds));
  } else if (a.status == core::TicketStatus::kAdmitted) {
    body += R"("etaSeconds":0,"etaRange":[0,0],)";
  } else {
    body += R"("etaSeconds":null,"etaRange":null,)";
  }
  fmt::format_to(std::back_inserter(body), R"("pollAfterMs":{})", poll_after_ms);
  if (a.status == core::TicketStatus::kAdmitted) {
    body += R"(,"token":)";
    http::AppendJsonString(body, token);
    fmt::format_to(std::back_inserter(body), R"(,"sessionTimeoutSeconds":{})",
                   std::chrono::duration_cast<std::chrono::seconds>(p.session_timeout).count());
    if (pass != nullptr) {
      body += R"(,"entryPass":)";
      http::AppendJsonString(body, pass->pass);
      fmt::format_to(std::back_inserter(body), R"(,"entryPassExpires":{})", pass->exp);
    }
  }
  body.push_back('}');
  return body;
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
  const TokenLifetimes& lifetimes = token_lifetimes_.Get();
  const auto configured = lifetimes.find(room.id());
  const std::chrono::seconds lifetime =
      configured != lifetimes.end()
          ? configured->second
          : std::chrono::duration_cast<std::chrono::seconds>(room.policy().session_timeout);
  lifetime_s = lifetime.count();
  claims.exp = now + lifetime_s;
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

http::Response PublicApi::Verify(http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  if (!IsRead(req)) {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET or HEAD");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  // The room: named, or found from where the original request went.
  http::RoomEntry* room = nullptr;
  if (const std::optional<std::string_view> named =
          http::RawQueryParam(http::QueryOf(req.target()), "room")) {
    std::string decoded;
    std::string_view id = *named;
    if (id.find_first_of("%+") != std::string_view::npos) {
      std::optional<std::string> d = http::PercentDecode(id, /*plus_is_space=*/true);
      if (!d) {
        metrics_.RecordVerify(http::VerifyOutcome::kBadRequest);
        return ctx.ErrorResponse(http::ApiError::kBadRequest,
                                 "room= is not validly percent-encoded");
      }
      decoded = std::move(*d);
      id = decoded;
    }
    if (id.empty()) {
      metrics_.RecordVerify(http::VerifyOutcome::kBadRequest);
      return ctx.ErrorResponse(http::ApiError::kBadRequest, "room= is empty");
    }
    room = rooms_.Find(id);
    if (room == nullptr) {
      metrics_.RecordVerify(http::VerifyOutcome::kRoomNotFound);
      return ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no such room");
    }
  } else {
    const std::string_view uri = req[kOriginalUriHeader];
    if (uri.empty()) {
      metrics_.RecordVerify(http::VerifyOutcome::kBadRequest);
      return ctx.ErrorResponse(http::ApiError::kBadRequest,
                               "no room: name it with ?room=<id>, or send X-Original-URI (and "
                               "X-Original-Host) for the room whose match rules cover it");
    }
    std::string_view host = req[kOriginalHostHeader];
    if (host.empty()) host = req[http::field::host];
    const std::string* id = routes_.Get().Find(host, uri);
    room = id != nullptr ? rooms_.Find(*id) : nullptr;
    if (room == nullptr) {
      metrics_.RecordVerify(http::VerifyOutcome::kRoomNotFound);
      return ctx.ErrorResponse(http::ApiError::kRoomNotFound,
                               "no room's match rules cover the original host and URI");
    }
  }
  store::RoomState& state = *room->state;
  const std::string& id = state.id();
  ctx.set_room(id);

  // The token: a bearer token (an API client, the SDK), else the room's cookie (a browser).
  std::string_view token = http::BearerToken(req[http::field::authorization]);
  if (token.empty()) token = http::FindCookie(req, http::kAdmissionCookiePrefix, id);
  if (token.empty()) {
    return NotAdmitted(*room, ctx, http::VerifyOutcome::kNoToken, http::ApiError::kInvalidToken,
                       "no admission token (Authorization: Bearer, or the room's cookie)");
  }
  const std::int64_t now = WallSeconds();
  auto verified = tokens_.Verify(token, now, id);
  if (!verified) {
    switch (verified.error()) {
      case token::TokenError::kExpired:
        return NotAdmitted(*room, ctx, http::VerifyOutcome::kTokenExpired,
                           http::ApiError::kTokenExpired, "the admission token has expired");
      case token::TokenError::kNotYetValid:
        return NotAdmitted(*room, ctx, http::VerifyOutcome::kTokenExpired,
                           http::ApiError::kTokenExpired, "the admission token is not valid yet");
      default:
        return NotAdmitted(*room, ctx, http::VerifyOutcome::kInvalidToken,
                           http::ApiError::kInvalidToken,
                           "the admission token is not valid for this room");
    }
  }
  // The session: of this room's state, and not ended (StandingOf).
  const http::SessionStanding standing = http::StandingOf(state, verified->jti);
  if (verified->iss != options_.issuer || standing == http::SessionStanding::kNotASession) {
    return NotAdmitted(*room, ctx, http::VerifyOutcome::kInvalidToken,
                       http::ApiError::kInvalidToken,
                       "the admission token is not valid for this room");
  }
  if (standing == http::SessionStanding::kEnded) {
    return NotAdmitted(*room, ctx, http::VerifyOutcome::kSessionEnded,
                       http::ApiError::kSessionEnded, "the session has ended");
  }
  metrics_.RecordVerify(http::VerifyOutcome::kOk);
  http::Response res = ctx.EmptyResponse(http::status::no_content);
  res.set(http::field::cache_control, "no-store");
  res.set(kRoomHeader, id);
  if (IsHeaderSafe(verified->sub)) res.set(kSubjectHeader, verified->sub);
  return res;
}

http::Response PublicApi::NotAdmitted(http::RoomEntry& room, const http::RequestContext& ctx,
                                      http::VerifyOutcome outcome, http::ApiError error,
                                      std::string_view message) {
  metrics_.RecordVerify(outcome);
  http::Response res = ctx.ErrorResponse(error, message);
  res.set(kRoomHeader, room.state->id());
  res.set(kWaitUrlHeader, WaitUrl(room.state->id(), ctx.request()));
  return res;
}

std::string PublicApi::WaitUrl(std::string_view room, const http::Request& req) {
  std::string url = options_.public_url;
  url += "/wait/";
  url += room;  // room ids need no encoding
  // Back to where the visitor was going: the original URL, when nginx said what it was.
  const std::string_view uri = req[kOriginalUriHeader];
  std::string_view host = req[kOriginalHostHeader];
  if (host.empty()) host = req[http::field::host];
  if (!IsUrlPath(uri)) return url;
  std::string_view proto = req[kOriginalProtoHeader];
  if (proto.empty()) proto = req[kForwardedProtoHeader];
  std::string original;
  if (IsUrlHost(host)) {
    original = EqualsNoCase(proto, "https") ? "https://" : "http://";
    original += host;
    original += uri;
  }
  // The waiting page takes an absolute return URL only on one of the room's match hosts. When
  // the page is served on the visitor's own host (no public_url), the path alone leads to the
  // same place and is always accepted: use it when the absolute one would be refused (a room for
  // every host, or a site reached by its IP address).
  if (options_.public_url.empty() &&
      (original.empty() || !http::IsSafeReturnUrl(original, routes_.Get().MatchHosts(room)))) {
    original = uri;
  }
  if (!original.empty()) {
    url += "?return=";
    url += http::PercentEncode(original);
  }
  return url;
}

}  // namespace vwr::api
