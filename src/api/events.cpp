// PublicApi's event stream: GET /api/v1/rooms/{room}/events, a waiting ticket's standing pushed
// as Server-Sent Events, so that the moment of admission reaches the page at once instead of at
// its next poll.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <optional>

#include "api/event_pacer.hpp"
#include "api/public_api.hpp"
#include "http/errors.hpp"

namespace vwr::api {

// One ticket's stream. The server pulls it on the connection's worker every kEventsPeriod
// (http::StreamSource), so nothing queues for a client that reads slowly or not at all: each
// pull reads the ticket's standing afresh, and what the client missed is simply not sent.
//
//   waiting (StatusCached, no lock)   -> "position" when it changed (EventPacer), each read
//                                        counting as the ticket's poll for the store
//   called (StatusCached says no)     -> RoomState::Status claims it, as a poll would; its
//                                        answer comes on the store's thread into `claim_`,
//                                        and the next pull sends it:
//       admitted                      -> "admitted" (token, session end, entry pass), then ends
//       expired (turn passed, given   -> "expired", then ends
//       back, state reset)
//       the store failed              -> ends: the client polls, and the status poll applies
//                                        the room's failure policy
//   the client's address blocked since the stream opened (the guard, rechecked every second
//   and before a claim)               -> ends, so a block holds for streams as for polls
//
// An admitted answer cannot set cookies (the head is gone): the page asks the status once
// more for them, which finds the session made here.
//
// The events' data are the status answer's JSON, field for field. Not thread-safe but for
// `claim_`, which the store's callback fills from its own thread.
class PublicApi::TicketEvents final : public http::StreamSource {
 public:
  TicketEvents(PublicApi& api, http::RoomEntry& room, const token::TicketClaims& claims,
               std::string ticket, boost::asio::ip::address client_ip)
      : api_(api),
        room_(room),
        claims_(claims),
        ticket_(std::move(ticket)),
        client_ip_(client_ip),
        pacer_(kEventsMinGap, kEventsKeepAlive, api.clock_.Now()),
        last_guard_check_(api.clock_.Now()) {}

  bool Next(std::string& out) override {
    const util::TimePoint now = api_.clock_.Now();
    if (!started_) {
      started_ = true;
      fmt::format_to(std::back_inserter(out), "retry: {}\n\n", kEventsRetry.count());
      pacer_.Wrote(now);
    }
    const bool more = Read(now, out);
    if (more && out.empty() && pacer_.KeepAliveDue(now)) {
      out += ": keep-alive\n\n";
      pacer_.Wrote(now);
    }
    return more;
  }

 private:
  // What the store's claim answered, filled on the store's thread.
  struct Claim {
    std::mutex mu;
    std::optional<boost::system::result<store::TicketAnswer>> answer;
  };

  // Appends what the ticket's standing now calls for; false when the stream is over.
  bool Read(util::TimePoint now, std::string& out) {
    if (claim_) return Claimed(out);
    if (now - last_guard_check_ >= kEventsGuardRecheck) {
      last_guard_check_ = now;
      if (Blocked()) return false;
    }
    store::RoomState& state = *room_.state;
    if (state.incarnation() == 0) return true;  // a shared store not reached yet: wait for it
    store::TicketAnswer answer;
    if (claims_.incarnation != state.incarnation()) {
      // Issued before the room's state was reset: its place no longer exists.
      answer.status = core::TicketStatus::kExpired;
      answer.ticket = claims_.number;
      return Decided(answer, out);
    }
    if (state.StatusCached(claims_.number, claims_.frontier_at_join, answer)) {
      if (answer.status != core::TicketStatus::kWaiting) return Decided(answer, out);
      Position(answer, now, out);
      return true;
    }
    // Called (or admitted, or ended): the store decides, and claims it as a poll would. Not
    // for an address blocked since the stream opened: its polls would be refused.
    if (Blocked()) return false;
    claim_ = std::make_shared<Claim>();
    state.Status(claims_.number, claims_.frontier_at_join,
                 [claim = claim_](boost::system::result<store::TicketAnswer> answered) {
                   std::lock_guard lock(claim->mu);
                   claim->answer = std::move(answered);
                 });
    return Claimed(out);  // a store that answers at once is answered at once
  }

  bool Claimed(std::string& out) {
    std::optional<boost::system::result<store::TicketAnswer>> answered;
    {
      std::lock_guard lock(claim_->mu);
      if (!claim_->answer) return true;  // still on its way
      answered = std::move(claim_->answer);
    }
    claim_.reset();
    if (!*answered) {
      // The status poll applies the room's failure policy (503, or fail_open's admission).
      out += ": the store is unavailable; poll the status\n\n";
      return false;
    }
    return Decided(**answered, out);
  }

  // A waiting ticket's standing: an event when it changed (at most one a second).
  void Position(const store::TicketAnswer& answer, util::TimePoint now, std::string& out) {
    const EventPacer::Standing standing{.position = answer.position,
                                        .eta_seconds = answer.eta_seconds,
                                        .eta_low_seconds = answer.eta_low_seconds,
                                        .eta_high_seconds = answer.eta_high_seconds};
    closed_sent_ = false;
    if (!pacer_.ShouldSend(standing, now)) return;
    // Counted as a poll of the room (what a poll would have told).
    room_.traffic.polls.Add();
    Event("position", api_.RenderAnswer(*room_.state, answer, ticket_, {}, nullptr), out);
    pacer_.Sent(standing, now);
  }

  // Anything but waiting: the admission, or the end of the place. False: the stream is over.
  bool Decided(const store::TicketAnswer& answer, std::string& out) {
    store::RoomState& state = *room_.state;
    switch (answer.status) {
      case core::TicketStatus::kWaiting:
        Position(answer, api_.clock_.Now(), out);
        return true;
      case core::TicketStatus::kAdmitted:
        return Admitted(answer, out);
      case core::TicketStatus::kRejected:
      case core::TicketStatus::kFull: {
        // The room is closed: the ticket keeps its place for when it opens again. Sent once
        // (it is not a position that changes).
        if (!closed_sent_) {
          closed_sent_ = true;
          Event("position", api_.RenderAnswer(state, answer, ticket_, {}, nullptr), out);
          pacer_.Forget();  // when it opens again, the place is told at once
        }
        return true;
      }
      case core::TicketStatus::kExpired:
        break;
    }
    Event("expired", api_.RenderAnswer(state, answer, ticket_, {}, nullptr), out);
    return false;
  }

  bool Admitted(const store::TicketAnswer& answer, std::string& out) {
    store::RoomState& state = *room_.state;
    const std::int64_t now = api_.WallSeconds();
    std::int64_t lifetime_s = 0;
    const auto token = api_.IssueToken(state, answer, now, lifetime_s);
    if (!token) return SigningFailed(token.error());
    auto pass = api_.IssuePass(state, answer, now);
    if (!pass) return SigningFailed(pass.error());
    room_.traffic.polls.Add();
    Event("admitted", api_.RenderAnswer(state, answer, ticket_, *token, *pass ? &**pass : nullptr),
          out);
    return false;
  }

  // The session stands; the status poll gets it a token once a key is there.
  bool SigningFailed(token::SignError error) {
    std::uint64_t suppressed = 0;
    if (api_.sign_log_.Allow(suppressed)) {
      spdlog::error(
          "room {}: an admission on an event stream could not be signed ({}); the "
          "stream ends and the client polls{}",
          room_.state->id(), token::SignErrorName(error),
          suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
    }
    return false;
  }

  bool Blocked() {
    guard::Guard* guard = api_.options_.guard;
    return guard != nullptr && guard->IsBlocked(room_.state->id(), client_ip_);
  }

  static void Event(std::string_view name, std::string_view data, std::string& out) {
    // The data are one line of JSON (no raw line breaks: strings are escaped).
    fmt::format_to(std::back_inserter(out), "event: {}\ndata: {}\n\n", name, data);
  }

  PublicApi& api_;
  http::RoomEntry& room_;
  const token::TicketClaims claims_;
  const std::string ticket_;
  const boost::asio::ip::address client_ip_;
  EventPacer pacer_;
  util::TimePoint last_guard_check_;
  std::shared_ptr<Claim> claim_;  // a claim on its way (set until its answer has been used)
  bool started_ = false;
  bool closed_sent_ = false;
};

void PublicApi::Events(http::RoomEntry& room, http::RequestContext& ctx, Caller& caller) {
  const std::string_view ticket = caller.identity;
  if (ticket.empty()) {
    return ctx.Error(http::ApiError::kBadRequest,
                     "a ticket is required (header X-VWR-Ticket or query ticket=)");
  }
  const std::optional<token::TicketClaims> claims = tickets_.Decode(room.state->id(), ticket);
  if (!claims) {
    return ctx.Error(http::ApiError::kInvalidTicket, "the ticket is not valid for this room");
  }
  http::Response head = ctx.EmptyResponse(http::status::ok);
  head.set(http::field::content_type, "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-store");
  // nginx would otherwise hold the events back in its buffers.
  head.set("X-Accel-Buffering", "no");
  if (ctx.request().method() == http::verb::head) return ctx.Finish(std::move(head));
  const http::ConnectionInfo& connection = ctx.connection();
  if (connection.streams == nullptr ||
      !connection.streams->Open(std::make_shared<TicketEvents>(
                                    *this, room, *claims, std::string(ticket), ctx.client_ip()),
                                kEventsPeriod)) {
    http::Response res = ctx.ErrorResponse(
        http::ApiError::kUnavailable,
        "too many event streams are open on this node (server.limits.max_event_streams); poll "
        "the status instead");
    res.set(http::field::retry_after, "30");
    return ctx.Finish(std::move(res));
  }
  ctx.Finish(std::move(head));
}

}  // namespace vwr::api
