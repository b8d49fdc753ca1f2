// Raw bytes of HTTP requests -> the server's parser with its limits -> the real public and admin
// APIs over an in-memory store -> the server's serializer.
//
// Input: requests separated by "~~~". A digit right after a separator first moves the fake clock
// on by that many seconds, ticking the store every 100 ms as the control loop does. Before a
// request is parsed, "$TICKET", "$TOKEN" and "$PASS" in it become the ticket, admission token and
// entry pass of the last answer that carried one, and "$ADMIN" becomes the admin token, so that
// inputs can follow
// a user through join, status, claim, heartbeat, verify, leave and re-entry by pass, and an
// operator through a policy change: a MAC or a constant-time comparison cannot be guessed by a
// fuzzer.
//
// Each request goes to both APIs, like a client that reaches both listeners; the public one hands
// the page paths (/wait/, /sdk/, /assets/, /demo/, /) to the web pages, demo on, and /TRACERAPI/
// to the TRACER-compatible API. Everything (store,
// clock, APIs) is built afresh per input, so a crash reproduces from its input alone.
//
// Invariants, each a crash when broken: no handler throws; every status is a known HTTP code;
// every JSON answer parses (2xx or not); every TRACER XML answer is well formed, its values
// escaped; every HTML answer carries the Content-Security-Policy;
// the serialized answer parses back as HTTP with the same
// status and body; a change the answer reports becomes durable.

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_api.hpp"
#include "admin/room_messages.hpp"
#include "api/public_api.hpp"
#include "app/public_router.hpp"
#include "config/config.hpp"
#include "http/api_metrics.hpp"
#include "http/errors.hpp"
#include "http/room_directory.hpp"
#include "pages/web_handler.hpp"
#include "server/http_server.hpp"
#include "server/request_parser.hpp"
#include "store/embedded_store.hpp"
#include "token/admission_token.hpp"
#include "token/identity.hpp"
#include "token/key.hpp"
#include "token/ticket_codec.hpp"
#include "tracer/tracer_api.hpp"
#include "util/clock.hpp"

namespace {

using namespace vwr;  // NOLINT: a fuzz target's one file

constexpr std::string_view kSeparator = "~~~";
constexpr std::string_view kAdminToken = "fuzz-admin-token-0123456789";
// More requests than this per input add little but time.
constexpr std::size_t kMaxRequests = 64;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "http_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// HTTP_FUZZ_VERBOSE=1 prints every exchange: to check what a seed reaches.
bool verbose = false;

// The listener limits exactly as the server applies them by default.
const config::ServerLimits kLimits;

// What an input's requests act on; one per input.
struct World {
  World() {
    core::Policy tight;  // a room where people wait, claim and time out
    tight.max_active = 2;
    tight.admit_rate = 1;
    tight.burst = 1;
    tight.claim_grace = std::chrono::seconds(3);
    tight.session_timeout = std::chrono::seconds(5);
    store = std::make_unique<store::EmbeddedStore>(
        std::vector<store::RoomSpec>{{"a", tight}, {"default", core::Policy{}}}, clock);
    rooms = std::make_unique<http::RoomDirectory>(*store);
    web = std::make_unique<pages::WebHandler>(*rooms, messages, tokens, clock, metrics,
                                              pages::WebOptions{.demo = true, .demo_room = "a"});
    config::RoomConfig a;
    a.id = a.name = "a";
    a.match = {{"shop.example.com", "/"}, {"*.example.org", "/"}};
    a.page.message = "<b>back at 2pm</b>";
    config::RoomConfig fallback;
    fallback.id = fallback.name = "default";
    fallback.match = {config::RoomMatch{}};
    web->SetRooms({a, fallback});
    tracer::TracerOptions tracer_options;
    tracer_options.domain = "queue.example.com";
    tracer_options.trusted_proxies = {*vwr::util::IpRange::Parse("127.0.0.0/8")};
    tracer = std::make_unique<tracer::TracerApi>(*rooms, clock, metrics, pseudonyms,
                                                 std::move(tracer_options));
    tracer->SetRoutes({{"a", {{"shop.example.com", "/"}, {"*.example.org", "/sale"}}},
                       {"default", {{"*", "/"}}}});
    public_api = std::make_unique<api::PublicApi>(*rooms, tickets, tokens, key, clock, metrics);
    public_api->SetTokenLifetimes({{"a", std::chrono::seconds(4)}});
    public_api->SetEntryPasses({{"a", std::chrono::seconds(60)}});
    // The default room asks a proof of work: joins there meet the challenge checks.
    public_api->SetPow({{"default", token::PowSetting{4, std::chrono::seconds(30)}}});
    public_api->SetRoutes({{"a", {{"shop.example.com", "/"}, {"*.example.org", "/sale"}}},
                           {"default", {{"*", "/"}}}});
    router = std::make_unique<app::PublicRouter>(
        *public_api,
        std::vector<app::PublicRouter::Route>{{&pages::WebHandler::Owns, web.get()},
                                              {&tracer::TracerApi::Owns, tracer.get()}});
    ring.SetOwnKeys(token::SingleKeySet(SigningKey(), 0));
    // A rotation (POST /admin/api/v1/keys/rotate) as the app makes it, in memory.
    admin::AdminKeys keys{
        .ring = &ring, .rotate = [this](admin::AdminKeys::RotateDone done) {
          token::KeySet next = token::SingleKeySet(token::EcPrivateKey::Generate(), 0);
          const std::string old_kid = ring.Current().signer->kid;
          next.keys.push_back(token::KeyRecord{old_kid, *ring.Current().Find(old_kid), 0, 1});
          ring.SetOwnKeys(next);
          token::KeyEvents events;
          events.created = next.keys[0].kid;
          events.retired = old_kid;
          done(events);
        }};
    admin_api = std::make_unique<admin::AdminApi>(*rooms, *store, std::string(kAdminToken), clock,
                                                  metrics, nullptr, std::move(keys));
  }

  // One key for every input: generating one per input would cost more than most inputs.
  static const token::EcPrivateKey& SigningKey() {
    static const token::EcPrivateKey key = token::EcPrivateKey::Generate();
    return key;
  }

  void Advance(int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      clock.Advance(std::chrono::milliseconds(100));
      store->Tick();
    }
  }

  util::FakeClock clock;
  token::SecretKey key{{7, 7, 7}};
  token::IdentityPseudonyms pseudonyms{key};
  token::TicketCodec tickets{key};
  token::KeyRing ring{clock, std::chrono::seconds(600)};
  token::AdmissionTokenSigner tokens{ring, clock};
  http::ApiMetrics metrics;
  std::unique_ptr<store::EmbeddedStore> store;
  std::unique_ptr<http::RoomDirectory> rooms;
  admin::RoomMessages messages;
  std::unique_ptr<pages::WebHandler> web;
  std::unique_ptr<tracer::TracerApi> tracer;
  std::unique_ptr<api::PublicApi> public_api;
  // The public listener as the node assembles it: the pages and the TRACER API by their paths.
  std::unique_ptr<app::PublicRouter> router;
  std::unique_ptr<admin::AdminApi> admin_api;
  std::string ticket;  // of the last answer that had one
  std::string token;   // likewise
  std::string pass;    // likewise
};

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// A TRACER XML answer: the fixed frame of the dataset document around one line per field, in
// kTracerFields order, each "\t<Parameter id=\"NAME\" type=\"String\">VALUE</Parameter>\n",
// whose values carry no markup (every '<' and '&' of a client's field escaped), so a TRACER
// client's XML parser reads it, and no TAB, CR or LF, so that the legacy client's reading (the
// root's text split on TABs) finds field i at piece 2 + i.
void CheckTracerXml(std::string_view body) {
  constexpr std::string_view kHead =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Root xmlns=\"http://www.nexacroplatform.com/platform/dataset\">\n\t<Parameters>\n";
  constexpr std::string_view kTail = "\t</Parameters>\n</Root>\n";
  if (!body.starts_with(kHead) || !body.ends_with(kTail)) Fail("XML answer out of frame", body);
  std::string_view rest = body.substr(kHead.size(), body.size() - kHead.size() - kTail.size());
  constexpr std::string_view kOpen = "\t<Parameter id=\"";
  constexpr std::string_view kType = "\" type=\"String\">";
  constexpr std::string_view kClose = "</Parameter>\n";
  for (const std::string_view name : tracer::kTracerFields) {
    if (!rest.starts_with(kOpen)) Fail("XML answer: not a <Parameter> line", rest);
    rest.remove_prefix(kOpen.size());
    if (!rest.starts_with(name) || !rest.substr(name.size()).starts_with(kType)) {
      Fail("XML answer: not the next field, or not type=\"String\"", rest);
    }
    rest.remove_prefix(name.size() + kType.size());
    const std::size_t value_end = rest.find(kClose);
    if (value_end == std::string_view::npos) Fail("XML answer: unclosed <Parameter>", rest);
    const std::string_view value = rest.substr(0, value_end);
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '<' || value[i] == '>') Fail("XML answer: markup in a value", value);
      if (value[i] == '&') {
        const std::size_t semi = value.find(';', i);
        if (semi == std::string_view::npos || semi - i > 6) {
          Fail("XML answer: bare '&' in a value", value);
        }
      }
      const auto byte = static_cast<unsigned char>(value[i]);
      if (byte < 0x20) Fail("XML answer: a TAB, line break or control character in a value", value);
    }
    rest.remove_prefix(value_end + kClose.size());
  }
  if (!rest.empty()) Fail("XML answer: more than the fields", rest);
}

// Checks an answer and remembers the ticket and token it carries.
void Check(World& world, http::Response& response) {
  const unsigned code = response.result_int();
  if (verbose) std::fprintf(stderr, "%u %s\n", code, response.body().substr(0, 160).c_str());
  if (code < 100 || code > 599 || http::int_to_status(code) == http::status::unknown) {
    Fail("unknown status", std::to_string(code));
  }
  const std::string_view type = response[http::field::content_type];
  if (type.starts_with("application/json")) {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(response.body(), ec);
    if (ec) Fail("JSON answer does not parse", response.body());
    if (const boost::json::object* obj = doc.if_object()) {
      if (const boost::json::value* t = obj->if_contains("ticket"); t && t->is_string()) {
        world.ticket = t->as_string();
      }
      if (const boost::json::value* t = obj->if_contains("token"); t && t->is_string()) {
        world.token = t->as_string();
      }
      if (const boost::json::value* p = obj->if_contains("entryPass"); p && p->is_string()) {
        world.pass = p->as_string();
      }
    }
  } else if (type.starts_with("text/xml")) {
    CheckTracerXml(response.body());
  } else if (type.starts_with("text/html")) {
    if (response["Content-Security-Policy"].empty()) Fail("page without a CSP", response.body());
  } else if (code >= 200 && code < 300 && response.body().empty() == false &&
             !type.starts_with("text/plain") && !type.starts_with("text/javascript") &&
             !type.starts_with("text/css") && !type.starts_with("image/svg+xml")) {
    Fail("2xx answer of an unexpected content type", type);
  }

  std::string wire;
  server::Serialize(response, wire);
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(boost::none);
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(wire), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) Fail("serialized answer does not parse back", wire);
  if (used != wire.size()) Fail("serialized answer has bytes after its end", wire);
  const auto& back = parser.get();
  if (back.result_int() != code || back.body() != response.body()) {
    Fail("serialized answer parses back differently", wire);
  }
}

// One handler's answer to one request, as HttpSession::OnRequest makes it.
void Serve(World& world, http::Handler& handler, const http::Request& request) {
  if (verbose) {
    std::fprintf(stderr, "%s %s %s -> ", &handler == world.router.get() ? "public" : "admin",
                 std::string(request.method_string()).c_str(),
                 std::string(request.target()).c_str());
  }
  http::Response response;
  try {
    // The in-memory store answers every call at once, so this never waits.
    response = handler.Handle(request, http::ConnectionInfo{});
  } catch (const std::exception& e) {
    Fail("handler threw", e.what());
  }
  Check(world, response);
}

// One chunk of input: requests back to back, each parsed with a fresh parser as the server does
// for pipelined requests on one connection.
void ServeChunk(World& world, std::string bytes, std::size_t& budget) {
  ReplaceAll(bytes, "$TICKET", world.ticket);
  ReplaceAll(bytes, "$TOKEN", world.token);
  ReplaceAll(bytes, "$PASS", world.pass);
  ReplaceAll(bytes, "$ADMIN", kAdminToken);
  std::string_view rest = bytes;
  while (!rest.empty() && budget > 0) {
    --budget;
    server::RequestParser parser(kLimits.max_header_bytes, kLimits.max_body_bytes);
    boost::system::error_code ec;
    std::size_t used = 0;
    // Put() takes what it can; the server calls it again with the rest.
    while (!ec && !parser.is_done() && used < rest.size()) {
      const std::size_t n =
          parser.Put(boost::asio::buffer(rest.data() + used, rest.size() - used), ec);
      if (n == 0 && !ec) break;
      used += n;
    }
    if (ec && ec != http::error::need_more) {
      // The server answers an HTTP error with 400, 413 or 431 and closes the connection.
      const server::ReadRefusal refusal = parser.Refusal(ec);
      http::Response error = http::MakeError(refusal.error, refusal.message, 11, false);
      Check(world, error);
      return;
    }
    if (!parser.is_done()) return;  // the client closed the connection mid-request
    rest.remove_prefix(used);
    Serve(world, *world.router, parser.get());
    Serve(world, *world.admin_api, parser.get());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  verbose = std::getenv("HTTP_FUZZ_VERBOSE") != nullptr;
  // Log lines are formatted (so formatting is exercised) and dropped.
  auto logger =
      std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World world;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t budget = kMaxRequests;
  bool first = true;
  while (budget > 0) {
    const std::size_t sep = input.find(kSeparator);
    std::string_view chunk = input.substr(0, sep);
    if (!first && !chunk.empty() && chunk.front() >= '0' && chunk.front() <= '9') {
      world.Advance(chunk.front() - '0');
      chunk.remove_prefix(1);
    }
    first = false;
    ServeChunk(world, std::string(chunk), budget);
    if (sep == std::string_view::npos) break;
    input.remove_prefix(sep + kSeparator.size());
  }
  return 0;
}
