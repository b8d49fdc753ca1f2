#include "tracer/tracer_api.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

#include "http/answer_body.hpp"
#include "http/cookies.hpp"
#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "util/base64.hpp"
#include "util/recycling_allocator.hpp"

namespace vwr::tracer {
namespace {

enum Field : std::size_t {
  kHost,
  kIp,
  kLoginId,
  kPort,
  kPageUrl,
  kIsWait,
  kWaitCnt,
  kLimitCnt,
  kSessionTimeOut,
  kWaitQueueSize,
  kWaitMyCnt,
  kUserAgent,
  kTracerDomain,
};

constexpr char kKeySeparator = '\x1f';

// A number's decimal digits, held for as long as the view it hands out is used.
class Digits {
 public:
  explicit Digits(std::uint64_t n)
      : size_(static_cast<std::size_t>(
            std::to_chars(buffer_.data(), buffer_.data() + buffer_.size(), n).ptr -
            buffer_.data())) {}
  Digits(const Digits&) = delete;
  Digits& operator=(const Digits&) = delete;
  std::string_view view() const { return {buffer_.data(), size_}; }

 private:
  std::array<char, 24> buffer_{};
  std::size_t size_;
};

// The host and the path of a pageUrl: "https://shop.example.com:8443/sale/1?x" gives
// "shop.example.com:8443" and "/sale/1?x"; "/sale" gives "" and "/sale".
void SplitPageUrl(std::string_view url, std::string_view& host, std::string_view& target) {
  host = {};
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
    const auto end = url.find_first_of("/?#");
    host = url.substr(0, end);
    if (const auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
    url = end == std::string_view::npos ? std::string_view{} : url.substr(end);
  }
  target = !url.empty() && url.front() == '/' ? url : std::string_view("/");
}

bool WantsJson(const http::Request& req, const FormFields& fields) {
  if (const auto format = fields.Find("format"); format && *format == "json") return true;
  const std::string_view accept = req[http::field::accept];
  return accept.find("application/json") != std::string_view::npos;
}

// The bytes AppendEscaped has to look at: markup and the control characters. Everything else
// is copied as it is, and a lookup per byte keeps the scan of a plain value short.
constexpr std::array<bool, 256> kXmlSpecial = [] {
  std::array<bool, 256> special{};
  for (std::size_t c = 0; c < 0x20; ++c) special[c] = true;
  for (const unsigned char c : std::string_view("&<>\"'")) special[c] = true;
  return special;
}();

// XML-escapes `text` onto `out`. With `flatten_whitespace`, TAB, CR and LF become spaces.
void AppendEscaped(std::string& out, std::string_view text, bool flatten_whitespace) {
  // Runs of plain characters are appended whole: most values have nothing to escape.
  std::size_t plain = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!kXmlSpecial[static_cast<unsigned char>(c)]) continue;
    std::string_view replacement;
    switch (c) {
      case '&':
        replacement = "&amp;";
        break;
      case '<':
        replacement = "&lt;";
        break;
      case '>':
        replacement = "&gt;";
        break;
      case '"':
        replacement = "&quot;";
        break;
      case '\'':
        replacement = "&apos;";
        break;
      case '\t':
      case '\n':
      case '\r':
        if (!flatten_whitespace) continue;
        replacement = " ";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return, not even
        // escaped: anything else is dropped (form values are UTF-8 without NUL already).
        if (static_cast<unsigned char>(c) >= 0x20) continue;
    }
    out.append(text.substr(plain, i - plain));
    out.append(replacement);
    plain = i + 1;
  }
  out.append(text.substr(plain));
}

}  // namespace

void AppendXmlEscaped(std::string& out, std::string_view text) {
  AppendEscaped(out, text, /*flatten_whitespace=*/false);
}

std::string RenderTracerXml(const TracerValues& values) {
  // The legacy client script reads the answer as the root's textContent split on TABs, by
  // index: the layout's whitespace is part of the contract. The text before the first value
  // holds two TABs ("\n\t" after <Root>, "\n\t" after <Parameters>), so the host is piece 2;
  // each value is followed by "\n\t", so value i is piece 2 + i (isWait 7 ... tracer_domain
  // 14); the text after the last is "\n\t" then "\n". A value's own TAB, CR or LF would shift
  // every piece after it, so they are sent as spaces (the client trims each piece anyway).
  constexpr std::string_view kHead =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Root xmlns=\"http://www.nexacroplatform.com/platform/dataset\">\n"
      "\t<Parameters>\n";
  constexpr std::string_view kOpen = "\t<Parameter id=\"";
  constexpr std::string_view kType = "\" type=\"String\">";
  constexpr std::string_view kClose = "</Parameter>\n";
  constexpr std::string_view kTail = "\t</Parameters>\n</Root>\n";
  // The frame around the values is the same in every answer: made once, as the 14 pieces that
  // come before, between and after the 13 values, so that an answer is 14 copies of the frame
  // and 13 escaped values.
  static const std::array<std::string, kTracerFields.size() + 1> kFrame = [&] {
    std::array<std::string, kTracerFields.size() + 1> frame;
    frame[0] = kHead;
    for (std::size_t i = 0; i < kTracerFields.size(); ++i) {
      frame[i].append(kOpen).append(kTracerFields[i]).append(kType);
      frame[i + 1] = kClose;
    }
    frame.back().append(kTail);
    return frame;
  }();
  // One allocation for the usual answer (about 900 bytes): the frame and the values as they
  // are, with a little room for escapes.
  std::size_t size = 32;
  for (const std::string& piece : kFrame) size += piece.size();
  for (const std::string_view value : values) size += value.size();
  std::string out = http::TakeAnswerBody(size);  // a worker's recycled body
  for (std::size_t i = 0; i < kTracerFields.size(); ++i) {
    out += kFrame[i];
    AppendEscaped(out, values[i], /*flatten_whitespace=*/true);
  }
  out += kFrame.back();
  return out;
}

std::string RenderTracerJson(const TracerValues& values,
                             const std::optional<core::WaitEstimate>& wait) {
  std::string out = http::TakeAnswerBody(512);
  out += '{';
  for (std::size_t i = 0; i < kTracerFields.size(); ++i) {
    if (i > 0) out += ',';
    http::AppendJsonString(out, kTracerFields[i]);
    out += ':';
    http::AppendJsonString(out, values[i]);
  }
  if (wait) {
    fmt::format_to(std::back_inserter(out), R"(,"etaSeconds":{},"etaRange":[{},{}])",
                   wait->eta_seconds, wait->low_seconds, wait->high_seconds);
  }
  out += '}';
  return out;
}

namespace {

// A waiting answer's estimate, when it has one (none while paused).
std::optional<core::WaitEstimate> WaitOf(const store::TicketAnswer& answer) {
  if (!answer.eta_seconds) return std::nullopt;
  return core::WaitEstimate{*answer.eta_seconds,
                            answer.eta_low_seconds.value_or(*answer.eta_seconds),
                            answer.eta_high_seconds.value_or(*answer.eta_seconds)};
}

}  // namespace

bool TracerApi::Owns(std::string_view path) { return path.starts_with("/TRACERAPI/"); }

std::optional<IdentityBinding> ParseIdentityBinding(std::string_view text) {
  if (text == "cookie") return IdentityBinding::kCookie;
  if (text == "address") return IdentityBinding::kAddress;
  if (text == "none") return IdentityBinding::kNone;
  return std::nullopt;
}

std::string TracerIdentity(IdentityBinding binding, std::string_view login_id,
                           std::string_view cookie, const boost::asio::ip::address& client) {
  if (login_id.empty()) {
    return cookie.empty() ? fmt::format("ip:{}", client.to_string()) : fmt::format("wc:{}", cookie);
  }
  // The digest's input: a label, what the loginId is bound to, the loginId's length and the
  // loginId, then the binder (last, so only the loginId needs its length to be unambiguous).
  // An address binds by its bytes: an IPv4 address whole (also when IPv4-mapped), an IPv6
  // address by its /64, which a device keeps while its temporary (privacy) addresses change.
  std::string_view kind = "none";
  std::string_view binder;
  std::array<unsigned char, 16> address_bytes{};
  // A cookie that is the loginId itself (deployed clients send their wcCookie's value as the
  // loginId) tells nothing more than the loginId: whoever knows one knows the other, so such a
  // call binds to its address.
  if (binding == IdentityBinding::kCookie && !cookie.empty() && cookie != login_id) {
    kind = "wc";
    binder = cookie;
  } else if (binding != IdentityBinding::kNone) {
    const boost::asio::ip::address_v6 v6 =
        client.is_v6() ? client.to_v6() : boost::asio::ip::address_v6();
    if (client.is_v4() || v6.is_v4_mapped()) {
      kind = "ip4";
      const auto v4 =
          client.is_v4()
              ? client.to_v4().to_bytes()
              : boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_bytes();
      std::copy(v4.begin(), v4.end(), address_bytes.begin());
      binder = std::string_view(reinterpret_cast<const char*>(address_bytes.data()), v4.size());
    } else {
      kind = "ip6/64";
      const auto v6_bytes = v6.to_bytes();
      std::copy(v6_bytes.begin(), v6_bytes.begin() + 8, address_bytes.begin());
      binder = std::string_view(reinterpret_cast<const char*>(address_bytes.data()), 8);
    }
  }
  std::array<char, 24> length{};
  const char* length_end =
      std::to_chars(length.data(), length.data() + length.size(), login_id.size()).ptr;
  // SHA256_* are deprecated in OpenSSL 3 for EVP_Digest*, which allocates and looks up the
  // provider on every use: several times the cost of hashing these few bytes, on every poll.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SHA256_CTX sha;
  SHA256_Init(&sha);
  const auto update = [&sha](std::string_view part) {
    SHA256_Update(&sha, part.data(), part.size());
  };
  update("vwr.tracer.identity.v1\n");
  update(kind);
  update("\n");
  update(std::string_view(length.data(), static_cast<std::size_t>(length_end - length.data())));
  update(":");
  update(login_id);
  update(binder);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256_Final(digest.data(), &sha);
#pragma GCC diagnostic pop
  std::string identity;
  identity.reserve(3 + util::Base64UrlEncodedLength(16));
  identity += "id:";
  util::Base64UrlEncodeAppend(std::span<const std::uint8_t>(digest.data(), 16), identity);
  return identity;
}

struct TracerApi::Call {
  explicit Call(http::RequestContext context) : ctx(std::move(context)) {}
  http::RequestContext ctx;
  FormFields fields;
  http::RoomEntry* room = nullptr;
  std::string key;  // "<room>\x1f<identity>"
  std::string_view identity() const {
    return std::string_view(key).substr(key.find(kKeySeparator) + 1);
  }
  bool json = false;
  bool cors = false;           // the request's Origin may read the answer
  Place place;                 // what the cache held, or learned
  bool rejoined = false;       // a spent place was replaced once already
  std::string store_identity;  // StoreIdentity(): empty until a store call needs it
  std::string user;            // a signed caller: the user its token names; else empty
};

const std::string& TracerApi::StoreIdentity(Call& call) const {
  if (call.store_identity.empty()) call.store_identity = pseudonyms_.Of(call.identity());
  return call.store_identity;
}

TracerApi::TracerApi(http::RoomDirectory& rooms, const util::Clock& clock,
                     http::ApiMetrics& metrics, const token::IdentityPseudonyms& pseudonyms,
                     TracerOptions options)
    : rooms_(rooms),
      clock_(clock),
      pseudonyms_(pseudonyms),
      fail_log_(clock, 1),
      user_log_(clock, 1),
      options_(std::move(options)),
      pipeline_(clock, metrics,
                {.trusted_proxies = options_.trusted_proxies, .guard = options_.guard}),
      max_per_stripe_(std::max<std::size_t>(1, options_.max_cached_identities / kStripes)) {
  if (options_.allowed_origins) {
    std::vector<std::string> rejected;
    const AllowedOrigins& origins =
        origins_.Publish(AllowedOrigins::FromList(*options_.allowed_origins, &rejected));
    for (const std::string& entry : rejected) {
      spdlog::warn("TRACER: tracer.allowed_origins: left out {:?}, which is not an origin", entry);
    }
    if (origins.empty()) {
      spdlog::warn(
          "TRACER: no site's pages may call it from a browser (tracer.allowed_origins "
          "is empty); legacy clients on other sites will fail and let their users in");
    } else {
      spdlog::info("TRACER: browser pages of {} may call it", origins.Describe());
    }
  }
}

void TracerApi::SetRoutes(const std::vector<http::RoomRoute>& routes) {
  routes_.Publish(http::RoomRoutes(routes));
  if (options_.allowed_origins) return;
  AllowedOrigins next = AllowedOrigins::FromRoomHosts(routes);
  if (next.patterns() == origins_.Get().patterns() && !next.empty()) return;
  const AllowedOrigins& origins = origins_.Publish(std::move(next));
  if (origins.empty()) {
    spdlog::warn(
        "TRACER: no site's pages may call it from a browser: the rooms match every host "
        "and tracer.allowed_origins is not set; legacy clients on other sites will fail "
        "and let their users in (set tracer.allowed_origins)");
  } else {
    spdlog::info("TRACER: browser pages of {} may call it (the rooms' match hosts)",
                 origins.Describe());
  }
}

bool TracerApi::OriginAllowed(std::string_view origin, std::string_view host) const {
  return origins_.Get().Allows(origin) || IsSameOrigin(origin, host);
}

TracerApi::Stripe& TracerApi::StripeOf(std::string_view key) {
  return stripes_[std::hash<std::string_view>{}(key) % kStripes];
}

bool TracerApi::Lookup(std::string_view key, Place& out) {
  Stripe& stripe = StripeOf(key);
  const std::lock_guard lock(stripe.mu);
  auto it = stripe.places.find(key);
  if (it == stripe.places.end()) return false;
  out = it->second;
  return true;
}

void TracerApi::Remember(const std::string& key, const Place& place) {
  Stripe& stripe = StripeOf(key);
  const std::lock_guard lock(stripe.mu);
  if (stripe.places.size() >= max_per_stripe_ && !stripe.places.contains(key)) {
    // Full: one falls out. Its next call asks the store again, which still knows its place.
    stripe.places.erase(stripe.places.begin());
  }
  stripe.places[key] = place;
}

void TracerApi::RememberAnswered(std::string_view key, const Place& place, std::uint64_t position,
                                 std::uint64_t queue_size) {
  Stripe& stripe = StripeOf(key);
  const std::lock_guard lock(stripe.mu);
  // Only onto the same place: a concurrent call may have replaced the entry meanwhile.
  if (auto it = stripe.places.find(key); it != stripe.places.end() &&
                                         it->second.ticket == place.ticket &&
                                         it->second.incarnation == place.incarnation) {
    it->second.position = position;
    it->second.queue_size = queue_size;
  }
}

void TracerApi::Forget(std::string_view key) {
  Stripe& stripe = StripeOf(key);
  const std::lock_guard lock(stripe.mu);
  if (auto it = stripe.places.find(key); it != stripe.places.end()) stripe.places.erase(it);
}

http::RoomEntry* TracerApi::RoomFor(std::string_view host, std::string_view page_url) {
  std::string_view url_host;
  std::string_view target;
  SplitPageUrl(page_url, url_host, target);
  if (host.empty()) host = url_host;
  if (const std::string* id = routes_.Get().Find(host, target)) {
    if (http::RoomEntry* room = rooms_.Find(*id)) return room;
  }
  if (http::RoomEntry* room = rooms_.Find("default")) return room;
  const std::vector<http::RoomEntry*>& all = rooms_.entries();
  return all.empty() ? nullptr : all.front();
}

void TracerApi::Answer(Call& call, http::Response response) {
  response.set(http::field::cache_control, "no-store");
  const http::Request& req = call.ctx.request();
  if (call.cors) {
    // The legacy client script runs on the protected site's pages and calls this host; with
    // credentials, so that a wcCookie the script set for this host comes along. The answer
    // depends on the Origin: a cache must keep one per origin.
    response.set(http::field::access_control_allow_origin, req[http::field::origin]);
    response.set(http::field::access_control_allow_credentials, "true");
    response.set(http::field::vary, "Origin");
  } else if (req.find(http::field::origin) != req.end()) {
    response.set(http::field::vary, "Origin");
  }
  call.ctx.Finish(std::move(response));
}

void TracerApi::Serve(const http::Request& req, const http::ConnectionInfo& connection,
                      http::Respond respond) {
  // Made and dropped by every call: its memory is recycled, as the header fields' are.
  auto call = std::allocate_shared<Call>(util::RecyclingAllocator<Call>(),
                                         pipeline_.Begin(req, connection, std::move(respond)));
  http::RequestContext& ctx = call->ctx;
  const std::string_view path = http::PathOf(req.target());
  if (path == "/TRACERAPI/inputQueue.do") {
    ctx.set_endpoint(http::Endpoint::kTracerInput);
  } else if (path == "/TRACERAPI/outQueue.do" || path == "/TRACERAPI/outputQueue.do") {
    // outQueue.do is what every legacy client calls; outputQueue.do is kept as an alias.
    ctx.set_endpoint(http::Endpoint::kTracerOutput);
  } else if (path == "/TRACERAPI/checkBotIp.do") {
    ctx.set_endpoint(http::Endpoint::kTracerCheckBot);
  } else {
    return Answer(*call, ctx.ErrorResponse(http::ApiError::kNotFound, "no such endpoint"));
  }
  // A browser names the page's origin (a cross-origin call, a same-origin POST). A page of a site
  // that may not call is refused before anything else, so that it cannot drive its visitors'
  // places (take one, or check out an identity bound to their address); without CORS headers
  // the browser does not let it read the answer either. Calls without an Origin are not from a
  // browser page (or are same-origin GETs): nothing to refuse.
  if (const auto origin = req.find(http::field::origin); origin != req.end()) {
    if (!OriginAllowed(origin->value(), req[http::field::host])) {
      return Answer(
          *call, ctx.ErrorResponse(http::ApiError::kOriginNotAllowed,
                                   "the Origin is not allowed to call this API "
                                   "(tracer.allowed_origins, by default the rooms' match hosts)"));
    }
    call->cors = true;
  }
  if (req.method() == http::verb::options) {
    // A CORS preflight of the legacy client script.
    http::Response res = ctx.EmptyResponse(http::status::no_content);
    res.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    res.set(http::field::access_control_allow_headers, "Content-Type, Accept");
    res.set(http::field::access_control_max_age, "600");
    return Answer(*call, std::move(res));
  }
  // Not HEAD: a call may take a place in line, which a probe must not do.
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    http::Response res = ctx.ErrorResponse(http::ApiError::kMethodNotAllowed, "use POST or GET");
    res.set(http::field::allow, "GET, POST, OPTIONS");
    return Answer(*call, std::move(res));
  }
  // The fields: the form body of a POST and the query string, both (Nexacro clients send them
  // in the query string of a POST). When both carry a field, the body's wins.
  auto parsed = ParseForm(req.method() == http::verb::post ? std::string_view(req.body())
                                                           : std::string_view());
  if (parsed) {
    auto query = ParseForm(http::QueryOf(req.target()));
    if (query) {
      parsed->Append(std::move(*query));
    } else {
      parsed = query.error();
    }
  }
  if (!parsed) {
    if (ctx.endpoint() == http::Endpoint::kTracerCheckBot) {
      http::Response res = ctx.EmptyResponse(http::status::bad_request);
      res.set(http::field::content_type, "text/plain; charset=UTF-8");
      res.body() = "E";
      res.prepare_payload();
      return Answer(*call, std::move(res));
    }
    return Answer(*call, ctx.ErrorResponse(http::ApiError::kBadRequest, parsed.error().Message()));
  }
  call->fields = std::move(*parsed);
  call->json = WantsJson(req, call->fields);
  // The client address is the context's (ClientIp). The form's ip: recorded (echoed), used
  // only when the operator trusts the clients.
  if (options_.trust_client_ip) {
    if (const auto ip = call->fields.Find("ip"); ip && !ip->empty()) {
      boost::system::error_code ec;
      const auto address = boost::asio::ip::make_address(std::string(*ip), ec);
      if (!ec) ctx.set_client_ip(address);
    }
  }
  call->room =
      RoomFor(call->fields.Find("host").value_or(""), call->fields.Find("pageUrl").value_or(""));
  if (call->room == nullptr) {
    return Answer(*call, ctx.ErrorResponse(http::ApiError::kRoomNotFound, "no room is configured"));
  }
  ctx.set_room(call->room->state->id());
  // For the traffic analysis' breakdowns: the form's fields live as long as the call. A signed
  // loginId is a user token, never recorded: the user it names is, once verified (below).
  ctx.set_visitor({.page_url = call->fields.Find("pageUrl").value_or(""),
                   .user = options_.user_identity != nullptr
                               ? std::string_view()
                               : call->fields.Find("loginId").value_or(""),
                   .host = call->fields.Find("host").value_or(""),
                   .user_agent = call->fields.Find("userAgent").value_or("")});
  if (ctx.endpoint() == http::Endpoint::kTracerCheckBot) return CheckBotIp(std::move(call));

  // The identity: the loginId bound to the caller, else the wcCookie cookie, else the client
  // address (TracerIdentity).
  const std::string_view login = call->fields.Find("loginId").value_or("");
  const std::string_view cookie = http::FindCookie(req, kIdentityCookie, "");
  // A signed loginId is a user token (up to 8 KiB); any other, a name.
  const std::size_t max_login = options_.user_identity != nullptr
                                    ? token::UserIdentityVerifier::kMaxTokenLength
                                    : kMaxIdentityBytes;
  if (login.size() > max_login || (login.empty() && cookie.size() + 3 > kMaxIdentityBytes)) {
    return Answer(*call,
                  ctx.ErrorResponse(http::ApiError::kBadRequest,
                                    fmt::format("loginId (or wcCookie) is longer than {} bytes",
                                                login.empty() ? kMaxIdentityBytes : max_login)));
  }
  std::string identity;
  if (options_.user_identity != nullptr) {
    // The loginId is the platform's user token: the caller is the user it names, wherever it
    // calls from, and the place is that user's (the native API's too).
    auto user = options_.user_identity->Verify(
        login, std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
                   .count());
    if (!user) {
      std::uint64_t suppressed = 0;
      if (user_log_.Allow(suppressed)) {
        spdlog::info(
            "room {}: TRACER {} from {}: the loginId is no valid user token ({}); "
            "answering NE{}",
            call->room->state->id(), http::EndpointName(ctx.endpoint()),
            ctx.client_ip().to_string(), token::UserTokenErrorName(user.error()),
            suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
      }
      return Reply(*call, "NE", 0, 0, call->room->state->Figures().queue_size);
    }
    call->store_identity = pseudonyms_.Of(*user);
    call->user = std::move(*user);
    http::RequestContext::Visitor visitor = ctx.visitor();
    visitor.user = call->user;
    ctx.set_visitor(visitor);
    identity = "su:" + call->store_identity;
  } else {
    identity = TracerIdentity(options_.identity_binding, login, cookie, ctx.client_ip());
  }
  const std::string& room_id = call->room->state->id();
  call->key.reserve(room_id.size() + 1 + identity.size());
  call->key.append(room_id).push_back(kKeySeparator);
  call->key.append(identity);

  if (ctx.endpoint() == http::Endpoint::kTracerOutput) return Output(std::move(call));

  // inputQueue.do: whether the identity holds a place here decides what the guard counts.
  store::RoomState& room = *call->room->state;
  const bool has_place =
      Lookup(call->key, call->place) && call->place.incarnation == room.incarnation();
  ctx.set_tracer_poll(has_place);
  // Abuse protection, once the caller is known. loginId and wcCookie are the client's word: not
  // counted or blocked per identity; a signed caller is the user its token names. An identity
  // without a place here asks for one: a join. Refused: NE, as the legacy service answers.
  const bool verified = !call->user.empty();
  const guard::GuardVerdict verdict =
      ctx.Guard(room.id(), verified ? std::string_view(call->user) : call->identity(), verified,
                has_place ? guard::GuardRequestKind::kOther : guard::GuardRequestKind::kJoin);
  if (verdict.action == guard::GuardAction::kBlock) {
    return Reply(*call, "NE", 0, 0, room.Figures().queue_size);
  }
  if (verdict.action == guard::GuardAction::kBypass && !(has_place && call->place.admitted)) {
    // On the allow list: admitted at once, never queued. (Once admitted, its polls are of that
    // session, not new admissions.)
    return room.Admit(StoreIdentity(*call),
                      [this, call](boost::system::result<store::TicketAnswer> answer) mutable {
                        if (!answer) return Failed(std::move(call), answer.error());
                        Decided(std::move(call), *answer);
                      });
  }
  Input(std::move(call), has_place);
}

void TracerApi::Reply(Call& call, std::string_view is_wait, std::uint64_t wait_cnt,
                      std::uint64_t wait_my_cnt, std::uint64_t queue_size,
                      const std::optional<core::WaitEstimate>& wait) {
  const http::Request& req = call.ctx.request();
  const core::Policy& policy = call.room->state->policy();
  const FormFields& f = call.fields;
  TracerValues values;
  values[kHost] = f.Find("host").value_or("");
  std::string client_ip;  // only when the form has no ip
  const std::string_view ip = f.Find("ip").value_or("");
  if (ip.empty()) client_ip = call.ctx.client_ip().to_string();
  values[kIp] = ip.empty() ? std::string_view(client_ip) : ip;
  values[kLoginId] = f.Find("loginId").value_or("");
  values[kPort] = f.Find("port").value_or("");
  values[kPageUrl] = f.Find("pageUrl").value_or("");
  values[kIsWait] = is_wait;
  const Digits waiting(wait_cnt);
  values[kWaitCnt] = waiting.view();
  const Digits limit(static_cast<std::uint64_t>(std::max<std::int64_t>(0, policy.max_active)));
  values[kLimitCnt] = limit.view();
  const Digits timeout(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(policy.session_timeout).count()));
  values[kSessionTimeOut] = timeout.view();
  const Digits queue(queue_size);
  values[kWaitQueueSize] = queue.view();
  const Digits initial(wait_my_cnt);
  values[kWaitMyCnt] = initial.view();
  const std::string_view agent = f.Find("userAgent").value_or("");
  values[kUserAgent] = agent.empty() ? std::string_view(req[http::field::user_agent]) : agent;
  values[kTracerDomain] = options_.domain;
  http::Response res = call.ctx.EmptyResponse(http::status::ok);
  if (call.json) {
    res.set(http::field::content_type, "application/json");
    res.body() = RenderTracerJson(values, wait);
  } else {
    res.set(http::field::content_type, "text/xml; charset=UTF-8");
    res.body() = RenderTracerXml(values);
  }
  res.prepare_payload();
  Answer(call, std::move(res));
}

void TracerApi::Input(std::shared_ptr<Call> call, bool has_place) {
  store::RoomState& room = *call->room->state;
  if (!has_place) return JoinFor(std::move(call));
  call->room->traffic.polls.Add();
  store::TicketAnswer cached;
  if (!call->place.admitted &&
      room.StatusCached(call->place.ticket, call->place.frontier_at_join, cached)) {
    // The hot path: waiting, answered from what this node holds. What it is told is kept for
    // a store failure (Failed); most polls tell the same as the last and skip that.
    if (cached.position != call->place.position || cached.queue_size != call->place.queue_size) {
      RememberAnswered(call->key, call->place, cached.position, cached.queue_size);
    }
    return Reply(*call, "T", cached.position, call->place.ticket - call->place.frontier_at_join,
                 cached.queue_size, WaitOf(cached));
  }
  // Called, admitted or ended: the store decides, and claims a called ticket.
  const std::uint64_t ticket = call->place.ticket;
  const std::uint64_t frontier_at_join = call->place.frontier_at_join;
  room.Status(ticket, frontier_at_join,
              [this, call](boost::system::result<store::TicketAnswer> answer) mutable {
                if (!answer) return Failed(std::move(call), answer.error());
                Decided(std::move(call), *answer);
              });
}

void TracerApi::JoinFor(std::shared_ptr<Call> call) {
  store::RoomState& room = *call->room->state;
  // The store's Join answers an identity that holds a place with that place: a node that has
  // not seen the identity (or forgot it) gets the same ticket, never a new one.
  room.Join(StoreIdentity(*call),
            [this, call](boost::system::result<store::TicketAnswer> answer) mutable {
              if (!answer) return Failed(std::move(call), answer.error());
              call->place = Place{call->room->state->incarnation(), answer->ticket,
                                  answer->frontier_at_join, false};
              Decided(std::move(call), *answer);
            });
}

void TracerApi::Decided(std::shared_ptr<Call> call, const store::TicketAnswer& answer) {
  store::RoomState& room = *call->room->state;
  switch (answer.status) {
    case core::TicketStatus::kWaiting: {
      Remember(call->key, Place{room.incarnation(), answer.ticket, answer.frontier_at_join, false,
                                answer.position, answer.queue_size});
      return Reply(*call, "T", answer.position, answer.ticket - answer.frontier_at_join,
                   answer.queue_size, WaitOf(answer));
    }
    case core::TicketStatus::kAdmitted: {
      // The session is created; its ticket is what check-out ends. waitMyCnt keeps the place
      // the identity had in line (0 when it never waited).
      const std::uint64_t initial =
          answer.ticket >= answer.frontier_at_join && answer.ticket < core::kBypassTicketBase
              ? answer.ticket - answer.frontier_at_join
              : 0;
      Remember(call->key, Place{room.incarnation(), answer.ticket, answer.frontier_at_join, true, 0,
                                answer.queue_size});
      return Reply(*call, "F", 0, initial, answer.queue_size);
    }
    case core::TicketStatus::kExpired:
      // The place is spent (called and not claimed, or its session ended): a new place in line,
      // as a native client that joins again would get.
      Forget(call->key);
      if (call->rejoined) return Reply(*call, "E", 0, 0, answer.queue_size);
      call->rejoined = true;
      call->place = Place{};  // spent: nothing of it is the caller's place any more
      return JoinFor(std::move(call));
    case core::TicketStatus::kRejected:
    case core::TicketStatus::kFull:
      return Reply(*call, "NE", 0, 0, room.Figures().queue_size);
  }
  Reply(*call, "E", 0, 0, answer.queue_size);
}

void TracerApi::Failed(std::shared_ptr<Call> call, const boost::system::error_code& error) {
  store::RoomState& room = *call->room->state;
  const http::Endpoint endpoint = call->ctx.endpoint();
  const bool wait = !room.fail_open() && endpoint != http::Endpoint::kTracerOutput;
  std::uint64_t suppressed = 0;
  if (fail_log_.Allow(suppressed)) {
    spdlog::warn("room {}: TRACER {}: the store failed ({}); answering {}{}", room.id(),
                 http::EndpointName(endpoint), error.message(), wait ? "T" : "E",
                 suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  }
  // fail_open: E, which legacy clients take as "let the user in". A check-out that did not
  // happen: E in every room; the caller is leaving, and the legacy client goes on after E as
  // after F, but F would report an ended session that still holds its slot (until it is idle
  // past session_timeout), and T would put a leaving user back on the waiting screen.
  // fail_closed: keep the user waiting (T) at the place it was last told (its cache entry), so
  // that its count holds, the client polls on and finds its place again once the store is back,
  // and nobody walks in meanwhile. A caller this node has not answered yet has no place here:
  // 0, with the room's queue as last known.
  if (room.fail_open() || endpoint == http::Endpoint::kTracerOutput) {
    return Reply(*call, "E", 0, 0, 0);
  }
  const Place& place = call->place;
  if (place.incarnation != room.incarnation() || place.ticket == 0) {
    return Reply(*call, "T", 0, 0, room.Figures().queue_size);
  }
  const std::uint64_t initial =
      place.ticket >= place.frontier_at_join && place.ticket < core::kBypassTicketBase
          ? place.ticket - place.frontier_at_join
          : 0;
  Reply(*call, "T", place.position, initial, place.queue_size);
}

void TracerApi::Output(std::shared_ptr<Call> call) {
  store::RoomState& room = *call->room->state;
  auto answer = [this, call](boost::system::result<bool> left) mutable {
    if (!left) return Failed(std::move(call), left.error());
    Forget(call->key);
    Reply(*call, "F", 0, 0, call->room->state->Figures().queue_size);
  };
  const bool known =
      Lookup(call->key, call->place) && call->place.incarnation == room.incarnation();
  if (known && call->place.admitted) return room.Leave(call->place.ticket, std::move(answer));
  if (known) {
    // Waiting or called: the place is given back, so that it counts in nobody's line and takes
    // no slot when its turn comes.
    return room.Withdraw(call->place.ticket, std::move(answer));
  }
  // Not seen here (another node served it, or this one forgot it): the store finds what the
  // identity's place is, and gives it up (its session ends, or its place is given back).
  room.LeaveIdentity(StoreIdentity(*call), std::move(answer));
}

void TracerApi::CheckBotIp(std::shared_ptr<Call> call) {
  const bool blocked = options_.guard != nullptr &&
                       options_.guard->IsBlocked(call->room->state->id(), call->ctx.client_ip());
  http::Response res = call->ctx.EmptyResponse(http::status::ok);
  res.set(http::field::content_type, "text/plain; charset=UTF-8");
  res.body() = blocked ? "T" : "F";
  res.prepare_payload();
  Answer(*call, std::move(res));
}

}  // namespace vwr::tracer
