// PublicApi's joins: a new place in line, a place kept for a userId, entry passes and bypass
// lists, proof of work, the join body.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <variant>

#include "api/public_api.hpp"
#include "core/pacing.hpp"
#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "http/return_url.hpp"
#include "http/session_standing.hpp"
#include "token/identity.hpp"
#include "token/session_id.hpp"
#include "util/random.hpp"

namespace vwr::api {

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

}  // namespace vwr::api
