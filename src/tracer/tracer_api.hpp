#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "guard/guard.hpp"
#include "http/api_metrics.hpp"
#include "http/client_ip.hpp"
#include "http/http.hpp"
#include "http/request_context.hpp"
#include "http/room_directory.hpp"
#include "http/room_routes.hpp"
#include "store/store.hpp"
#include "token/identity.hpp"
#include "token/user_identity.hpp"
#include "tracer/allowed_origins.hpp"
#include "tracer/form.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

// The TRACER-compatible API ("mass access control API"), so that a site whose pages load the
// legacy client script switches to VWR by changing one host name (docs/tracer-compat.md):
//   POST|GET /TRACERAPI/inputQueue.do   -> wait (T), enter (F), not available (NE), error (E)
//   POST|GET /TRACERAPI/outQueue.do     -> check-out: the identity's session ends at once
//                                          (outputQueue.do: the same, an alias)
//   POST|GET /TRACERAPI/checkBotIp.do   -> "F" (not blocked), "T" (blocked), "E" (error)
// The fields come from the form body of a POST and from the query string; the body's win.
namespace vwr::tracer {

// What a sent loginId is bound to (tracer.identity_binding): a loginId is not a secret, so on
// its own it would let anyone who sends it take its place, or check it out.
enum class IdentityBinding : std::uint8_t {
  kCookie,   // the caller's wcCookie when it sends one (and it is not the loginId itself),
             // else its client address (the default)
  kAddress,  // the caller's client address (an IPv6 one by its /64)
  kNone,     // nothing: whoever sends the loginId holds its place (the legacy service; unsafe)
};
std::optional<IdentityBinding> ParseIdentityBinding(std::string_view text);

// Who a TRACER call is, as the store, the poll cache and abuse protection know it. The one place
// this is decided:
//   no loginId, a wcCookie:  "wc:<cookie>"
//   neither:                 "ip:<client address>"
//   a loginId:               "id:<22 characters>", base64url of the first 16 bytes of SHA-256
//                            over the loginId and what `binding` ties it to (the wcCookie or
//                            the client address; nothing with kNone)
// A loginId's identity is in a namespace of its own, so no loginId ("ip:203.0.113.7" neither)
// reaches the place of a caller without one; and the same loginId from another browser or
// address is another place, which can neither take nor check out the first. Bound by
// derivation, not by "the first caller owns it": whoever comes first cannot lock the owner out.
// The digest keeps the identity short (the store takes at most 256 bytes) whatever the loginId
// and cookie. Deterministic, so every node derives the same identity.
std::string TracerIdentity(IdentityBinding binding, std::string_view login_id,
                           std::string_view cookie, const boost::asio::ip::address& client);

struct TracerOptions {
  std::string domain;            // tracer.domain: the tracer_domain field of every answer
  bool trust_client_ip = false;  // tracer.trust_client_ip: the form's `ip` may be the identity
  IdentityBinding identity_binding = IdentityBinding::kCookie;  // tracer.identity_binding
  // tracer.allowed_origins: the sites whose pages may call from a browser; nullopt: the rooms'
  // match hosts (recomputed on every SetRoutes).
  std::optional<std::vector<std::string>> allowed_origins;
  std::vector<util::IpRange> trusted_proxies;  // server.trusted_proxies (for ClientIp)
  guard::Guard* guard = nullptr;               // null: nobody is blocked
  // identity.tracer_login_id: the loginId is the platform's user token, verified here; the
  // caller is the user it names, on whatever browser or address. Null: TracerIdentity.
  const token::UserIdentityVerifier* user_identity = nullptr;
  // How many identities the poll cache holds, all rooms together. One that falls out is
  // asked of the store once more (its Join answers with the place it holds).
  std::size_t max_cached_identities = 1'000'000;
};

// The 13 fields of an inputQueue.do / outQueue.do answer, in the order clients expect.
inline constexpr std::array<std::string_view, 13> kTracerFields = {
    "host",         "ip",       "loginId",          "port",          "pageUrl",   "isWait",
    "waitCnt",      "limitCnt", "session_time_out", "waitQueueSize", "waitMyCnt", "userAgent",
    "tracer_domain"};

// One answer's values, in kTracerFields order: views of what the request and the answer hold,
// so that rendering copies each byte once.
using TracerValues = std::array<std::string_view, kTracerFields.size()>;

// The answer as a Nexacro dataset document, laid out with TABs so that the legacy client's
// reading (the root's textContent split on TABs, piece 2 + i is field i) finds every field:
//   <?xml version="1.0" encoding="UTF-8"?>\n
//   <Root xmlns="http://www.nexacroplatform.com/platform/dataset">\n
//   \t<Parameters>\n
//   \t<Parameter id="NAME" type="String">VALUE</Parameter>\n     (13 lines, kTracerFields order)
//   \t</Parameters>\n
//   </Root>\n
// Values are XML-escaped, and their TABs, CRs and LFs sent as spaces.
std::string RenderTracerXml(const TracerValues& values);
// {"host":"...",...}: the same 13 keys, every value a string; for a waiting answer with an
// estimate, two more that legacy clients ignore: "etaSeconds" (a number) and "etaRange" ([low,
// high] seconds, about the 10th and 90th percentile of the wait).
std::string RenderTracerJson(const TracerValues& values,
                             const std::optional<core::WaitEstimate>& wait = std::nullopt);
// Appends `text` with &, <, >, " and ' escaped.
void AppendXmlEscaped(std::string& out, std::string_view text);

// Whether `path` is one of this API's (under /TRACERAPI/).
bool IsTracerPath(std::string_view path);

// Thread-safe. Identity: TracerIdentity of the loginId, the wcCookie cookie and the client IP
// (ClientIp; the form's `ip` only with trust_client_ip); with signed loginIds, the user the
// loginId's token names ("su:<pseudonym>": the same place as a native join of that user). A
// signed room answers NE to a call whose loginId is not a valid user token. Room: the room whose
// match rules take `host` and pageUrl's path (RoomRoutes); else the room "default"; else the first
// room.
//
// Browsers: a call with an Origin header that is neither the API's own host nor allowed
// (TracerOptions::allowed_origins, by default the rooms' match hosts) is refused (403, no CORS
// headers) before it can take or end a place, so that a page of another site cannot drive its
// visitors' places; an allowed one gets Access-Control-Allow-Origin with credentials.
//
// A poll does not go to the store: the identity's ticket, learned from its first Join, is kept
// in a striped cache (one small lock per stripe, none shared by a room), and a waiting ticket is
// answered from RoomState::StatusCached. Only a ticket that is no longer simply waiting (called,
// admitted, ended) goes to RoomState::Status, which claims it.
class TracerApi final : public http::Handler {
 public:
  // `pseudonyms`: what the rooms hold an identity by; a caller's identity reaches the store only
  // as its pseudonym, the same that a native join of the same signed user has.
  TracerApi(http::RoomDirectory& rooms, const util::Clock& clock, http::ApiMetrics& metrics,
            const token::IdentityPseudonyms& pseudonyms, TracerOptions options);

  void Serve(const http::Request& request, const http::ConnectionInfo& connection,
             http::Respond respond) override;

  // This API's URL space on the public listener: /TRACERAPI/.
  static bool Owns(std::string_view path);

  // The rooms' match rules (at start and on a configuration reload); with no configured
  // allowed_origins, also the origins allowed to call from a browser.
  void SetRoutes(const std::vector<http::RoomRoute>& routes);

  static constexpr std::size_t kMaxIdentityBytes = 256;
  static constexpr std::string_view kIdentityCookie = "wcCookie";

 private:
  struct Place {
    std::uint64_t incarnation = 0;
    std::uint64_t ticket = 0;            // the line's ticket, or the session's when admitted
    std::uint64_t frontier_at_join = 0;  // waitMyCnt = ticket - frontier_at_join
    bool admitted = false;
    // What the identity was last told (waitCnt, waitQueueSize): the place a fail_closed room
    // keeps answering while the store cannot be reached, so that the client's count holds.
    std::uint64_t position = 0;
    std::uint64_t queue_size = 0;
  };
  // identity -> place, for one room; key "<room>\x1f<identity>".
  struct Stripe {
    std::mutex mu;
    std::unordered_map<std::string, Place, util::StringHash, std::equal_to<>> places;
  };
  static constexpr std::size_t kStripes = 64;

  struct Call;  // one request on its way (tracer_api.cpp)

  // inputQueue.do once the guard has let it through. `has_place`: the identity's place is in
  // the poll cache (call->place), of the room's current state.
  void Input(std::shared_ptr<Call> call, bool has_place);
  void Output(std::shared_ptr<Call> call);
  void CheckBotIp(std::shared_ptr<Call> call);
  void JoinFor(std::shared_ptr<Call> call);
  void Decided(std::shared_ptr<Call> call, const store::TicketAnswer& answer);
  void Failed(std::shared_ptr<Call> call, const boost::system::error_code& error);
  // `wait`: the estimate of a waiting answer (the JSON form carries it; the XML does not).
  void Reply(Call& call, std::string_view is_wait, std::uint64_t wait_cnt,
             std::uint64_t wait_my_cnt, std::uint64_t queue_size,
             const std::optional<core::WaitEstimate>& wait = std::nullopt);
  // The CORS headers and no-store every answer carries, then the context's Finish.
  void Answer(Call& call, http::Response response);
  // The identity as the room holds it: its pseudonym (computed at the first store call).
  const std::string& StoreIdentity(Call& call) const;

  // Whether a browser page of `origin` may call (or it is this host's own origin).
  bool OriginAllowed(std::string_view origin, std::string_view host) const;

  Stripe& StripeOf(std::string_view key);
  bool Lookup(std::string_view key, Place& out);
  void Remember(const std::string& key, const Place& place);
  // Records what a cached identity was told about `place` on a poll answered without the store.
  void RememberAnswered(std::string_view key, const Place& place, std::uint64_t position,
                        std::uint64_t queue_size);
  void Forget(std::string_view key);
  http::RoomEntry* RoomFor(std::string_view host, std::string_view page_url);

  http::RoomDirectory& rooms_;
  const util::Clock& clock_;
  const token::IdentityPseudonyms& pseudonyms_;
  util::LogLimiter fail_log_;  // store failures: one line a second at most
  util::LogLimiter user_log_;  // refused user tokens: one line a second at most
  TracerOptions options_;
  http::RequestPipeline pipeline_;
  std::size_t max_per_stripe_;
  std::array<Stripe, kStripes> stripes_;
  util::Published<http::RoomRoutes> routes_;
  util::Published<AllowedOrigins> origins_;
};

}  // namespace vwr::tracer
