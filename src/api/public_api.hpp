#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "api/session_activity.hpp"
#include "guard/guard.hpp"
#include "http/api_metrics.hpp"
#include "http/client_ip.hpp"
#include "http/cookies.hpp"
#include "http/errors.hpp"
#include "http/http.hpp"
#include "http/request_context.hpp"
#include "http/room_directory.hpp"
#include "http/room_routes.hpp"
#include "store/store.hpp"
#include "token/admission_token.hpp"
#include "token/challenge.hpp"
#include "token/entry_pass.hpp"
#include "token/identity.hpp"
#include "token/key.hpp"
#include "token/ticket_codec.hpp"
#include "token/user_identity.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::api {

struct PublicApiOptions {
  std::string issuer = "vwr";  // the admission tokens' iss (tokens.issuer)
  // Where visitors reach the waiting pages, as an origin ("https://queue.example.com", no path;
  // web.public_url): /api/v1/verify's X-VWR-Wait-URL is absolute on it. Empty: relative.
  std::string public_url;
  // The attributes of the admission and entry pass cookies (web.cookie_secure, cookie_domain).
  http::CookieOptions cookies;
  // server.trusted_proxies: behind them, abuse protection counts the client address from
  // X-Forwarded-For (ClientIp), not the proxy's.
  std::vector<util::IpRange> trusted_proxies;
  // Abuse protection: every request to a room (join, status, heartbeat, leave, room info) is
  // counted by it first; a refused one gets 429 "blocked" with Retry-After, and a join on the
  // allow list is admitted at once. Null: no protection.
  guard::Guard* guard = nullptr;
  // identity.mode signed: joins name their user by the platform's user token, verified here
  // (header X-VWR-User-Token, "userToken" in the body, Authorization: Bearer, or the cookie
  // `user_token_cookie`). Null (identity.mode anonymous): a join's userId is a hint only.
  const token::UserIdentityVerifier* user_identity = nullptr;
  bool user_token_required = true;  // signed: a join without a user token is refused
  std::string user_token_cookie;    // identity.cookie; empty: none
};

// Admission token lifetimes by room id (rooms[].token_lifetime); a room not listed uses its
// session_timeout.
using TokenLifetimes =
    std::unordered_map<std::string, std::chrono::seconds, util::StringHash, std::equal_to<>>;
// Entry pass durations by room id (rooms[].entry_pass); a room not listed gives no passes and
// takes none.
using EntryPasses = TokenLifetimes;

// Looks up a token signing key this node does not hold yet, by its kid: another node's key,
// when that node has just started or rotated and this node has not read the shared keys since
// (app::KeySharing::Lookup on Redis). `done` runs exactly once, on any thread, with what was
// found; kFound means the key ring holds the key now. Unset (one node): no lookup.
using KeyLookup =
    std::function<void(std::string kid, std::function<void(http::KeyLookupOutcome)> done)>;

// The native JSON API on the public listener:
//   POST /api/v1/rooms/{room}/join        -> a place in line (or admission at once)
//   GET  /api/v1/rooms/{room}/status      -> where a ticket stands; claims it when called
//   GET  /api/v1/rooms/{room}/events      -> the same, pushed as Server-Sent Events (events.cpp)
//   POST /api/v1/rooms/{room}/heartbeat   -> keeps an admitted session alive
//   POST /api/v1/rooms/{room}/leave       -> ends the session, frees the slot
//   GET  /api/v1/rooms/{room}             -> what a newcomer would face
//   GET  /api/v1/rooms/{room}/challenge   -> a proof-of-work challenge for a join
//   GET  /api/v1/verify                   -> 204 when the request carries a valid admission
//                                            token (nginx auth_request), else 401 + wait URL
//   GET  /.well-known/jwks.json           -> the public keys that verify admission tokens
// Thin: decode, call the store, encode. Thread-safe.
//
// Who joins (docs/security.md). Identities that clients send are claims, not proof:
//   - A join that carries X-VWR-Ticket with a valid ticket of the room (this room's state) gets
//     that ticket's standing back, its place or its session (how the SDK and the waiting page
//     re-join after a reload). A spent or foreign ticket is ignored: a fresh join.
//   - identity.mode anonymous (default): the userId is a hint, never a key. A join without the
//     ticket gets a new place of its own, whatever userId it names; rooms store nothing for it,
//     and its tokens' subject is "anon".
//   - identity.mode signed: the user is the one the platform's user token names; the room holds
//     its place by that user (as a pseudonym, token::IdentityPseudonyms), so the verified user
//     alone gets the same place or session back, and the tokens' subject is the pseudonym.
//
// Admitted answers (join, status) also set the cookie vwr_<room> to the admission token, and in
// a room with an entry pass, vwr_pass_<room> to a pass (see EntryPassCodec) valid for the
// entry pass time from the first admission; leave clears vwr_<room>. A join that brings a valid
// pass of the room (that cookie, or "entryPass" in the body) re-enters the session the pass was
// earned with while it lives; once it has ended, the pass admits at once (RoomState::Admit)
// into one session held to the pass (or to its signed user), never more than one at a time.
//
// /api/v1/verify is the hot path of the protected site (every request it serves): it reads the
// room from ?room= or from X-Original-Host + X-Original-URI (RoomRoutes), the token from
// "Authorization: Bearer" or the room's cookie, checks it with the verified-token cache, the
// room's incarnation and RoomState::SessionEnded; no store round trip, no lock but the cache's
// shard.
//
// In a room with a proof of work (rooms[].pow_difficulty > 0) a join must bring "challenge" (from
// /challenge) and "nonce" (see ChallengeCodec); it is checked before anything else, and the
// challenge is then taken once in the room's store (RoomState::ConsumeOnce): a second join with
// it is refused (pow_replayed) on every node.
class PublicApi final : public http::Handler {
 public:
  PublicApi(http::RoomDirectory& rooms, const token::TicketCodec& tickets,
            const token::AdmissionTokenSigner& tokens, const token::SecretKey& identity_key,
            const util::Clock& clock, http::ApiMetrics& metrics, PublicApiOptions options = {});

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

  // Replaces the per-room token lifetimes (at start, and on a configuration reload). Rare: each
  // call keeps a copy for the process's life (util::Published).
  void SetTokenLifetimes(TokenLifetimes lifetimes) {
    token_lifetimes_.Publish(std::move(lifetimes));
  }
  // Replaces the per-room entry pass durations (at start and on reload), like SetTokenLifetimes.
  void SetEntryPasses(EntryPasses passes) { entry_passes_.Publish(std::move(passes)); }
  // Replaces the per-room proof-of-work settings (at start and on reload); a room not listed
  // asks none.
  void SetPow(token::PowSettings pow) { pow_.Publish(std::move(pow)); }
  // Challenges issued before `unix_ms` (by the room's challenge lifetime) are refused as
  // expired. Set to the start time on the embedded store, which forgets spent challenges on a
  // restart: without it a challenge spent just before a restart could buy one more join after.
  void SetPowNotBefore(std::int64_t unix_ms) {
    pow_not_before_ms_.store(unix_ms, std::memory_order_relaxed);
  }
  // Token keys of other nodes not held yet are looked up through `lookup` (set once, before
  // serving). A token naming an unknown kid on heartbeat, leave or /api/v1/verify is then
  // verified again once its key is found, instead of being refused until the next exchange.
  void SetKeyLookup(KeyLookup lookup) { key_lookup_ = std::move(lookup); }
  // Replaces the rooms' match rules that /api/v1/verify routes by (at start and on reload).
  void SetRoutes(const std::vector<http::RoomRoute>& routes) {
    routes_.Publish(http::RoomRoutes(routes));
  }

  // Limits on what a client may send in a join body.
  static constexpr std::size_t kMaxUserIdBytes = 256;
  static constexpr std::size_t kMaxPageUrlBytes = 2048;
  static constexpr std::size_t kMaxEntryPassBytes = token::EntryPassCodec::kMaxLength;
  static constexpr std::size_t kMaxPowFieldBytes = 128;  // "challenge", "nonce"
  static constexpr std::string_view kTicketHeader = "X-VWR-Ticket";
  static constexpr std::string_view kUserTokenHeader = "X-VWR-User-Token";
  // /api/v1/verify: what nginx tells of the original request, and what the answer tells nginx.
  static constexpr std::string_view kOriginalHostHeader = "X-Original-Host";
  static constexpr std::string_view kOriginalUriHeader = "X-Original-URI";
  static constexpr std::string_view kOriginalProtoHeader = "X-Original-Proto";
  static constexpr std::string_view kForwardedProtoHeader = "X-Forwarded-Proto";
  static constexpr std::string_view kRoomHeader = "X-VWR-Room";
  static constexpr std::string_view kSubjectHeader = "X-VWR-Subject";
  static constexpr std::string_view kWaitUrlHeader = "X-VWR-Wait-URL";
  // A 204 of /api/v1/verify for a token past half its lifetime: a fresh token for the same
  // session, alone (for API gateways) and as the whole Set-Cookie value of vwr_<room> (nginx:
  // auth_request_set + add_header Set-Cookie).
  static constexpr std::string_view kTokenHeader = "X-VWR-Token";
  static constexpr std::string_view kSetCookieHeader = "X-VWR-Set-Cookie";
  // A heartbeat's 204 in a room with rooms[].session_max: when the session ends however active
  // (unix seconds), under the policy in force now (an operator may change the cap).
  static constexpr std::string_view kSessionEndsAtHeader = "X-VWR-Session-Ends-At";

  // A ticket's event stream (GET /api/v1/rooms/{room}/events; see TicketEvents in events.cpp):
  // how often it reads the ticket's standing (so an admission goes out within this), the least
  // time between two position events, and the longest silence before a keep-alive comment.
  static constexpr std::chrono::milliseconds kEventsPeriod{250};
  static constexpr std::chrono::milliseconds kEventsMinGap{1000};
  static constexpr std::chrono::milliseconds kEventsKeepAlive{15'000};
  // How often a stream asks the guard whether its client's address has been blocked since.
  static constexpr std::chrono::milliseconds kEventsGuardRecheck{1000};
  // What an EventSource is told to wait before reconnecting (the stream's "retry:" field).
  static constexpr std::chrono::milliseconds kEventsRetry{3000};

 private:
  // What a join body holds, and who it is for.
  struct JoinRequest {
    std::string user_id;     // "userId": a hint in anonymous mode, ignored in signed mode
    std::string page_url;    // "pageUrl": the page the visitor is on (traffic analysis)
    std::string user_token;  // "userToken": the platform's user token (signed mode)
    std::string entry_pass;  // "entryPass"; empty when none
    std::string challenge;   // "challenge" (proof of work); empty when none
    std::string nonce;       // "nonce"; empty when none
    // Resolved: the verified user (signed mode; empty otherwise), and the identity the room
    // holds the place by (its pseudonym; empty in anonymous mode).
    std::string verified_user;
    std::string identity;
  };

  // Who a request on a room is for, as abuse protection counts it: named by the action's `who`
  // step before the guard, and then handed to its work.
  struct Caller {
    // The identity counted (see guard::GuardRequest): a ticket, a signed user, a join's userId
    // (a hint); empty: the client address alone. A view of the request or of the fields below.
    std::string_view identity;
    bool verified = false;
    guard::GuardRequestKind kind = guard::GuardRequestKind::kOther;
    bool bypass = false;  // the guard's verdict: on the allow list (joins are admitted at once)
    JoinRequest join;     // a join: its body, and the user it resolved to
    std::string ticket_from_query;  // a status poll's ticket=, decoded
  };

  // One action on a room (/api/v1/rooms/{room}[/name]), the routing table's row: routing checks
  // the method and finds the room, `who` names the caller (or answers, say, a malformed body:
  // then nothing is counted), the guard counts it and may refuse it, and `work` answers.
  struct RoomAction {
    std::string_view name;  // the path's last segment; empty for the room itself
    http::verb method;      // a GET action takes HEAD too
    http::Endpoint endpoint;
    // Null: the client address alone is counted. False: it has answered.
    bool (PublicApi::*who)(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
    void (PublicApi::*work)(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  };
  static const RoomAction kRoomActions[];

  void Route(http::RequestContext& ctx);

  // `who` steps.
  // A join's caller: its body (JoinBody) and, in signed mode, its user (ResolveUser). The
  // guard is told the verified user, else the userId hint (counted by address only; the
  // operators' lists hold for it). A join: counted against the join limit too.
  bool NameJoiner(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  // A status poll's caller: its ticket (X-VWR-Ticket, else ticket=), verified (it is signed).
  bool NameTicket(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  // A leave's caller: the ticket (X-VWR-Ticket) of a place given back, when it brings no
  // admission token; else the client address alone.
  bool NameLeaver(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);

  // `work` steps.
  void Join(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  void Status(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  // A waiting ticket's Server-Sent Events: its position and estimate as they change, its
  // admission at once (events.cpp). Checked as a status poll is (the ticket, the guard).
  void Events(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  class TicketEvents;
  friend class TicketEvents;
  void Heartbeat(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  void Leave(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  // A leave with a ticket and no admission token: the waiting or called place is given back.
  void GiveBackPlace(http::RoomEntry& room, http::RequestContext& ctx, std::string_view ticket);
  void RoomInfo(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);
  void Challenge(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller);

  // A join on the allow list: admitted at once, like one with an entry pass.
  void JoinBypass(http::RoomEntry& room, http::RequestContext& ctx, std::string identity);
  // Signed mode: the user the request's user token names, into body.verified_user and
  // body.identity; the error response when it has none that holds.
  std::optional<http::Response> ResolveUser(const http::RequestContext& ctx, JoinRequest& body);
  // A join that brought a ticket of this room: its standing, or (spent) a fresh join.
  void Rejoin(http::RoomEntry& room, http::RequestContext& ctx, JoinRequest body,
              std::uint64_t ticket, std::uint64_t frontier_at_join, std::string ticket_text);
  // A fresh join: the proof of work, when the room asks one, then JoinChecked.
  void JoinFresh(http::RoomEntry& room, http::RequestContext& ctx, JoinRequest body);
  // The join once its proof of work (if the room asks one) has been accepted.
  void JoinChecked(http::RoomEntry& room, http::RequestContext& ctx, JoinRequest body);
  // A join that brought a valid entry pass: the session it was earned with while it lives,
  // else admitted at once into the one session the pass (or its signed user) may hold.
  void JoinWithPass(http::RoomEntry& room, http::RequestContext& ctx, std::string identity,
                    std::string pass, const token::EntryPassClaims& claims);
  void AdmitWithPass(http::RoomEntry& room, http::RequestContext& ctx, std::string identity,
                     std::string pass, const token::EntryPassClaims& claims);
  // /api/v1/verify: finds the room, then VerifyToken.
  void Verify(http::RequestContext& ctx);
  // Checks `token` (a view of the request) for `room` and answers. A token naming a key not
  // held yet is looked up once (`may_look_up`) and checked again. When it passes: the session
  // is refreshed (coalesced, SessionActivity), and a token past half its lifetime gets a fresh
  // one in the answer.
  void VerifyToken(http::RoomEntry& room, http::RequestContext& ctx, std::string_view token,
                   bool may_look_up);
  // A verified token's session: refreshed in the store (coalesced), and the fresh token for a
  // token past half its lifetime put into `res` (kTokenHeader, kSetCookieHeader).
  void RefreshSession(http::RoomEntry& room, const token::AdmissionClaims& claims, std::int64_t now,
                      http::Response& res);
  // Looks up key `kid` (SetKeyLookup), counts the outcome, then runs `found(ctx)` when the key
  // ring holds it now, else answers `refused`.
  void LookUpKey(std::string kid, http::RequestContext& ctx, http::Response refused,
                 std::function<void(http::RequestContext&)> found);
  // The 401 of /api/v1/verify: the error, the waiting page's URL, no-store.
  http::Response NotAdmitted(http::RoomEntry& room, const http::RequestContext& ctx,
                             http::VerifyOutcome outcome, http::ApiError error,
                             std::string_view message);
  // /wait/<room>?return=<the original URL>, on web.public_url when configured.
  std::string WaitUrl(std::string_view room, const http::Request& request);
  http::Response Jwks(const http::RequestContext& ctx);
  // The token subject of an identity a room holds: its pseudonym, or "anon".
  static std::string_view SubjectOf(std::string_view identity);
  // The answer when the store failed.
  void Fail(http::RequestContext& ctx, const boost::system::error_code& error);
  // The same for a join or a claim, by the room's failure policy: 503, or admitted.
  void FailOpenOrClosed(http::RoomEntry& room, http::RequestContext& ctx,
                        const boost::system::error_code& error, const std::string& identity);
  // Reads a join body into `out`; the error response when it is not acceptable.
  static std::optional<http::Response> JoinBody(const http::RequestContext& ctx, JoinRequest& out);

  // A token signed by a key this node does not hold (yet): its kid, to be looked up.
  struct UnknownKey {
    std::string kid;
    http::Response refused;  // the answer when it is not found
  };
  // The session ticket named by the request's admission token, or an error response, or a key
  // to look up first (only when `may_look_up` and a KeyLookup is set).
  // check_time: the token must also be within [nbf, exp). `admitted_unix`, when given, gets
  // when the session began (the token's auth_time; 0 when it names none).
  std::variant<std::uint64_t, http::Response, UnknownKey> SessionOf(
      store::RoomState& room, const http::RequestContext& ctx, bool check_time, bool may_look_up,
      std::int64_t* admitted_unix = nullptr);
  void HeartbeatSession(http::RoomEntry& room, http::RequestContext& ctx, bool may_look_up);
  void LeaveSession(http::RoomEntry& room, http::RequestContext& ctx, bool may_look_up);
  // An entry pass handed out with an admitted answer.
  struct PassGrant {
    std::string pass;
    std::int64_t exp = 0;  // unix seconds
  };
  // The signed ticket of a join's answer; empty when none was issued.
  std::string TicketOf(const store::RoomState& room, const store::TicketAnswer& answer) const;
  // Answers with a ticket's standing: 200 with the JSON body, and when admitted a fresh
  // admission token and the cookies. `presented`: the pass the join was admitted by (handed
  // back as it is, never renewed); otherwise a room with entry passes hands out a new one with
  // an admission of the line. When a token or pass cannot be signed: 503 (no signing key yet)
  // or 500, and a log line.
  void AnswerTicket(http::RequestContext& ctx, store::RoomState& room,
                    const store::TicketAnswer& answer, std::string_view ticket,
                    const PassGrant* presented = nullptr);
  std::string RenderAnswer(store::RoomState& room, const store::TicketAnswer& answer,
                           std::string_view ticket, std::string_view token, const PassGrant* pass);
  // How long room `room`'s tokens live: rooms[].token_lifetime, else its session_timeout.
  std::chrono::seconds TokenLifetime(store::RoomState& room) const;
  // The latest exp a token of a session admitted at `admitted_unix` may have: now + lifetime,
  // and never past the end rooms[].session_max sets (admitted_unix + session_max) when the
  // admission time is known.
  std::int64_t TokenExpiry(store::RoomState& room, std::int64_t now, std::int64_t admitted_unix,
                           std::chrono::seconds lifetime) const;
  // The admission token for an admitted answer, and its lifetime.
  boost::system::result<std::string, token::SignError> IssueToken(store::RoomState& room,
                                                                  const store::TicketAnswer& answer,
                                                                  std::int64_t now,
                                                                  std::int64_t& lifetime_s);
  // The entry pass an admitted answer of the line comes with, or nullopt (no entry pass in the
  // room, a session without a ticket of the line, or a pass time already over).
  boost::system::result<std::optional<PassGrant>, token::SignError> IssuePass(
      store::RoomState& room, const store::TicketAnswer& answer, std::int64_t now);
  // Answers a request whose admitted answer could not be signed, and says so in the log.
  void SigningFailed(http::RequestContext& ctx, store::RoomState& room, std::string_view what,
                     token::SignError error);
  std::int64_t WallSeconds() const;

  http::RoomDirectory& rooms_;
  const token::TicketCodec& tickets_;
  const token::AdmissionTokenSigner& tokens_;
  const token::IdentityPseudonyms pseudonyms_;
  const util::Clock& clock_;
  http::ApiMetrics& metrics_;
  util::LogLimiter fail_open_log_;
  util::LogLimiter sign_log_;  // answers that could not be signed: one line a second at most
  PublicApiOptions options_;
  http::RequestPipeline pipeline_;
  token::EntryPassCodec passes_;
  util::Published<TokenLifetimes> token_lifetimes_;
  util::Published<EntryPasses> entry_passes_;
  util::Published<token::PowSettings> pow_;
  std::atomic<std::int64_t> pow_not_before_ms_{0};
  token::ChallengeCodec challenges_;
  util::Published<http::RoomRoutes> routes_;
  KeyLookup key_lookup_;
  SessionActivity activity_;
};

}  // namespace vwr::api
