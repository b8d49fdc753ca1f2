#include "app/request_recording.hpp"

#include <arpa/inet.h>

#include <array>

namespace vwr::app {

namespace {

// The address as text, in `out` (no allocation, unlike address::to_string). Empty when it
// cannot be formatted.
std::string_view FormatAddress(const boost::asio::ip::address& address,
                               std::array<char, INET6_ADDRSTRLEN>& out) {
  const char* text = nullptr;
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    text = ::inet_ntop(AF_INET, bytes.data(), out.data(), static_cast<socklen_t>(out.size()));
  } else {
    const auto bytes = address.to_v6().to_bytes();
    text = ::inet_ntop(AF_INET6, bytes.data(), out.data(), static_cast<socklen_t>(out.size()));
  }
  return text == nullptr ? std::string_view() : std::string_view(text);
}

}  // namespace

analytics::Endpoint RequestRecording::EndpointOf(http::Endpoint endpoint) {
  switch (endpoint) {
    case http::Endpoint::kJoin:
      return analytics::Endpoint::kJoin;
    case http::Endpoint::kStatus:
      return analytics::Endpoint::kStatus;
    case http::Endpoint::kHeartbeat:
      return analytics::Endpoint::kHeartbeat;
    case http::Endpoint::kLeave:
      return analytics::Endpoint::kLeave;
    case http::Endpoint::kVerify:
      return analytics::Endpoint::kVerify;
    case http::Endpoint::kTracerInput:
      return analytics::Endpoint::kTracerInput;
    case http::Endpoint::kTracerOutput:
      return analytics::Endpoint::kTracerOutput;
    case http::Endpoint::kTracerCheckBot:
      return analytics::Endpoint::kTracerCheckBot;
    case http::Endpoint::kOther:
      return analytics::Endpoint::kPages;
    default:
      return analytics::Endpoint::kOther;
  }
}

void RequestRecording::Finished(http::RequestContext& ctx, unsigned status_code,
                                util::Duration latency) noexcept {
  const std::string_view room = ctx.room();
  if (room.empty()) return;
  analytics::RoomRecorder* recorder = recorder_.Find(room);
  if (recorder == nullptr) {
    // The first request of a room (the node adds its rooms at start; a reload may add more).
    // Rooms are named by routing only once found in the room directory: their number is the
    // operator's, never a client's.
    try {
      recorder = &recorder_.Room(room);
    } catch (...) {
      return;  // out of memory: this request goes uncounted rather than failing
    }
  }
  const analytics::RequestRecord record{
      .endpoint = EndpointOf(ctx.endpoint()),
      .outcome = analytics::OutcomeOf(status_code, ctx.blocked()),
      .latency = latency,
      .visitor = nullptr,
      .tracer_poll = ctx.tracer_poll(),
  };
  const std::uint64_t weight = recorder->Count(record);
  if (weight == 0) return;
  std::array<char, INET6_ADDRSTRLEN> ip{};
  const http::RequestContext::Visitor noted = ctx.visitor();
  const analytics::Visitor visitor{
      .ip = FormatAddress(ctx.client_ip(), ip),
      .user_agent = noted.user_agent,
      .host = noted.host,
      .page_url = noted.page_url,
      .user = noted.user,
  };
  recorder->AddVisitor(visitor, weight);
}

}  // namespace vwr::app
