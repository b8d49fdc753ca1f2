#include "api/public_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <variant>

#include "api/errors.hpp"
#include "api/request_parts.hpp"
#include "core/pacing.hpp"
#include "token/identity.hpp"
#include "util/random.hpp"

namespace vwr::api {
namespace {

std::string SessionId(std::uint64_t incarnation, std::uint64_t ticket) {
  return fmt::format("{:016x}.{}", incarnation, ticket);
}

// Parses a session id made by SessionId().
bool ParseSessionId(std::string_view jti, std::uint64_t& incarnation, std::uint64_t& ticket) {
  const auto dot = jti.find('.');
  if (dot != 16 || jti.size() > 40) return false;
  const char* begin = jti.data();
  auto [p1, e1] = std::from_chars(begin, begin + dot, incarnation, 16);
  if (e1 != std::errc{} || p1 != begin + dot) return false;
  const char* end = jti.data() + jti.size();
  auto [p2, e2] = std::from_chars(begin + dot + 1, end, ticket, 10);
  return e2 == std::errc{} && p2 == end;  // ticket 0: admitted by fail_open, no session
}

}  // namespace

bool IsWebPath(std::string_view path) {
  return path == "/" || path.starts_with("/wait/") || path.starts_with("/sdk/") ||
         path.starts_with("/demo/") || path.starts_with("/assets/");
}

PublicApi::PublicApi(RoomDirectory& rooms, const token::TicketCodec& tickets,
                     const token::AdmissionTokenSigner& tokens,
                     const token::SecretKey& identity_key, const util::Clock& clock,
                     ApiMetrics& metrics, PublicApiOptions options)
    : rooms_(rooms),
      tickets_(tickets),
      tokens_(tokens),
      identity_key_(identity_key),
      clock_(clock),
      metrics_(metrics),
      error_log_(clock),
      fail_open_log_(clock, 1),
      options_(std::move(options)) {}

void PublicApi::Serve(const Request& request, const ConnectionInfo& connection, Respond respond) {
  Call call{&request, &connection, std::move(respond), clock_.Now(), Endpoint::kOther};
  Route(call);
}

void PublicApi::Finish(Call& call, Response response) {
  metrics_.Record(call.endpoint, response.result_int(), util::ToSeconds(clock_.Now() - call.start));
  error_log_.Record(*call.request, *call.connection, response);
  call.respond(std::move(response));
}

void PublicApi::Fail(Call& call, const boost::system::error_code& error) {
  const Request& req = *call.request;
  Finish(call, MakeError(ApiError::kUnavailable,
                         error == store::StoreError::kNotDurable
                             ? "the change could not be stored; try again"
                             : "the waiting room cannot reach its store; try again",
                         req.version(), false));
}

void PublicApi::FailOpenOrClosed(RoomEntry& room, Call& call,
                                 const boost::system::error_code& error,
                                 const std::string& identity) {
  if (!room.state->fail_open()) return Fail(call, error);
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
  answer.admitted_unix =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  answer.identity = identity;
  const Request& req = *call.request;
  Finish(call, MakeJson(http::status::ok, RenderAnswer(*room.state, answer, ""), req.version(),
                        req.keep_alive()));
}

void PublicApi::Route(Call& call) {
  const Request& req = *call.request;
  Endpoint& endpoint = call.endpoint;
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  const std::string_view path = PathOf(req.target());
  if (options_.web != nullptr && IsWebPath(path)) {
    Handler& web = *options_.web;
    return web.Serve(req, *call.connection, [this, call](Response response) mutable {
      Finish(call, std::move(response));
    });
  }
  if (path == "/.well-known/jwks.json") {
    endpoint = Endpoint::kJwks;
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      Response res = MakeError(ApiError::kMethodNotAllowed, "use GET", v, ka);
      res.set(http::field::allow, "GET");
      return Finish(call, std::move(res));
    }
    return Finish(call, Jwks(req));
  }
  const PathSegments parts = SplitPath(path);
  // api / v1 / rooms / {room} [/ action]
  if (parts.size() < 4 || parts.size() > 5 || parts[0] != "api" || parts[1] != "v1" ||
      parts[2] != "rooms" || parts[3].empty()) {
    return Finish(call, MakeError(ApiError::kNotFound, "no such endpoint", v, ka));
  }
  const std::string_view action = parts.size() == 5 ? parts[4] : std::string_view{};
  http::verb expected = http::verb::post;
  if (action.empty()) {
    endpoint = Endpoint::kRoomInfo;
    expected = http::verb::get;
  } else if (action == "join") {
    endpoint = Endpoint::kJoin;
  } else if (action == "status") {
    endpoint = Endpoint::kStatus;
    expected = http::verb::get;
  } else if (action == "heartbeat") {
    endpoint = Endpoint::kHeartbeat;
  } else if (action == "leave") {
    endpoint = Endpoint::kLeave;
  } else {
    return Finish(call, MakeError(ApiError::kNotFound, "no such endpoint", v, ka));
  }
  const bool head_ok = expected == http::verb::get && req.method() == http::verb::head;
  if (req.method() != expected && !head_ok) {
    Response res = MakeError(ApiError::kMethodNotAllowed,
                             fmt::format("use {}", http::to_string(expected)), v, ka);
    res.set(http::field::allow, http::to_string(expected));
    return Finish(call, std::move(res));
  }
  RoomEntry* room = rooms_.Find(parts[3]);
  if (room == nullptr) {
    return Finish(call, MakeError(ApiError::kRoomNotFound, "no such room", v, ka));
  }
  switch (endpoint) {
    case Endpoint::kJoin:
      return Join(*room, call);
    case Endpoint::kStatus:
      return Status(*room, call);
    case Endpoint::kHeartbeat:
      return Heartbeat(*room, call);
    case Endpoint::kLeave:
      return Leave(*room, call);
    default:
      return Finish(call, RoomInfo(*room, req));
  }
}

void PublicApi::Join(RoomEntry& room, Call& call) {
  const Request& req = *call.request;
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  std::string user_id;
  std::optional<Response> invalid = JoinBody(req.body(), user_id, v, ka);
  if (invalid) return Finish(call, std::move(*invalid));
  room.state->Join(user_id, [this, &room, call = std::move(call), v, ka,
                             user_id](boost::system::result<store::TicketAnswer> answer) mutable {
    if (!answer) return FailOpenOrClosed(room, call, answer.error(), user_id);
    std::string ticket;
    if (answer->ticket != 0) {
      ticket = tickets_.Encode(room.state->id(),
                               token::TicketClaims{.incarnation = room.state->incarnation(),
                                                   .number = answer->ticket,
                                                   .frontier_at_join = answer->frontier_at_join});
    }
    Finish(call, MakeJson(http::status::ok, RenderAnswer(*room.state, *answer, ticket), v, ka));
  });
}

std::optional<Response> PublicApi::JoinBody(const std::string& body, std::string& user_id,
                                            unsigned v, bool ka) {
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (ec) return MakeError(ApiError::kBadRequest, "body is not valid JSON", v, ka);
    const boost::json::object* obj = doc.if_object();
    if (obj == nullptr)
      return MakeError(ApiError::kBadRequest, "body must be a JSON object", v, ka);
    if (const boost::json::value* uid = obj->if_contains("userId"); uid && !uid->is_null()) {
      const boost::json::string* s = uid->if_string();
      if (s == nullptr) return MakeError(ApiError::kBadRequest, "userId must be a string", v, ka);
      if (s->size() > kMaxUserIdBytes) {
        return MakeError(ApiError::kBadRequest, "userId is longer than 256 bytes", v, ka);
      }
      user_id.assign(s->data(), s->size());
    }
    if (const boost::json::value* url = obj->if_contains("pageUrl"); url && !url->is_null()) {
      const boost::json::string* s = url->if_string();
      if (s == nullptr) return MakeError(ApiError::kBadRequest, "pageUrl must be a string", v, ka);
      if (s->size() > kMaxPageUrlBytes) {
        return MakeError(ApiError::kBadRequest, "pageUrl is longer than 2048 bytes", v, ka);
      }
    }
  }
  return std::nullopt;
}

void PublicApi::Status(RoomEntry& room, Call& call) {
  const Request& req = *call.request;
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  std::string from_query;
  std::string_view ticket = req[kTicketHeader];
  if (ticket.empty()) {
    std::optional<std::string> q = QueryParam(QueryOf(req.target()), "ticket");
    if (!q || q->empty()) {
      return Finish(
          call, MakeError(ApiError::kBadRequest,
                          "a ticket is required (header X-VWR-Ticket or query ticket=)", v, ka));
    }
    from_query = std::move(*q);
    ticket = from_query;
  }
  const std::optional<token::TicketClaims> claims = tickets_.Decode(room.state->id(), ticket);
  if (!claims) {
    return Finish(
        call, MakeError(ApiError::kInvalidTicket, "the ticket is not valid for this room", v, ka));
  }
  room.traffic.polls.Add();
  store::TicketAnswer answer;
  if (room.state->incarnation() == 0) {
    // A shared store not reached yet since start: nobody can tell where this ticket stands.
    return FailOpenOrClosed(room, call, store::StoreError::kUnavailable, "");
  }
  if (claims->incarnation != room.state->incarnation()) {
    // Genuine, but issued before this room's state was reset: its place no longer exists.
    answer.status = core::TicketStatus::kExpired;
    answer.ticket = claims->number;
  } else if (!room.state->StatusCached(claims->number, claims->frontier_at_join, answer)) {
    // Called, admitted or ended: the store decides, and may claim the ticket.
    room.state->Status(claims->number, claims->frontier_at_join,
                       [this, &room, call = std::move(call), ticket = std::string(ticket), v,
                        ka](boost::system::result<store::TicketAnswer> decided) mutable {
                         if (!decided) return FailOpenOrClosed(room, call, decided.error(), "");
                         Finish(call, MakeJson(http::status::ok,
                                               RenderAnswer(*room.state, *decided, ticket), v, ka));
                       });
    return;
  }
  Finish(call, MakeJson(http::status::ok, RenderAnswer(*room.state, answer, ticket), v, ka));
}

std::variant<std::uint64_t, Response> PublicApi::SessionOf(store::RoomState& room,
                                                           const Request& req, bool check_time) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  const std::string_view token = BearerToken(req[http::field::authorization]);
  if (token.empty()) {
    return MakeError(ApiError::kInvalidToken,
                     "an admission token is required (Authorization: Bearer)", v, ka);
  }
  const std::optional<std::int64_t> now =
      check_time ? std::optional<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                   clock_.WallNow().time_since_epoch())
                                                   .count())
                 : std::nullopt;
  auto verified = tokens_.Verify(token, now, room.id());
  if (!verified && verified.error() == token::TokenError::kExpired) {
    return MakeError(ApiError::kInvalidToken,
                     "the admission token has expired; the ticket's status gives a fresh one "
                     "while the session lasts",
                     v, ka);
  }
  std::uint64_t incarnation = 0;
  std::uint64_t ticket = 0;
  if (!verified || !ParseSessionId(verified->jti, incarnation, ticket)) {
    return MakeError(ApiError::kInvalidToken, "the admission token is not valid for this room", v,
                     ka);
  }
  if (incarnation != room.incarnation() || ticket == 0) {
    // Ticket 0: let through by fail_open while the store was away, with no session to keep.
    return MakeError(ApiError::kSessionNotFound, "the session has ended", v, ka);
  }
  return ticket;
}

void PublicApi::Heartbeat(RoomEntry& room, Call& call) {
  // Only a token still valid keeps a session: an expired one is what the protected service
  // refuses too.
  auto session = SessionOf(*room.state, *call.request, /*check_time=*/true);
  if (auto* error = std::get_if<Response>(&session)) return Finish(call, std::move(*error));
  room.state->Heartbeat(std::get<std::uint64_t>(session),
                        [this, call = std::move(call)](boost::system::result<bool> found) mutable {
                          if (!found) return Fail(call, found.error());
                          const Request& req = *call.request;
                          if (!*found) {
                            return Finish(
                                call, MakeError(ApiError::kSessionNotFound, "the session has ended",
                                                req.version(), req.keep_alive()));
                          }
                          Finish(call, NoContent(req));
                        });
}

void PublicApi::Leave(RoomEntry& room, Call& call) {
  // A genuine token of this room ends its session even when it has expired: freeing a slot
  // early only helps the people waiting.
  auto session = SessionOf(*room.state, *call.request, /*check_time=*/false);
  if (auto* error = std::get_if<Response>(&session)) {
    // Leaving a session that has already ended is done, not an error.
    if (error->result() != http::status::not_found) return Finish(call, std::move(*error));
    return Finish(call, NoContent(*call.request));
  }
  room.state->Leave(std::get<std::uint64_t>(session),
                    [this, call = std::move(call)](boost::system::result<bool> left) mutable {
                      if (!left) return Fail(call, left.error());
                      Finish(call, NoContent(*call.request));
                    });
}

Response PublicApi::NoContent(const Request& req) {
  Response res{http::status::no_content, req.version()};
  res.keep_alive(req.keep_alive());
  return res;
}

Response PublicApi::RoomInfo(RoomEntry& room, const Request& req) {
  const store::RoomFigures f = room.state->Figures();
  const core::Policy& p = room.state->policy();
  std::string body = R"({"room":)";
  AppendJsonString(body, room.state->id());
  fmt::format_to(std::back_inserter(body),
                 R"(,"mode":"{}","queueSize":{},"active":{},"maxActive":{},"admitRate":{},)",
                 core::ModeName(p.mode), f.queue_size, f.active, p.max_active, p.admit_rate);
  if (f.newcomer_eta_seconds) {
    fmt::format_to(std::back_inserter(body), R"("etaSeconds":{}}})", *f.newcomer_eta_seconds);
  } else {
    body += R"("etaSeconds":null})";
  }
  return MakeJson(http::status::ok, std::move(body), req.version(), req.keep_alive());
}

Response PublicApi::Jwks(const Request& req) {
  const token::KeyRing::Snapshot& ring = tokens_.ring().Current();
  Response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  // Verifiers may keep it a minute; one that meets an unknown kid (a rotation within that
  // minute) fetches it again. Retired keys stay listed until their tokens have expired.
  res.set(http::field::cache_control, "public, max-age=60");
  res.set(http::field::etag, ring.jwks_etag);
  if (const std::string_view match = req[http::field::if_none_match];
      !match.empty() && match.find(ring.jwks_etag) != std::string_view::npos) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, "application/json");
  res.body() = ring.jwks;
  res.prepare_payload();
  return res;
}

std::string PublicApi::RenderAnswer(store::RoomState& room, const store::TicketAnswer& a,
                                    std::string_view ticket) {
  const core::Policy& p = room.policy();
  std::string body;
  body.reserve(512);
  body += R"({"room":)";
  AppendJsonString(body, room.id());
  body += R"(,"status":")";
  body += core::TicketStatusName(a.status);
  body += R"(","ticket":)";
  if (ticket.empty()) {
    body += "null";
  } else {
    AppendJsonString(body, ticket);
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
    fmt::format_to(std::back_inserter(body), R"("etaSeconds":{},)", *a.eta_seconds);
  } else if (a.status == core::TicketStatus::kAdmitted) {
    body += R"("etaSeconds":0,)";
  } else {
    body += R"("etaSeconds":null,)";
  }
  fmt::format_to(std::back_inserter(body), R"("pollAfterMs":{})", poll_after_ms);
  if (a.status == core::TicketStatus::kAdmitted) {
    body += R"(,"token":)";
    AppendJsonString(body, IssueToken(room, a));
    fmt::format_to(std::back_inserter(body), R"(,"sessionTimeoutSeconds":{})",
                   std::chrono::duration_cast<std::chrono::seconds>(p.session_timeout).count());
  }
  body.push_back('}');
  return body;
}

std::string PublicApi::IssueToken(store::RoomState& room, const store::TicketAnswer& a) {
  token::AdmissionClaims claims;
  claims.iss = options_.issuer;
  claims.aud = room.id();
  claims.sub = a.identity.empty() ? "anon" : token::HashIdentity(identity_key_, a.identity);
  // Issued now, not at admission: a client that polls its admitted ticket's status gets a fresh
  // token for its session, and so can stay beyond one token's lifetime while the session lasts.
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  claims.iat = now;
  claims.nbf = now;
  const TokenLifetimes& lifetimes = token_lifetimes_.Get();
  const auto configured = lifetimes.find(room.id());
  const std::chrono::seconds lifetime =
      configured != lifetimes.end()
          ? configured->second
          : std::chrono::duration_cast<std::chrono::seconds>(room.policy().session_timeout);
  claims.exp = now + lifetime.count();
  claims.jti = SessionId(room.incarnation(), a.ticket);
  return tokens_.Issue(claims);
}

}  // namespace vwr::api
