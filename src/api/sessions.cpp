// PublicApi's sessions: heartbeat, leave, giving back a waiting place, unknown signing keys
// looked up, and verify (nginx auth_request) with its activity refresh and fresh tokens.
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
namespace {

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

std::variant<std::uint64_t, http::Response, PublicApi::UnknownKey> PublicApi::SessionOf(
    store::RoomState& room, const http::RequestContext& ctx, bool check_time, bool may_look_up,
    std::int64_t* admitted_unix) {
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
    http::Response refused = ctx.ErrorResponse(http::ApiError::kInvalidToken,
                                               "the admission token is not valid for this room");
    if (!verified && verified.error() == token::TokenError::kUnknownKey && may_look_up &&
        key_lookup_) {
      if (std::string kid =
              token::jwt::KeyIdOf(token, token::AdmissionTokenSigner::kMaxTokenLength);
          !kid.empty()) {
        return UnknownKey{std::move(kid), std::move(refused)};
      }
    }
    return refused;
  }
  if (incarnation != room.incarnation() || ticket == 0) {
    // Ticket 0: let through by fail_open while the store was away, with no session to keep.
    return ctx.ErrorResponse(http::ApiError::kSessionNotFound, "the session has ended");
  }
  if (admitted_unix != nullptr) *admitted_unix = verified->auth_time;
  return ticket;
}

void PublicApi::LookUpKey(std::string kid, http::RequestContext& ctx, http::Response refused,
                          std::function<void(http::RequestContext&)> found) {
  key_lookup_(std::move(kid), [this, ctx = std::move(ctx).Share(), refused = std::move(refused),
                               found = std::move(found)](http::KeyLookupOutcome outcome) mutable {
    metrics_.RecordKeyLookup(outcome);
    if (outcome != http::KeyLookupOutcome::kFound) return ctx->Finish(std::move(refused));
    found(*ctx);
  });
}

void PublicApi::Heartbeat(http::RoomEntry& room, http::RequestContext& ctx, Caller& /*caller*/) {
  HeartbeatSession(room, ctx, /*may_look_up=*/true);
}

void PublicApi::HeartbeatSession(http::RoomEntry& room, http::RequestContext& ctx,
                                 bool may_look_up) {
  // Only a token still valid keeps a session: an expired one is what the protected service
  // refuses too.
  std::int64_t admitted_unix = 0;
  auto session = SessionOf(*room.state, ctx, /*check_time=*/true, may_look_up, &admitted_unix);
  if (auto* error = std::get_if<http::Response>(&session)) return ctx.Finish(std::move(*error));
  if (auto* unknown = std::get_if<UnknownKey>(&session)) {
    return LookUpKey(std::move(unknown->kid), ctx, std::move(unknown->refused),
                     [this, &room](http::RequestContext& again) {
                       HeartbeatSession(room, again, /*may_look_up=*/false);
                     });
  }
  room.state->Heartbeat(
      std::get<std::uint64_t>(session), [this, &room, admitted_unix, ctx = std::move(ctx).Share()](
                                            boost::system::result<bool> found) mutable {
        if (!found) return Fail(*ctx, found.error());
        if (!*found) return ctx->Error(http::ApiError::kSessionNotFound, "the session has ended");
        http::Response res = ctx->EmptyResponse(http::status::no_content);
        // The cap on time inside, as the policy says now (an operator may have changed it
        // since admission): the page shows the time left from it and warns before the end.
        const auto session_max =
            std::chrono::duration_cast<std::chrono::seconds>(room.state->policy().session_max)
                .count();
        if (session_max > 0 && admitted_unix > 0) {
          res.set(kSessionEndsAtHeader, std::to_string(admitted_unix + session_max));
        }
        ctx->Finish(std::move(res));
      });
}

void PublicApi::Leave(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller) {
  if (http::BearerToken(ctx.request()[http::field::authorization]).empty() &&
      !caller.identity.empty()) {
    return GiveBackPlace(room, ctx, caller.identity);
  }
  LeaveSession(room, ctx, /*may_look_up=*/true);
}

void PublicApi::LeaveSession(http::RoomEntry& room, http::RequestContext& ctx, bool may_look_up) {
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
  auto session = SessionOf(*room.state, ctx, /*check_time=*/false, may_look_up);
  if (auto* error = std::get_if<http::Response>(&session)) {
    // Leaving a session that has already ended is done, not an error.
    if (error->result() != http::status::not_found) return ctx.Finish(std::move(*error));
    return ctx.Finish(left_answer(ctx));
  }
  if (auto* unknown = std::get_if<UnknownKey>(&session)) {
    return LookUpKey(std::move(unknown->kid), ctx, std::move(unknown->refused),
                     [this, &room](http::RequestContext& again) {
                       LeaveSession(room, again, /*may_look_up=*/false);
                     });
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

void PublicApi::Verify(http::RequestContext& ctx) {
  const http::Request& req = ctx.request();
  if (!http::IsRead(req)) {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use GET or HEAD");
    res.set(http::field::allow, "GET, HEAD");
    return ctx.Finish(std::move(res));
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
        return ctx.Error(http::ApiError::kBadRequest, "room= is not validly percent-encoded");
      }
      decoded = std::move(*d);
      id = decoded;
    }
    if (id.empty()) {
      metrics_.RecordVerify(http::VerifyOutcome::kBadRequest);
      return ctx.Error(http::ApiError::kBadRequest, "room= is empty");
    }
    room = rooms_.Find(id);
    if (room == nullptr) {
      metrics_.RecordVerify(http::VerifyOutcome::kRoomNotFound);
      return ctx.Error(http::ApiError::kRoomNotFound, "no such room");
    }
  } else {
    const std::string_view uri = req[kOriginalUriHeader];
    if (uri.empty()) {
      metrics_.RecordVerify(http::VerifyOutcome::kBadRequest);
      return ctx.Error(http::ApiError::kBadRequest,
                       "no room: name it with ?room=<id>, or send X-Original-URI (and "
                       "X-Original-Host) for the room whose match rules cover it");
    }
    std::string_view host = req[kOriginalHostHeader];
    if (host.empty()) host = req[http::field::host];
    const std::string* id = routes_.Get().Find(host, uri);
    room = id != nullptr ? rooms_.Find(*id) : nullptr;
    if (room == nullptr) {
      metrics_.RecordVerify(http::VerifyOutcome::kRoomNotFound);
      return ctx.Error(http::ApiError::kRoomNotFound,
                       "no room's match rules cover the original host and URI");
    }
  }
  ctx.set_room(room->state->id());
  // The token: a bearer token (an API client, the SDK), else the room's cookie (a browser).
  std::string_view token = http::BearerToken(req[http::field::authorization]);
  if (token.empty()) token = http::FindCookie(req, http::kAdmissionCookiePrefix, room->state->id());
  VerifyToken(*room, ctx, token, /*may_look_up=*/true);
}

void PublicApi::VerifyToken(http::RoomEntry& room, http::RequestContext& ctx,
                            std::string_view token, bool may_look_up) {
  store::RoomState& state = *room.state;
  const std::string& id = state.id();
  if (token.empty()) {
    return ctx.Finish(
        NotAdmitted(room, ctx, http::VerifyOutcome::kNoToken, http::ApiError::kInvalidToken,
                    "no admission token (Authorization: Bearer, or the room's cookie)"));
  }
  const std::int64_t now = WallSeconds();
  auto verified = tokens_.Verify(token, now, id);
  if (!verified) {
    switch (verified.error()) {
      case token::TokenError::kExpired:
        return ctx.Finish(NotAdmitted(room, ctx, http::VerifyOutcome::kTokenExpired,
                                      http::ApiError::kTokenExpired,
                                      "the admission token has expired"));
      case token::TokenError::kNotYetValid:
        return ctx.Finish(NotAdmitted(room, ctx, http::VerifyOutcome::kTokenExpired,
                                      http::ApiError::kTokenExpired,
                                      "the admission token is not valid yet"));
      case token::TokenError::kUnknownKey:
        // Another node's key this node has not read yet (it has just started or rotated):
        // looked up now, and the token checked again, rather than refused until the next
        // exchange of keys.
        if (may_look_up && key_lookup_) {
          if (std::string kid =
                  token::jwt::KeyIdOf(token, token::AdmissionTokenSigner::kMaxTokenLength);
              !kid.empty()) {
            // Not counted yet: the answer after the lookup is.
            http::Response refused = ctx.ErrorResponse(
                http::ApiError::kInvalidToken, "the admission token is not valid for this room");
            refused.set(kRoomHeader, id);
            refused.set(kWaitUrlHeader, WaitUrl(id, ctx.request()));
            return LookUpKey(std::move(kid), ctx, std::move(refused),
                             [this, &room, token](http::RequestContext& again) {
                               VerifyToken(room, again, token, /*may_look_up=*/false);
                             });
          }
        }
        [[fallthrough]];
      default:
        return ctx.Finish(NotAdmitted(room, ctx, http::VerifyOutcome::kInvalidToken,
                                      http::ApiError::kInvalidToken,
                                      "the admission token is not valid for this room"));
    }
  }
  // The session: of this room's state, and not ended (StandingOf).
  const http::SessionStanding standing = http::StandingOf(state, verified->jti);
  if (verified->iss != options_.issuer || standing == http::SessionStanding::kNotASession) {
    return ctx.Finish(NotAdmitted(room, ctx, http::VerifyOutcome::kInvalidToken,
                                  http::ApiError::kInvalidToken,
                                  "the admission token is not valid for this room"));
  }
  if (standing == http::SessionStanding::kEnded) {
    return ctx.Finish(NotAdmitted(room, ctx, http::VerifyOutcome::kSessionEnded,
                                  http::ApiError::kSessionEnded, "the session has ended"));
  }
  metrics_.RecordVerify(http::VerifyOutcome::kOk);
  http::Response res = ctx.EmptyResponse(http::status::no_content);
  res.set(http::field::cache_control, "no-store");
  res.set(kRoomHeader, id);
  if (IsHeaderSafe(verified->sub)) res.set(kSubjectHeader, verified->sub);
  RefreshSession(room, *verified, now, res);
  ctx.Finish(std::move(res));
}

void PublicApi::RefreshSession(http::RoomEntry& room, const token::AdmissionClaims& claims,
                               std::int64_t now, http::Response& res) {
  store::RoomState& state = *room.state;
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  // Ticket 0 (a fail_open admission) names no session: nothing to keep alive or renew.
  if (!token::ParseSessionId(claims.jti, incarnation, ticket) || ticket == 0) return;
  // A request let through is the visitor's activity: it keeps the session alive as a heartbeat
  // would, but at most once per refresh interval (a store write each; SessionActivity).
  const util::Duration timeout = state.policy().session_timeout;
  if (activity_.Due(&state, ticket, SessionActivity::RefreshInterval(timeout))) {
    metrics_.RecordSessionRefresh();
    state.Heartbeat(ticket, [](const boost::system::result<bool>&) {
      // Nothing to answer: an ended session is refused by the next verify (SessionEnded), and
      // a store that failed is asked again at the next interval.
    });
  }
  // Past half its lifetime: a fresh token for the same session, so that a visitor who only
  // browses (no SDK to poll for one) keeps a valid cookie while the session lasts. Never past
  // the session's end (session_max), and only when that moves exp forward.
  if (claims.exp - now > (claims.exp - claims.iat) / 2) return;
  const std::chrono::seconds lifetime = TokenLifetime(state);
  token::AdmissionClaims renewed = claims;
  renewed.iat = now;
  renewed.nbf = now;
  renewed.exp = TokenExpiry(state, now, claims.auth_time, lifetime);
  if (state.policy().session_max.count() > 0 && claims.auth_time == 0) return;  // cap unknown
  if (renewed.exp <= claims.exp) return;
  auto token = tokens_.Issue(renewed);
  if (!token) return;  // no signing key (yet): the token presented is still valid
  metrics_.RecordTokenRenewed();
  res.set(kTokenHeader, *token);
  res.set(kSetCookieHeader, http::SetCookieValue(http::kAdmissionCookiePrefix, state.id(), *token,
                                                 renewed.exp - now, options_.cookies));
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
