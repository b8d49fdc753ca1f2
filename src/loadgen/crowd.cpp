#include "loadgen/crowd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vwr::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr std::size_t kBatch = 4096;  // arrivals or wake-ups per timer turn, so I/O keeps flowing
constexpr std::uint32_t kNoRange = ~std::uint32_t{0};
constexpr std::size_t kEtaSamples = 32;  // kept per person; thinned by half when full
constexpr std::uint32_t kNobody = ~std::uint32_t{0};

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::int64_t Millis(nanoseconds d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

}  // namespace

enum class Worker::Step : std::uint8_t {
  kJoin,    // the first join, or a join again after a spent ticket
  kPoll,    // status
  kReload,  // join with the kept ticket
  kHeartbeat,
  kEnd,          // leave at the end of a session
  kGiveUp,       // leave with the ticket while waiting
  kTracerBot,    // checkBotIp.do
  kTracerInput,  // inputQueue.do
  kTracerOut,    // outQueue.do at the end of a session
  kTracerGiveUp  // outQueue.do while waiting
};

struct Worker::Person {
  enum class State : std::uint8_t { kNew, kWaiting, kHolding, kDone };
  struct Eta {
    std::uint32_t at_ms;  // when the answer came, from the start of the run
    std::uint32_t eta_s;
    std::uint32_t low_s = kNoRange;
    std::uint32_t high_s = kNoRange;
  };

  std::uint64_t number = 0;  // place in the arrival schedule (all workers')
  std::uint16_t target = 0;
  bool tracer = false;
  bool abandons = false;
  bool reloads = false;
  bool leaves = true;
  bool reloaded = false;
  bool by_ticket = false;  // order_key is the ticket number
  bool in_flight = false;
  bool taking_over = false;   // a later visit of a loginId, waiting for the open one's answer
  bool said_goodbye = false;  // leave / outQueue.do answered: the server holds nothing for it
  State state = State::kNew;
  Step pending = Step::kJoin;
  std::uint8_t error_streak = 0;
  std::uint16_t eta_stride = 1;
  std::uint16_t eta_skip = 0;
  std::uint32_t generation = 0;
  std::uint32_t identity = 0;  // slot in identities_ (repeated TRACER loginIds)
  std::uint32_t identity_generation = 0;
  std::uint32_t predecessor = kNobody;  // the visit this one waits to take over
  std::uint32_t successor = kNobody;    // the visit waiting to take this one over
  Time arrived{};
  Time abandon_at = Time::max();
  Time reload_at = Time::max();
  Time hold_until{};
  Time sent{};
  Duration heartbeat_every{};
  std::uint64_t max_at_send = 0;  // AdmittedMax() of the person's tracker when the poll went out
  std::uint64_t call_sent = 0;    // CallOrder::AtSend() at the first call
  std::uint64_t order_key = 0;
  std::int64_t last_position = -1;
  std::string ticket;
  std::string token;
  std::vector<Eta> etas;
};

Worker::Worker(unsigned index, unsigned count, const Plan& plan, Shared& shared,
               const util::Clock& clock)
    : index_(index),
      count_(count),
      plan_(plan),
      shared_(shared),
      clock_(clock),
      timer_(io_),
      schedule_(plan.arrivals, plan.scale, plan.speed, plan.duration, plan.seed, plan.max_people),
      rng_(plan.seed * 7919 + index) {
  // Each worker takes its share of every target's connections (at least one).
  const std::size_t per_worker = std::max<std::size_t>(1, (plan.connections + count - 1) / count);
  for (const Target& t : plan.targets) {
    pools_.push_back(
        std::make_unique<ConnectionPool>(io_, t, per_worker, plan.timeout, *this, clock_));
  }
  people_.reserve(static_cast<std::size_t>(schedule_.ExpectedTotal() / count * 1.05) + 16);
  if (plan.user_ids.kind == UserIds::Kind::kPool && plan.protocol.tracer_share > 0) {
    // This worker's share of the pool's ids (the people of one id all come to this worker).
    const std::uint64_t share = plan.user_ids.pool / count + (index < plan.user_ids.pool % count);
    identities_.resize(static_cast<std::size_t>(std::max<std::uint64_t>(1, share)));
  }
}

Worker::~Worker() = default;

std::size_t Worker::SecondOf(Time t) const {
  if (t <= shared_.start) return 0;
  return static_cast<std::size_t>((t - shared_.start) / seconds(1));
}

void Worker::Run() {
  end_ = shared_.start + plan_.duration;
  next_sweep_ = shared_.start + milliseconds(100);
  // Skip to this worker's first person.
  while (true) {
    next_arrival_ = schedule_.Next();
    if (!next_arrival_) break;
    if (schedule_index_++ % count_ == index_) break;
  }
  ArmTimer(shared_.start);
  io_.run();
}

void Worker::ArmTimer(Time due) {
  if (finished_ || due >= armed_for_) return;
  armed_for_ = due;
  timer_.expires_at(due);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed earlier, or stopped
    armed_for_ = Time::max();
    OnTimer();
  });
}

void Worker::OnTimer() {
  Time now = Now();
  if (!ending_ && now >= end_) {
    // The run is over: nobody new arrives and nobody acts again; answers still out are
    // awaited (and counted) until the drain deadline.
    ending_ = true;
    drain_until_ = now + plan_.drain;
    heap_.clear();
  }
  std::size_t budget = kBatch;
  while (!ending_ && next_arrival_ && shared_.start + *next_arrival_ <= now && budget-- > 0) {
    Arrive(now);
    while (true) {
      next_arrival_ = schedule_.Next();
      if (!next_arrival_) break;
      if (schedule_index_++ % count_ == index_) break;
    }
  }
  budget = kBatch;
  while (!heap_.empty() && heap_.front().due <= now && budget-- > 0) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    const Wakeup w = heap_.back();
    heap_.pop_back();
    Person& p = people_[w.who];
    if (p.generation == w.generation && !p.in_flight) Wake(w.who, now);
  }
  now = Now();
  if (now >= next_sweep_) {
    for (auto& pool : pools_) pool->Sweep(now);
    next_sweep_ = now + milliseconds(100);
  }
  if (ending_) {
    bool idle = true;
    for (const auto& pool : pools_) idle = idle && pool->in_flight() == 0 && pool->queued() == 0;
    if (idle || now >= drain_until_) return Finish();
  }
  Time due = next_sweep_;
  if (!ending_) {
    due = std::min(due, end_);
    if (!heap_.empty()) due = std::min(due, heap_.front().due);
    if (next_arrival_) due = std::min(due, shared_.start + *next_arrival_);
  } else {
    due = std::min(due, drain_until_);
  }
  ArmTimer(std::max(due, now));
}

void Worker::Finish() {
  if (finished_) return;
  // Requests still out after the drain are timeouts: they were sent, and never answered.
  const Time now = Now();
  for (auto& pool : pools_) pool->Sweep(now + plan_.timeout + seconds(1));
  finished_ = true;
  for (auto& pool : pools_) {
    stats_.connections_opened += pool->connections_opened();
    pool->Close();
  }
  timer_.cancel();
  io_.stop();
}

void Worker::Schedule(std::uint32_t who, Time due) {
  if (ending_) return;
  Person& p = people_[who];
  heap_.push_back({due, who, ++p.generation});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
  ArmTimer(due);
}

void Worker::Arrive(Time now) {
  const std::uint64_t number = schedule_index_ - 1;
  people_.emplace_back();
  Person& p = people_.back();
  p.number = number;
  p.target = static_cast<std::uint16_t>(number % plan_.targets.size());
  p.tracer = plan_.protocol.tracer_share > 0 && uniform_(rng_) < plan_.protocol.tracer_share;
  p.abandons = plan_.abandon.share > 0 && uniform_(rng_) < plan_.abandon.share;
  p.reloads = plan_.reload_share > 0 && uniform_(rng_) < plan_.reload_share;
  p.leaves = plan_.leave_share >= 1 || uniform_(rng_) < plan_.leave_share;
  p.arrived = shared_.start + *next_arrival_;
  ++stats_.arrived;
  ++(p.tracer ? stats_.tracer_people : stats_.native_people);
  ++stats_.Second(SecondOf(p.arrived)).arrivals;
  shared_.live.arrived.fetch_add(1, std::memory_order_relaxed);
  const auto who = static_cast<std::uint32_t>(people_.size() - 1);
  if (SharesIdentity(p)) {
    // Person `number` is this worker's (number / count)-th: the ids go round this worker's share.
    p.identity = static_cast<std::uint32_t>((number / count_) % identities_.size());
    return JoinIdentity(who, now);
  }
  Wake(who, now);
}

bool Worker::SharesIdentity(const Person& p) const { return p.tracer && !identities_.empty(); }

void Worker::JoinIdentity(std::uint32_t who, Time now) {
  Person& p = people_[who];
  IdentitySlot& slot = identities_[p.identity];
  const std::int64_t latest = slot.latest;
  slot.latest = who;
  if (latest < 0) {
    p.identity_generation = slot.generation;
    return Wake(who, now);
  }
  Person& q = people_[static_cast<std::size_t>(latest)];
  const auto from = static_cast<std::uint32_t>(latest);
  if (q.taking_over) {
    // The latest visit has not started yet (it waits for an answer to the one before it): this
    // one waits in its place, and that one is closed before it ever called.
    ++stats_.reloads;
    Person& open = people_[q.predecessor];
    open.successor = who;
    p.predecessor = q.predecessor;
    p.taking_over = true;
    p.identity_generation = q.identity_generation;
    q.taking_over = false;
    q.predecessor = kNobody;
    return Done(q);
  }
  if (q.state == Person::State::kDone) {
    // Gone without a goodbye: the server may still hold its place or session for a while.
    if (!q.said_goodbye) ++slot.generation;
    p.identity_generation = slot.generation;
    return Wake(who, now);
  }
  p.identity_generation = q.identity_generation;
  if (q.in_flight) {
    q.successor = who;
    p.predecessor = from;
    p.taking_over = true;
    return;
  }
  TakeOver(from, who, now);
}

void Worker::TakeOver(std::uint32_t from, std::uint32_t to, Time now) {
  Person& q = people_[from];
  Person& p = people_[to];
  ++stats_.reloads;
  // The user's wait, place and session go on in the new page; the live figures stay as they
  // are (the state moves, it does not end).
  p.state = q.state;
  p.arrived = q.arrived;
  p.abandons = q.abandons;
  p.abandon_at = q.abandon_at;
  p.hold_until = q.hold_until;
  p.order_key = q.order_key;
  p.call_sent = q.call_sent;
  p.by_ticket = q.by_ticket;
  p.last_position = q.last_position;
  p.taking_over = false;
  p.predecessor = kNobody;
  q.state = Person::State::kDone;
  q.successor = kNobody;
  ++q.generation;  // its wake-ups are void
  std::string().swap(q.ticket);
  std::string().swap(q.token);
  if (ending_) return;
  // The page loads again: checkBotIp.do, then inputQueue.do finds the identity's place.
  Issue(p, Step::kTracerBot, now);
}

void Worker::Wake(std::uint32_t who, Time now) {
  Person& p = people_[who];
  switch (p.state) {
    case Person::State::kNew:
      return Issue(p, p.tracer ? Step::kTracerBot : Step::kJoin, now);
    case Person::State::kWaiting:
      if (p.abandons && now >= p.abandon_at) {
        ++stats_.abandoned;
        if (plan_.abandon.leave) {
          ++stats_.gave_back;
          return Issue(p, p.tracer ? Step::kTracerGiveUp : Step::kGiveUp, now);
        }
        EndWait(p);
        return Done(p);
      }
      if (p.reloads && !p.reloaded && !p.tracer && now >= p.reload_at) {
        return Issue(p, Step::kReload, now);
      }
      return Issue(p, p.tracer ? Step::kTracerInput : Step::kPoll, now);
    case Person::State::kHolding:
      if (now >= p.hold_until) {
        if (p.leaves) {
          EndSession(p);
          return Issue(p, p.tracer ? Step::kTracerOut : Step::kEnd, now);
        }
        ++stats_.went_idle;
        EndSession(p);
        return Done(p);
      }
      if (!p.tracer && p.heartbeat_every.count() > 0) return Issue(p, Step::kHeartbeat, now);
      return Schedule(who, p.hold_until);
    case Person::State::kDone:
      return;
  }
}

std::string Worker::UserId(const Person& p) const {
  switch (plan_.user_ids.kind) {
    case UserIds::Kind::kNone:
      return {};
    case UserIds::Kind::kDistinct:
      return fmt::format("lg{}-{}", plan_.run_id, p.number);
    case UserIds::Kind::kPool:
      if (SharesIdentity(p)) {
        return fmt::format("lg{}-p{}-{}", plan_.run_id, index_ + count_ * p.identity,
                           p.identity_generation);
      }
      return fmt::format("lg{}-p{}", plan_.run_id, p.number % plan_.user_ids.pool);
  }
  return {};
}

std::string Worker::TracerForm(const Person& p, bool with_identity) const {
  const Target& t = plan_.targets[p.target];
  std::string form = "host=";
  form += UrlEncode(plan_.tracer_host.empty() ? t.host : plan_.tracer_host);
  if (with_identity) {
    if (const std::string id = UserId(p); !id.empty()) {
      form += "&loginId=";
      form += UrlEncode(id);
    }
  }
  form += "&port=";
  form += t.port;
  form += "&pageUrl=";
  form += UrlEncode(plan_.tracer_page_url.empty() ? "http://" + t.host_header + "/"
                                                  : plan_.tracer_page_url);
  if (with_identity) form += "&userAgent=vwr-loadgen";
  return form;
}

void Worker::Issue(Person& p, Step step, Time now) {
  if (ending_) return;
  const Target& t = plan_.targets[p.target];
  const std::string room = UrlEncode(plan_.room);
  std::string r;
  r.reserve(512 + p.token.size());
  auto request_line = [&](std::string_view method, std::string_view path) {
    r += method;
    r += ' ';
    r += t.prefix;
    r += path;
    r += " HTTP/1.1\r\nHost: ";
    r += t.host_header;
    r += "\r\nUser-Agent: vwr-loadgen\r\n";
  };
  auto body = [&](std::string_view type, std::string_view text) {
    if (!text.empty()) {
      r += "Content-Type: ";
      r += type;
      r += "\r\n";
    }
    r += "Content-Length: ";
    r += std::to_string(text.size());
    r += "\r\n\r\n";
    r += text;
  };
  const std::string api = "/api/v1/rooms/" + room;
  switch (step) {
    case Step::kJoin:
    case Step::kReload: {
      request_line("POST", api + "/join");
      if (step == Step::kReload) {
        p.reloaded = true;
        r += "X-VWR-Ticket: " + p.ticket + "\r\n";
      }
      const std::string id = UserId(p);
      body("application/json", id.empty() ? std::string() : "{\"userId\":\"" + id + "\"}");
      if (p.state == Person::State::kNew) p.call_sent = shared_.call_order.AtSend();
      break;
    }
    case Step::kPoll:
      request_line("GET", api + "/status");
      r += "X-VWR-Ticket: " + p.ticket + "\r\n\r\n";
      break;
    case Step::kHeartbeat:
      request_line("POST", api + "/heartbeat");
      r += "Authorization: Bearer " + p.token + "\r\n";
      body({}, {});
      break;
    case Step::kEnd:
    case Step::kGiveUp:
      request_line("POST", api + "/leave");
      if (!p.token.empty()) r += "Authorization: Bearer " + p.token + "\r\n";
      if (!p.ticket.empty()) r += "X-VWR-Ticket: " + p.ticket + "\r\n";
      body({}, {});
      break;
    case Step::kTracerBot:
      request_line("POST", "/TRACERAPI/checkBotIp.do");
      body("application/x-www-form-urlencoded", TracerForm(p, false));
      break;
    case Step::kTracerInput:
      request_line("POST", "/TRACERAPI/inputQueue.do");
      body("application/x-www-form-urlencoded", TracerForm(p, true));
      if (p.state == Person::State::kNew) p.call_sent = shared_.call_order.AtSend();
      break;
    case Step::kTracerOut:
    case Step::kTracerGiveUp:
      request_line("POST", "/TRACERAPI/outQueue.do");
      body("application/x-www-form-urlencoded", TracerForm(p, true));
      break;
  }
  if (p.state == Person::State::kWaiting) {
    p.max_at_send = (p.by_ticket ? shared_.by_ticket : shared_.by_call).AdmittedMax();
  }
  p.pending = step;
  p.sent = now;
  p.in_flight = true;
  const auto who = static_cast<std::uint64_t>(&p - people_.data());
  pools_[p.target]->Send(std::move(r), who, now);
}

namespace {

Endpoint EndpointOf(std::uint8_t step) {
  static constexpr Endpoint kEndpoints[] = {Endpoint::kJoin,           Endpoint::kStatus,
                                            Endpoint::kJoin,           Endpoint::kHeartbeat,
                                            Endpoint::kLeave,          Endpoint::kLeave,
                                            Endpoint::kTracerCheckBot, Endpoint::kTracerInput,
                                            Endpoint::kTracerOutput,   Endpoint::kTracerOutput};
  return kEndpoints[step];
}

}  // namespace

void Worker::OnAnswer(std::uint64_t cookie, const Answer& a) {
  const auto who = static_cast<std::uint32_t>(cookie);
  HandleAnswer(people_[who], a);
  Person& p = people_[who];
  if (p.successor == kNobody || p.in_flight) return;
  // A later visit of this loginId has waited for this answer: it takes over now.
  const std::uint32_t next = p.successor;
  p.successor = kNobody;
  if (p.state != Person::State::kDone) return TakeOver(who, next, Now());
  Person& n = people_[next];
  if (!p.said_goodbye) n.identity_generation = ++identities_[p.identity].generation;
  n.taking_over = false;
  n.predecessor = kNobody;
  if (!ending_) Wake(next, Now());
}

void Worker::HandleAnswer(Person& p, const Answer& a) {
  p.in_flight = false;
  const Step step = p.pending;
  const Endpoint endpoint = EndpointOf(static_cast<std::uint8_t>(step));
  EndpointStats& es = stats_.endpoints[static_cast<std::size_t>(endpoint)];
  const Time now = Now();
  SecondStats& second = stats_.Second(SecondOf(now));
  if (a.sent) {
    ++es.sent;
    ++second.requests[static_cast<std::size_t>(endpoint)];
  }
  shared_.live.answered.fetch_add(1, std::memory_order_relaxed);
  const bool failed = a.failure != Failure::kNone;
  const bool server_error = !failed && (a.status == 429 || a.status >= 500);
  if (failed) {
    ++es.failures[static_cast<std::size_t>(a.failure)];
  } else {
    ++es.by_status[a.status];
    const auto us = static_cast<std::uint64_t>(a.latency.count() / 1000);
    es.latency_us.Record(us);
    second.latency_us.Record(us);
    stats_.pool_wait_us.Record(static_cast<std::uint64_t>(a.queued.count() / 1000));
  }
  ++second.outcomes[failed ? 3 : a.status >= 500 ? 2 : a.status >= 400 ? 1 : 0];
  if (failed || a.status >= 400) {
    ++stats_.errors;
    ++second.errors;
    shared_.live.errors.fetch_add(1, std::memory_order_relaxed);
  }
  if (failed || server_error) return RetryLater(p, step, now);
  p.error_streak = 0;
  switch (step) {
    case Step::kTracerBot:
    case Step::kTracerInput:
    case Step::kTracerOut:
    case Step::kTracerGiveUp:
      return OnTracerAnswer(p, step, a, now);
    default:
      return OnTicketAnswer(p, step, a, now);
  }
}

void Worker::RetryLater(Person& p, Step step, Time now) {
  if (step == Step::kEnd || step == Step::kGiveUp || step == Step::kTracerOut ||
      step == Step::kTracerGiveUp) {
    // The person was on the way out: a failed goodbye is not repeated.
    return Done(p);
  }
  // Back off as the SDK does: 0.5 s, doubling, at most 30 s, with jitter.
  p.error_streak = static_cast<std::uint8_t>(std::min(p.error_streak + 1, 16));
  const double base = std::min(30.0, 0.5 * std::pow(2.0, p.error_streak - 1));
  const auto delay =
      nanoseconds(static_cast<std::int64_t>(base * (0.8 + 0.4 * uniform_(rng_)) * 1e9));
  Schedule(static_cast<std::uint32_t>(&p - people_.data()), now + delay);
}

void Worker::OnTicketAnswer(Person& p, Step step, const Answer& a, Time now) {
  const auto who = static_cast<std::uint32_t>(&p - people_.data());
  if (step == Step::kHeartbeat) {
    if (a.status == 204 || a.status == 200) {
      return Schedule(who, std::min(p.hold_until, now + p.heartbeat_every));
    }
    ++stats_.sessions_lost;
    EndSession(p);
    return Done(p);
  }
  if (step == Step::kEnd) {
    if (a.status < 400) ++stats_.left;
    p.said_goodbye = a.status < 400;
    return Done(p);
  }
  if (step == Step::kGiveUp) {
    p.said_goodbye = a.status < 400;
    EndWait(p);
    return Done(p);
  }
  // join, reload, status
  if (a.status != 200) {
    // The ticket is refused (another room's, from before a reset) or the join was: start over.
    EndWait(p);
    p.ticket.clear();
    p.state = Person::State::kNew;
    return RetryLater(p, Step::kJoin, now);
  }
  const std::optional<TicketAnswer> answer = ParseTicketAnswer(a.body);
  if (!answer) {
    ++stats_.endpoints[static_cast<std::size_t>(EndpointOf(static_cast<std::uint8_t>(step)))]
          .failures[static_cast<std::size_t>(Failure::kParse)];
    return RetryLater(p, step, now);
  }
  ++stats_.answers[StatusName(answer->status)];
  const bool first_answer = p.state == Person::State::kNew;
  if (step == Step::kReload) {
    ++stats_.reloads;
    if (!answer->ticket.empty() && answer->ticket != p.ticket) {
      const auto before = TicketNumber(p.ticket);
      const auto after = TicketNumber(answer->ticket);
      if (!before || !after || *before != *after) ++stats_.reloads_lost_place;
    }
  }
  if (first_answer || (!answer->ticket.empty() && answer->ticket != p.ticket)) {
    if (!first_answer) p.last_position = -1;  // a new place: positions start afresh
    p.ticket = answer->ticket;
    if (const auto number = TicketNumber(p.ticket)) {
      p.by_ticket = true;
      p.order_key = *number;
    } else {
      p.by_ticket = false;
      p.order_key = first_answer ? shared_.call_order.OnAnswer() : p.order_key;
    }
  }
  switch (answer->status) {
    case TicketAnswer::Status::kWaiting: {
      if (!first_answer && p.state == Person::State::kWaiting) CheckFairness(p, answer->position);
      if (answer->eta_seconds && *answer->eta_seconds >= 0) KeepEta(p, *answer, now);
      return Waiting(p, answer->position, now,
                     milliseconds(std::max<std::int64_t>(0, answer->poll_after_ms)));
    }
    case TicketAnswer::Status::kAdmitted: {
      if (p.state == Person::State::kHolding) {
        return Schedule(who, std::min(p.hold_until, now + p.heartbeat_every));
      }
      p.token = answer->token;
      if (plan_.heartbeat) {
        p.heartbeat_every = *plan_.heartbeat;
      } else if (answer->session_timeout_seconds > 0) {
        p.heartbeat_every =
            std::max<Duration>(seconds(answer->session_timeout_seconds) / 3, seconds(1));
      }
      return Admitted(p, first_answer, now);
    }
    case TicketAnswer::Status::kExpired:
      // Called and not claimed in time, or the session is gone: join again, as the SDK does.
      ++stats_.expired;
      ++stats_.rejoins;
      EndWait(p);
      p.ticket.clear();
      p.state = Person::State::kNew;
      return Issue(p, Step::kJoin, now);
    case TicketAnswer::Status::kRejected:
    case TicketAnswer::Status::kFull:
    case TicketAnswer::Status::kOther:
      ++stats_.refused;
      return Schedule(who, now + milliseconds(std::max<std::int64_t>(1000, answer->poll_after_ms)));
  }
}

void Worker::OnTracerAnswer(Person& p, Step step, const Answer& a, Time now) {
  const auto who = static_cast<std::uint32_t>(&p - people_.data());
  if (step == Step::kTracerBot) return Issue(p, Step::kTracerInput, now);
  if (step == Step::kTracerOut) {
    if (a.status < 400) ++stats_.left;
    p.said_goodbye = a.status < 400;
    return Done(p);
  }
  if (step == Step::kTracerGiveUp) {
    p.said_goodbye = a.status < 400;
    EndWait(p);
    return Done(p);
  }
  if (a.status != 200) return RetryLater(p, step, now);
  const std::optional<TracerAnswer> answer = ParseTracerAnswer(a.body);
  if (!answer) {
    ++stats_.endpoints[static_cast<std::size_t>(Endpoint::kTracerInput)]
          .failures[static_cast<std::size_t>(Failure::kParse)];
    return RetryLater(p, step, now);
  }
  ++stats_.answers["tracer_" + answer->is_wait];
  const bool first_answer = p.state == Person::State::kNew;
  if (first_answer) p.order_key = shared_.call_order.OnAnswer();
  if (answer->is_wait == "T") {
    if (!first_answer && p.state == Person::State::kWaiting) CheckFairness(p, answer->wait_count);
    return Waiting(p, answer->wait_count, now, plan_.tracer_poll);
  }
  if (answer->is_wait == "F") {
    // A reloaded page of an identity that holds a session: the same session, not a new one.
    if (p.state == Person::State::kHolding) return Schedule(who, p.hold_until);
    p.heartbeat_every = {};
    return Admitted(p, first_answer, now);
  }
  if (answer->is_wait == "E") {
    // The legacy client lets its user in on `E`: the server did not admit anyone.
    ++stats_.fail_open;
    EndWait(p);
    return Done(p);
  }
  ++stats_.refused;  // NE
  return Schedule(who, now + plan_.tracer_poll);
}

void Worker::CheckFairness(Person& p, std::int64_t position) {
  if (p.last_position >= 0 && position > p.last_position) ++stats_.position_increases;
  ++stats_.polls_checked;
  const FairnessTracker& tracker = p.by_ticket ? shared_.by_ticket : shared_.by_call;
  if (tracker.IsViolation(p.order_key, p.max_at_send, p.sent, plan_.fifo_slack)) {
    ++stats_.fifo_violations;
  } else if (p.order_key < p.max_at_send) {
    ++stats_.fifo_stale;
  }
}

void Worker::KeepEta(Person& p, const TicketAnswer& answer, Time now) {
  if (++p.eta_skip < p.eta_stride) return;
  p.eta_skip = 0;
  Person::Eta e{static_cast<std::uint32_t>(Millis(now - shared_.start)),
                static_cast<std::uint32_t>(*answer.eta_seconds)};
  if (answer.eta_low && answer.eta_high) {
    e.low_s = static_cast<std::uint32_t>(std::max<std::int64_t>(0, *answer.eta_low));
    e.high_s = static_cast<std::uint32_t>(std::max<std::int64_t>(0, *answer.eta_high));
  }
  p.etas.push_back(e);
  if (p.etas.size() >= kEtaSamples) {
    // Keep every other sample and take half as many from now on: bounded memory, still spread
    // over the whole wait.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < p.etas.size(); i += 2) p.etas[kept++] = p.etas[i];
    p.etas.resize(kept);
    p.eta_stride = static_cast<std::uint16_t>(std::min(p.eta_stride * 2, 1 << 14));
  }
}

void Worker::Waiting(Person& p, std::int64_t position, Time now, Duration next_poll) {
  const auto who = static_cast<std::uint32_t>(&p - people_.data());
  if (p.state == Person::State::kNew) {
    p.state = Person::State::kWaiting;
    const std::int64_t waiting = shared_.live.waiting.fetch_add(1, std::memory_order_relaxed) + 1;
    LiveFigures::RaisePeak(shared_.live.peak_waiting, waiting);
    if (p.abandons) p.abandon_at = p.arrived + plan_.abandon.after;
    if (p.reloads) {
      p.reload_at =
          now + nanoseconds(static_cast<std::int64_t>((0.5 + 9.5 * uniform_(rng_)) * 1e9));
    }
  }
  p.last_position = position;
  Time due = now + next_poll;
  due = std::min({due, p.abandon_at, p.reloaded ? Time::max() : p.reload_at});
  if (due <= now) return Wake(who, now);
  Schedule(who, due);
}

void Worker::Admitted(Person& p, bool first_answer, Time now) {
  const auto who = static_cast<std::uint32_t>(&p - people_.data());
  ++stats_.admitted;
  if (first_answer) ++stats_.admitted_at_join;
  ++stats_.Second(SecondOf(now)).admissions;
  shared_.live.admitted.fetch_add(1, std::memory_order_relaxed);
  stats_.wait_ms.Record(
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, Millis(now - p.arrived))));
  // Fairness: whoever joined before this person and still waits is now behind in error.
  if (p.by_ticket) {
    shared_.by_ticket.RecordAdmitted(p.order_key, now);
  } else {
    shared_.by_call.RecordAdmitted(p.call_sent + 1, now);
  }
  ScoreEtas(p, now);
  EndWait(p);
  p.state = Person::State::kHolding;
  const std::int64_t active = shared_.live.active.fetch_add(1, std::memory_order_relaxed) + 1;
  LiveFigures::RaisePeak(shared_.live.peak_active, active);
  p.hold_until = now + plan_.hold.Draw(uniform_(rng_));
  Time due = p.hold_until;
  if (p.heartbeat_every.count() > 0) due = std::min(due, now + p.heartbeat_every);
  if (due <= now) return Wake(who, now);
  Schedule(who, due);
}

void Worker::ScoreEtas(Person& p, Time admitted) {
  const auto admitted_ms = Millis(admitted - shared_.start);
  for (const Person::Eta& e : p.etas) {
    const std::int64_t real_ms = std::max<std::int64_t>(0, admitted_ms - e.at_ms);
    const std::int64_t eta_ms = static_cast<std::int64_t>(e.eta_s) * 1000;
    const double error = std::abs(static_cast<double>(eta_ms - real_ms)) /
                         static_cast<double>(std::max<std::int64_t>(real_ms, 1000));
    stats_.eta_rel_error_permille.Record(static_cast<std::uint64_t>(std::llround(error * 1000)));
    ++stats_.eta_scored;
    if (eta_ms > real_ms) ++stats_.eta_over;
    if (e.low_s != kNoRange) {
      ++stats_.eta_range_polls;
      // The range is in whole seconds: a real wait that rounds into it is inside.
      if (real_ms >= static_cast<std::int64_t>(e.low_s) * 1000 - 500 &&
          real_ms <= static_cast<std::int64_t>(e.high_s) * 1000 + 500) {
        ++stats_.eta_range_hits;
      }
    }
  }
  std::vector<Person::Eta>().swap(p.etas);
}

void Worker::EndWait(Person& p) {
  if (p.state != Person::State::kWaiting) return;
  shared_.live.waiting.fetch_sub(1, std::memory_order_relaxed);
  p.state = Person::State::kNew;
}

void Worker::EndSession(Person& p) {
  if (p.state != Person::State::kHolding) return;
  shared_.live.active.fetch_sub(1, std::memory_order_relaxed);
  p.state = Person::State::kDone;
}

void Worker::Done(Person& p) {
  EndWait(p);
  EndSession(p);
  p.state = Person::State::kDone;
  std::string().swap(p.ticket);
  std::string().swap(p.token);
  std::vector<Person::Eta>().swap(p.etas);
}

}  // namespace vwr::loadgen
