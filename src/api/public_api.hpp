#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "api/api_metrics.hpp"
#include "api/error_log.hpp"
#include "api/http.hpp"
#include "api/room_directory.hpp"
#include "store/store.hpp"
#include "token/admission_token.hpp"
#include "token/key.hpp"
#include "token/ticket_codec.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::api {

struct PublicApiOptions {
  std::string issuer = "vwr";  // the admission tokens' iss (tokens.issuer)
  // Serves the pages people see (the waiting page, the SDK, the demo, their assets): every path
  // that IsWebPath names. Null: those paths are not found.
  Handler* web = nullptr;
};

// The paths of the pages people see, outside the API: "/", and /wait/, /sdk/, /demo/, /assets/.
bool IsWebPath(std::string_view path);

// Admission token lifetimes by room id (rooms[].token_lifetime); a room not listed uses its
// session_timeout.
using TokenLifetimes =
    std::unordered_map<std::string, std::chrono::seconds, util::StringHash, std::equal_to<>>;

// The native JSON API on the public listener:
//   POST /api/v1/rooms/{room}/join        -> a place in line (or admission at once)
//   GET  /api/v1/rooms/{room}/status      -> where a ticket stands; claims it when called
//   POST /api/v1/rooms/{room}/heartbeat   -> keeps an admitted session alive
//   POST /api/v1/rooms/{room}/leave       -> ends the session, frees the slot
//   GET  /api/v1/rooms/{room}             -> what a newcomer would face
//   GET  /.well-known/jwks.json           -> the public keys that verify admission tokens
// Thin: decode, call the store, encode. Thread-safe.
class PublicApi final : public Handler {
 public:
  PublicApi(RoomDirectory& rooms, const token::TicketCodec& tickets,
            const token::AdmissionTokenSigner& tokens, const token::SecretKey& identity_key,
            const util::Clock& clock, ApiMetrics& metrics, PublicApiOptions options = {});

  void Serve(const Request& request, const ConnectionInfo& connection, Respond respond) override;

  // Replaces the per-room token lifetimes (at start, and on a configuration reload). Rare: each
  // call keeps a copy for the process's life (util::Published).
  void SetTokenLifetimes(TokenLifetimes lifetimes) {
    token_lifetimes_.Publish(std::move(lifetimes));
  }

  // Limits on what a client may send in a join body.
  static constexpr std::size_t kMaxUserIdBytes = 256;
  static constexpr std::size_t kMaxPageUrlBytes = 2048;
  static constexpr std::string_view kTicketHeader = "X-VWR-Ticket";

 private:
  // One request on its way: what the answer needs once the store has done its part. The request
  // and the connection stay alive until `respond` is called (the server holds them).
  struct Call {
    const Request* request;
    const ConnectionInfo* connection;
    Respond respond;
    util::TimePoint start;
    Endpoint endpoint;
  };

  void Route(Call& call);
  void Join(RoomEntry& room, Call& call);
  void Status(RoomEntry& room, Call& call);
  void Heartbeat(RoomEntry& room, Call& call);
  void Leave(RoomEntry& room, Call& call);
  Response RoomInfo(RoomEntry& room, const Request& request);
  Response Jwks(const Request& request);
  // Counts and logs the answer, then sends it.
  void Finish(Call& call, Response response);
  // The answer when the store failed.
  void Fail(Call& call, const boost::system::error_code& error);
  // The same for a join or a claim, by the room's failure policy: 503, or admitted.
  void FailOpenOrClosed(RoomEntry& room, Call& call, const boost::system::error_code& error,
                        const std::string& identity);
  // Reads a join body into `user_id`; the error response when it is not acceptable.
  std::optional<Response> JoinBody(const std::string& body, std::string& user_id, unsigned v,
                                   bool ka);
  static Response NoContent(const Request& request);

  // The session ticket named by the request's admission token, or an error response.
  // check_time: the token must also be within [nbf, exp).
  std::variant<std::uint64_t, Response> SessionOf(store::RoomState& room, const Request& request,
                                                  bool check_time);
  std::string RenderAnswer(store::RoomState& room, const store::TicketAnswer& answer,
                           std::string_view ticket);
  std::string IssueToken(store::RoomState& room, const store::TicketAnswer& answer);

  RoomDirectory& rooms_;
  const token::TicketCodec& tickets_;
  const token::AdmissionTokenSigner& tokens_;
  const token::SecretKey& identity_key_;
  const util::Clock& clock_;
  ApiMetrics& metrics_;
  ErrorLog error_log_;
  util::LogLimiter fail_open_log_;
  PublicApiOptions options_;
  util::Published<TokenLifetimes> token_lifetimes_;
};

}  // namespace vwr::api
