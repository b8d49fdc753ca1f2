#include "http/errors.hpp"

#include <fmt/format.h>

namespace vwr::http {

std::string_view ErrorCode(ApiError error) {
  switch (error) {
    case ApiError::kBadRequest:
      return "bad_request";
    case ApiError::kInvalidTicket:
      return "invalid_ticket";
    case ApiError::kInvalidToken:
      return "invalid_token";
    case ApiError::kTokenExpired:
      return "token_expired";
    case ApiError::kSessionEnded:
      return "session_ended";
    case ApiError::kUnauthorized:
      return "unauthorized";
    case ApiError::kUserTokenRequired:
      return "user_token_required";
    case ApiError::kInvalidUserToken:
      return "invalid_user_token";
    case ApiError::kPowRequired:
      return "pow_required";
    case ApiError::kPowInvalid:
      return "pow_invalid";
    case ApiError::kPowExpired:
      return "pow_expired";
    case ApiError::kPowReplayed:
      return "pow_replayed";
    case ApiError::kOriginNotAllowed:
      return "origin_not_allowed";
    case ApiError::kNotFound:
      return "not_found";
    case ApiError::kRoomNotFound:
      return "room_not_found";
    case ApiError::kSessionNotFound:
      return "session_not_found";
    case ApiError::kSignalNotFound:
      return "signal_not_found";
    case ApiError::kMethodNotAllowed:
      return "method_not_allowed";
    case ApiError::kPayloadTooLarge:
      return "payload_too_large";
    case ApiError::kBlocked:
      return "blocked";
    case ApiError::kHeadersTooLarge:
      return "headers_too_large";
    case ApiError::kInternal:
      return "internal";
    case ApiError::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

http::status HttpStatusOf(ApiError error) {
  switch (error) {
    case ApiError::kBadRequest:
      return http::status::bad_request;
    case ApiError::kInvalidTicket:
    case ApiError::kInvalidToken:
    case ApiError::kTokenExpired:
    case ApiError::kSessionEnded:
    case ApiError::kUnauthorized:
    case ApiError::kUserTokenRequired:
    case ApiError::kInvalidUserToken:
      return http::status::unauthorized;
    case ApiError::kPowRequired:
    case ApiError::kPowInvalid:
    case ApiError::kPowExpired:
    case ApiError::kPowReplayed:
    case ApiError::kOriginNotAllowed:
      return http::status::forbidden;
    case ApiError::kNotFound:
    case ApiError::kRoomNotFound:
    case ApiError::kSessionNotFound:
    case ApiError::kSignalNotFound:
      return http::status::not_found;
    case ApiError::kMethodNotAllowed:
      return http::status::method_not_allowed;
    case ApiError::kPayloadTooLarge:
      return http::status::payload_too_large;
    case ApiError::kBlocked:
      return http::status::too_many_requests;
    case ApiError::kHeadersTooLarge:
      return http::status::request_header_fields_too_large;
    case ApiError::kInternal:
      return http::status::internal_server_error;
    case ApiError::kUnavailable:
      return http::status::service_unavailable;
  }
  return http::status::internal_server_error;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  // Runs of characters that stand for themselves (almost every answer's whole text: room ids,
  // tickets, tokens) are appended whole.
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const char* run = p;
    while (p != end && static_cast<unsigned char>(*p) >= 0x20 && *p != '"' && *p != '\\') ++p;
    out.append(run, static_cast<std::size_t>(p - run));
    if (p == end) break;
    const char c = *p++;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned char>(c));
    }
  }
  out.push_back('"');
}

Response MakeJson(http::status status, std::string body, unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response MakeError(ApiError error, std::string_view message, unsigned version, bool keep_alive) {
  std::string body = R"({"error":{"code":")";
  body += ErrorCode(error);
  body += R"(","message":)";
  AppendJsonString(body, message);
  body += "}}";
  Response res = MakeJson(HttpStatusOf(error), std::move(body), version, keep_alive);
  if (error == ApiError::kUnavailable) res.set(http::field::retry_after, "1");
  return res;
}

}  // namespace vwr::http
