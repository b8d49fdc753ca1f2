#pragma once

#include <string_view>

#include "http/http.hpp"

namespace vwr::http {

// Every error a client can get, mapped to HTTP in one place (HttpStatusOf).
enum class ApiError {
  kBadRequest,         // 400 bad_request: malformed JSON, fields too long, missing parameter
  kInvalidTicket,      // 401 invalid_ticket: ticket forged, altered, or for another room
  kInvalidToken,       // 401 invalid_token: admission token missing, forged or for another room
  kTokenExpired,       // 401 token_expired: a genuine admission token past its exp (verify)
  kSessionEnded,       // 401 session_ended: the token's session has ended (verify)
  kUnauthorized,       // 401 unauthorized: admin token missing or wrong
  kUserTokenRequired,  // 401 user_token_required: identity.mode signed, and the join has none
  kInvalidUserToken,   // 401 invalid_user_token: the platform's user token does not verify
  kPowRequired,        // 403 pow_required: the room asks a proof of work on join, none came
  kPowInvalid,         // 403 pow_invalid: challenge forged or malformed, or a wrong nonce
  kPowExpired,         // 403 pow_expired: the challenge's lifetime is over; fetch a new one
  kPowReplayed,        // 403 pow_replayed: the challenge was used already
  kOriginNotAllowed,   // 403 origin_not_allowed: a page of a site not allowed to call (CORS)
  kNotFound,           // 404 not_found: no such endpoint
  kRoomNotFound,       // 404 room_not_found
  kSessionNotFound,    // 404 session_not_found: the session has ended
  kSignalNotFound,     // 404 signal_not_found: no signal by that name (admin)
  kMethodNotAllowed,   // 405 method_not_allowed
  kPayloadTooLarge,    // 413 payload_too_large
  kBlocked,            // 429 blocked: abuse protection refused the caller (Retry-After)
  kHeadersTooLarge,    // 431 headers_too_large
  kInternal,           // 500 internal
  kUnavailable,        // 503 unavailable: shutting down, or the store cannot serve
};

std::string_view ErrorCode(ApiError error);
http::status HttpStatusOf(ApiError error);

// {"error":{"code":"...","message":"..."}} with the right status, version and keep-alive.
Response MakeError(ApiError error, std::string_view message, unsigned version, bool keep_alive);

// A JSON response with the common headers.
Response MakeJson(http::status status, std::string body, unsigned version, bool keep_alive);

// Appends `text` as a JSON string literal (quoted, escaped).
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace vwr::http
