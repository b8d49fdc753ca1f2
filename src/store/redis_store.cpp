#include "store/redis_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <charconv>
#include <iterator>

#include "core/attendance.hpp"
#include "store/redis/scripts.hpp"
#include "util/random.hpp"

namespace vwr::store {
namespace {

namespace scripts = redis_scripts;
using redis::Reply;

// Each room script runs as the shared prelude followed by its own text.
struct RoomScripts {
  static redis::Script Of(const char* body) {
    return redis::Script(std::string(scripts::kPrelude) + body);
  }
  redis::Script join = Of(scripts::kJoin);
  redis::Script status = Of(scripts::kStatus);
  redis::Script heartbeat = Of(scripts::kHeartbeat);
  redis::Script leave = Of(scripts::kLeave);
  redis::Script leave_all = Of(scripts::kLeaveAll);
  redis::Script leave_identity = Of(scripts::kLeaveIdentity);
  redis::Script tick = Of(scripts::kTick);
  redis::Script adopt = Of(scripts::kAdopt);
  redis::Script set_policy = Of(scripts::kSetPolicy);
  redis::Script admit = Of(scripts::kAdmit);
  redis::Script withdraw = Of(scripts::kWithdraw);
  redis::Script draw = Of(scripts::kDraw);
};

const RoomScripts& Scripts() {
  static const RoomScripts s;
  return s;
}

template <typename T>
boost::system::result<T> Unavailable() {
  return boost::system::result<T>(boost::system::in_place_error,
                                  make_error_code(StoreError::kUnavailable));
}

std::uint64_t ToU64(const Reply& r) {
  if (r.type == Reply::Type::kInteger)
    return r.integer < 0 ? 0 : static_cast<std::uint64_t>(r.integer);
  std::uint64_t v = 0;
  std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  return v;
}

double ToDouble(const Reply& r) {
  if (r.type == Reply::Type::kInteger) return static_cast<double>(r.integer);
  try {
    return std::stod(r.str);
  } catch (...) {
    return 0.0;
  }
}

// How the scripts name a session: its ticket number, or 'b' and its place in the bypass range
// (Lua's doubles cannot hold core::kBypassTicketBase + n exactly; see prelude.lua).
std::string SessionMember(std::uint64_t ticket) {
  if (ticket >= core::kBypassTicketBase) {
    return "b" + std::to_string(ticket - core::kBypassTicketBase);
  }
  return std::to_string(ticket);
}

// The ticket a script's session name stands for; nullopt when it is not one.
std::optional<std::uint64_t> TicketOfMember(std::string_view member) {
  const bool bypass = !member.empty() && member.front() == 'b';
  if (bypass) member.remove_prefix(1);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(member.data(), member.data() + member.size(), n);
  if (ec != std::errc{} || end != member.data() + member.size() || member.empty()) {
    return std::nullopt;
  }
  if (!bypass) return n < core::kBypassTicketBase ? std::optional(n) : std::nullopt;
  if (n == 0 || n >= core::kBypassTicketBase) return std::nullopt;
  return core::kBypassTicketBase + n;
}

// A ticket as a script returns it: an integer (the line), or a session name ('b7').
std::uint64_t TicketOf(const Reply& r) {
  if (r.type == Reply::Type::kInteger) return ToU64(r);
  return TicketOfMember(r.str).value_or(0);
}

std::int64_t ToI64(const Reply& r) {
  if (r.type == Reply::Type::kInteger) return r.integer;
  std::int64_t v = 0;
  std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  return v;
}

std::optional<core::TicketStatus> StatusOf(const std::string& name) {
  using S = core::TicketStatus;
  for (S s : {S::kWaiting, S::kAdmitted, S::kExpired, S::kRejected, S::kFull}) {
    if (core::TicketStatusName(s) == name) return s;
  }
  return std::nullopt;
}

// An array reply of at least `n` elements, or nullptr (logged: a script and this file disagree).
const std::vector<Reply>* ArrayOf(const Reply& r, std::size_t n, const char* what) {
  if (r.type != Reply::Type::kArray || r.elements.size() < n) {
    spdlog::error("redis store: unexpected answer to {}: {}", what,
                  r.type == Reply::Type::kError ? r.str : "wrong shape");
    return nullptr;
  }
  return &r.elements;
}

const std::vector<Reply>* ArrayOf(const boost::system::result<Reply>& r, std::size_t n,
                                  const char* what) {
  return r ? ArrayOf(*r, n, what) : nullptr;
}

// The room hash's session lengths as tick.lua reads them: sl1..sl12, then sl_ms.
core::SessionLengths SessionLengthsOf(const Reply& r) {
  core::SessionLengths lengths;
  if (r.elements.size() != core::kSessionLengthBuckets + 1) return lengths;
  for (std::size_t b = 0; b < core::kSessionLengthBuckets; ++b) {
    lengths.buckets[b] = ToU64(r.elements[b]);
  }
  lengths.sum_ms = ToU64(r.elements.back());
  return lengths;
}

}  // namespace

std::string EncodePolicy(const core::Policy& p) {
  std::string text =
      fmt::format("1|{}|{}|{:.17g}|{}|{}|{}|{}|{}|{}", core::ModeName(p.mode), p.max_active,
                  p.admit_rate, p.burst, p.session_timeout.count(), p.claim_grace.count(),
                  p.queue_limit, p.poll_min.count(), p.poll_max.count());
  // Later fields, only when set: a policy without them reads the same on every node version.
  if (p.session_max.count() != 0 || p.abandon_after_polls != 0)
    fmt::format_to(std::back_inserter(text), "|{}", p.session_max.count());
  // The scripts read this one (prelude.lua: abandon_after_polls): keep it the 12th.
  if (p.abandon_after_polls != 0)
    fmt::format_to(std::back_inserter(text), "|{}", p.abandon_after_polls);
  return text;
}

std::optional<core::Policy> DecodePolicy(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto bar = text.find('|');
    parts.push_back(text.substr(0, bar));
    if (bar == std::string_view::npos) break;
    text.remove_prefix(bar + 1);
  }
  if (parts.size() < 10 || parts.size() > 12 || parts[0] != "1") return std::nullopt;
  core::Policy p;
  auto integer = [&](std::string_view s, auto& out) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return false;
    out = static_cast<std::remove_reference_t<decltype(out)>>(v);
    return true;
  };
  const std::optional<core::Mode> mode = core::ParseMode(parts[1]);
  if (!mode) return std::nullopt;
  p.mode = *mode;
  std::int64_t session_ms = 0, grace_ms = 0, poll_min_ms = 0, poll_max_ms = 0;
  double rate = 0;
  try {
    rate = std::stod(std::string(parts[3]));
  } catch (...) {
    return std::nullopt;
  }
  p.admit_rate = rate;
  if (!integer(parts[2], p.max_active) || !integer(parts[4], p.burst) ||
      !integer(parts[5], session_ms) || !integer(parts[6], grace_ms) ||
      !integer(parts[7], p.queue_limit) || !integer(parts[8], poll_min_ms) ||
      !integer(parts[9], poll_max_ms)) {
    return std::nullopt;
  }
  if (parts.size() >= 11) {
    std::int64_t session_max_ms = 0;
    if (!integer(parts[10], session_max_ms)) return std::nullopt;
    if (session_max_ms == 0 && parts.size() == 11) return std::nullopt;  // one encoding each
    p.session_max = std::chrono::milliseconds(session_max_ms);
  }
  if (parts.size() == 12) {
    if (!integer(parts[11], p.abandon_after_polls) || p.abandon_after_polls == 0)
      return std::nullopt;
  }
  p.session_timeout = std::chrono::milliseconds(session_ms);
  p.claim_grace = std::chrono::milliseconds(grace_ms);
  p.poll_min = std::chrono::milliseconds(poll_min_ms);
  p.poll_max = std::chrono::milliseconds(poll_max_ms);
  if (!core::ValidatePolicy(p).empty()) return std::nullopt;
  return p;
}

RedisRoom::RedisRoom(RedisStore& store, const RoomSpec& spec)
    : store_(store),
      id_(spec.id),
      key_base_(fmt::format("{}:{{{}}}:", store.options().key_prefix, spec.id)),
      fail_open_(spec.fail_open),
      published_(spec.policy),
      file_policy_(spec.policy),
      waits_(spec.policy, store.clock().Now()) {
  // Until the first tick reads the shared estimate, the configured rate stands in for it, as it
  // seeds core::AdvanceRateEstimator (for metrics); the wait model starts from the policy, so a
  // waiting answer has a wait from the very first join.
  published_.Publish(0, 0, 0, spec.policy.admit_rate);
  published_.PublishWaits(waits_.curve());
}

std::vector<std::string> RedisRoom::Keys() const {
  // Every script gets every key of the room (prelude.lua names them); all in one slot.
  std::vector<std::string> keys;
  keys.reserve(14);
  for (const char* part : {"room", "ident", "tident", "calls", "sess", "sinfo", "revoked", "sadm",
                           "lease", "nodes", "due", "aband", "draw", "drawp"}) {
    keys.push_back(key_base_ + part);
  }
  return keys;
}

std::vector<std::string> RedisRoom::Args(std::initializer_list<std::string> extra) const {
  const core::Policy& p = policy();
  std::vector<std::string> args{std::string(core::ModeName(p.mode)),
                                std::to_string(p.max_active),
                                std::to_string(p.queue_limit),
                                fmt::format("{:.17g}", p.admit_rate),
                                std::to_string(p.burst),
                                std::to_string(p.claim_grace.count()),
                                std::to_string(p.session_timeout.count())};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void RedisRoom::UsePolicy(const std::string& encoded) {
  if (encoded.empty() || encoded == policy_text_) return;
  if (std::optional<core::Policy> p = DecodePolicy(encoded)) {
    policy_text_ = encoded;
    if (!(published_.policy() == *p)) {
      // A new admit_rate restarts the estimate from it (the scripts' use_policy does the same
      // to the shared one, which the next tick brings back).
      if (p->admit_rate != published_.policy().admit_rate) {
        published_.Publish(0, 0, 0, p->admit_rate);
      }
      published_.SetPolicy(*p);
    }
  } else {
    spdlog::error("redis store: room {}: the shared policy cannot be read: {}", id_, encoded);
  }
}

bool RedisRoom::StatusCached(std::uint64_t ticket, std::uint64_t frontier_at_join,
                             TicketAnswer& answer) {
  if (!AnswerFromPublished(published_, given_back_, ticket, frontier_at_join, answer)) return false;
  if (answer.status == core::TicketStatus::kWaiting) {
    // The poll is what keeps the place: reported with the next tick, not written now.
    const std::int64_t allowed_ms = core::SilenceAllowedMs(answer.eta_seconds, policy());
    if (allowed_ms > 0)
      polls_.Note(ticket, store_.clock().Now() + std::chrono::milliseconds(allowed_ms));
  }
  return true;
}

std::int64_t RedisRoom::NewcomerSilenceAllowedMs() const {
  // Watched even while abandonment is off (as if it were 1): switched on, the tick marks only
  // those that stay silent for a whole allowance from then (tick.lua), so every ticket needs a
  // time in `due`.
  core::Policy p = policy();
  p.abandon_after_polls = std::max<std::uint32_t>(p.abandon_after_polls, 1);
  const std::optional<core::WaitEstimate> wait = published_.EstimateWait(
      published_.last_issued() - std::min(published_.last_issued(), published_.frontier()) + 1);
  return core::SilenceAllowedMs(wait ? std::optional(wait->eta_seconds) : std::nullopt, p);
}

void RedisRoom::ForgetPassedGivenBack() {
  const std::uint64_t front = published_.frontier();
  while (!given_back_order_.empty() && *given_back_order_.begin() <= front) {
    given_back_.Erase(TicketAt(*given_back_order_.begin()));
    given_back_order_.erase(given_back_order_.begin());
  }
}

void RedisRoom::UseDraw(std::shared_ptr<const core::DrawnOrder> drawn, std::uint64_t version) {
  draw_version_ = version;
  if (drawn_ == drawn) return;
  // Places given back were kept where the draw in use put their tickets: they move with them.
  std::set<std::uint64_t> moved;
  for (const std::uint64_t place : given_back_order_) {
    const std::uint64_t ticket = TicketAt(place);
    moved.insert(drawn ? drawn->PlaceOf(ticket) : ticket);
  }
  given_back_order_ = std::move(moved);
  drawn_ = std::move(drawn);
  published_.SetDraw(drawn_);
  ForgetPassedGivenBack();
}

void RedisRoom::ReadDraw(std::uint64_t version) {
  if (draw_reading_) return;
  draw_reading_ = true;
  std::string key = key_base_ + "draw";
  std::string routing = key;
  store_.client().Command(
      {"GET", std::move(key)}, std::move(routing), [this, version](boost::system::result<Reply> r) {
        draw_reading_ = false;
        if (!r) return;  // tried again at the next tick
        if (r->type == Reply::Type::kNil) return UseDraw(nullptr, version);
        // draw.lua's layout: first (8 bytes), then each place's ticket less first (4 bytes),
        // little-endian.
        const std::string& s = r->str;
        std::optional<core::DrawnOrder> drawn;
        if (r->type == Reply::Type::kString && s.size() >= 12 && (s.size() - 8) % 4 == 0) {
          auto byte = [&s](std::size_t i) {
            return static_cast<std::uint64_t>(static_cast<unsigned char>(s[i]));
          };
          std::uint64_t first = 0;
          for (std::size_t i = 8; i-- > 0;) first = first << 8 | byte(i);
          std::vector<std::uint64_t> order((s.size() - 8) / 4);
          for (std::size_t i = 0; i < order.size(); ++i) {
            const std::size_t at = 8 + 4 * i;
            order[i] =
                first + (byte(at) | byte(at + 1) << 8 | byte(at + 2) << 16 | byte(at + 3) << 24);
          }
          drawn = core::DrawnOrder::Make(first, std::move(order));
        }
        if (!drawn) {
          spdlog::error("redis store: room {}: the shared draw cannot be read", id_);
          return UseDraw(nullptr, version);
        }
        UseDraw(std::make_shared<const core::DrawnOrder>(std::move(*drawn)), version);
      });
}

void RedisRoom::Adopt(const RoomSpec& spec) {
  fail_open_.store(spec.fail_open, std::memory_order_relaxed);
  const core::Policy& file_policy = spec.policy;
  {
    std::lock_guard lock(figures_mu_);
    file_policy_ = file_policy;
    token_lifetime_ = spec.token_lifetime;
  }
  std::uint64_t fresh = 0;
  while (fresh == 0) fresh = util::SecureRandom64();
  store_.client().Eval(
      Scripts().adopt, Keys(), Args({EncodePolicy(file_policy), std::to_string(fresh)}),
      [this](boost::system::result<Reply> r) {
        const std::vector<Reply>* a = ArrayOf(r, 2, "adopt");
        if (a == nullptr) {
          // Tried again at the next tick until it works.
          if (!r)
            spdlog::warn("redis store: room {}: cannot adopt yet: {}", id_, r.error().message());
          return;
        }
        const std::uint64_t incarnation = ToU64((*a)[0]);
        const std::uint64_t before = incarnation_.exchange(incarnation, std::memory_order_acq_rel);
        if (before != 0 && before != incarnation) {
          // The room's state began anew (Redis lost it): its numbers start again, so what ended
          // in its former life says nothing about the sessions of this one.
          revoked_.Clear();
          revoked_order_.clear();
          revoked_cursor_.clear();
        }
        UsePolicy((*a)[1].str);
      });
}

void RedisRoom::NoteShape(const std::vector<Reply>& answer, std::size_t at) {
  const Reply* f = answer.data() + at;
  const std::uint64_t last = ToU64(f[0]);
  const std::uint64_t front = ToU64(f[1]);
  const std::uint64_t waiting = ToU64(f[2]);
  const std::uint64_t line = last - std::min(last, front);
  published_.Publish(last, front, line - std::min(line, waiting), published_.advance_rate());
  std::lock_guard lock(figures_mu_);
  figures_.last_issued = last;
  figures_.frontier = front;
  figures_.queue_size = waiting;
  figures_.active = static_cast<std::int64_t>(ToU64(f[3]));
  figures_.called_unclaimed = static_cast<std::int64_t>(ToU64(f[4]));
}

std::optional<TicketAnswer> RedisRoom::AnswerOf(const boost::system::result<Reply>& r,
                                                const char* what) {
  if (!r) return std::nullopt;
  return AnswerOf(*r, what);
}

std::optional<TicketAnswer> RedisRoom::AnswerOf(const Reply& r, const char* what) {
  // {status, ticket, frontier_at_join, admitted_ms, identity, last, front, waiting, active,
  //  called}: join.lua (each of its answers), status.lua, admit.lua
  const std::vector<Reply>* a = ArrayOf(r, 10, what);
  if (a == nullptr) return std::nullopt;
  const std::optional<core::TicketStatus> status = StatusOf((*a)[0].str);
  if (!status) return std::nullopt;
  TicketAnswer t;
  t.status = *status;
  t.ticket = TicketOf((*a)[1]);
  t.frontier_at_join = ToU64((*a)[2]);
  t.admitted_unix = static_cast<std::int64_t>(ToU64((*a)[3]) / 1000);
  t.identity = (*a)[4].str;
  const std::uint64_t front = ToU64((*a)[6]);
  t.queue_size = ToU64((*a)[7]);
  NoteShape(*a, 5);
  const std::uint64_t last = ToU64((*a)[5]);
  if (t.status == core::TicketStatus::kWaiting) {
    // Where the script says the ticket stands (the opening draw may have moved it).
    const std::uint64_t place = a->size() > 10 ? ToU64((*a)[10]) : t.ticket;
    t.position = place > front ? place - front : 0;
    SetWait(t, published_.EstimateWait(t.position), published_.wait_basis());
  } else if (t.status == core::TicketStatus::kFull) {
    // How long until the line now there is through.
    SetWait(t, published_.EstimateWait(last > front ? last - front : 0), published_.wait_basis());
  }
  return t;
}

void RedisRoom::Join(std::string identity, Done<TicketAnswer> done) {
  if (!adopted()) return done(Unavailable<TicketAnswer>());
  {
    std::lock_guard lock(joins_mu_);
    joins_waiting_.push_back(WaitingJoin{std::move(identity), std::move(done)});
    if (joins_in_flight_ >= kJoinsInFlight) return;  // goes with the next script
    ++joins_in_flight_;
  }
  SendJoins();
}

void RedisRoom::SendJoins() {
  std::vector<WaitingJoin> batch;
  {
    std::lock_guard lock(joins_mu_);
    if (joins_waiting_.empty()) {
      --joins_in_flight_;
      return;
    }
    const auto end = joins_waiting_.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                  joins_waiting_.size(), kMaxJoinsPerScript));
    batch.assign(std::make_move_iterator(joins_waiting_.begin()), std::make_move_iterator(end));
    joins_waiting_.erase(joins_waiting_.begin(), end);
  }
  std::vector<std::string> args =
      Args({std::to_string(batch.size()), std::to_string(store_.options().max_call_per_tick),
            std::to_string(NewcomerSilenceAllowedMs())});
  for (WaitingJoin& join : batch) args.push_back(std::move(join.identity));
  store_.client().Eval(Scripts().join, Keys(), std::move(args),
                       [this, batch = std::move(batch)](boost::system::result<Reply> r) mutable {
                         // One answer per join, in order (join.lua).
                         const std::vector<Reply>* answers = ArrayOf(r, batch.size(), "join");
                         for (std::size_t i = 0; i < batch.size(); ++i) {
                           std::optional<TicketAnswer> t =
                               answers != nullptr ? AnswerOf((*answers)[i], "join") : std::nullopt;
                           if (!t) {
                             batch[i].done(Unavailable<TicketAnswer>());
                           } else {
                             batch[i].done(std::move(*t));
                           }
                         }
                         SendJoins();
                       });
}

void RedisRoom::Status(std::uint64_t ticket, std::uint64_t frontier_at_join,
                       Done<TicketAnswer> done) {
  if (!adopted()) return done(Unavailable<TicketAnswer>());
  store_.client().Eval(
      Scripts().status, Keys(), Args({SessionMember(ticket)}),
      [this, frontier_at_join, done = std::move(done)](boost::system::result<Reply> r) {
        std::optional<TicketAnswer> t = AnswerOf(r, "status");
        if (!t) return done(Unavailable<TicketAnswer>());
        t->frontier_at_join = frontier_at_join;  // the ticket knows it; the script does not
        done(std::move(*t));
      });
}

void RedisRoom::Heartbeat(std::uint64_t session_ticket, Done<bool> done) {
  if (!adopted()) return done(Unavailable<bool>());
  store_.client().Eval(Scripts().heartbeat, Keys(), Args({SessionMember(session_ticket)}),
                       [done = std::move(done)](boost::system::result<Reply> r) {
                         if (!r || r->type != Reply::Type::kInteger)
                           return done(Unavailable<bool>());
                         done(r->integer == 1);
                       });
}

void RedisRoom::Leave(std::uint64_t session_ticket, Done<bool> done) {
  if (!adopted()) return done(Unavailable<bool>());
  std::string member = SessionMember(session_ticket);
  store_.client().Eval(Scripts().leave, Keys(), Args({member}),
                       [this, member, done = std::move(done)](boost::system::result<Reply> r) {
                         // {found, last, front, waiting, active, called, now_ms}: leave.lua
                         const std::vector<Reply>* a = ArrayOf(r, 7, "leave");
                         if (a == nullptr) return done(Unavailable<bool>());
                         NoteShape(*a, 1);
                         const bool found = ToU64((*a)[0]) == 1;
                         // Refused here at once; the other nodes learn it at their next tick.
                         if (found) NoteRevoked(member, ToI64((*a)[6]));
                         done(found);
                       });
}

void RedisRoom::LeaveAll(Done<std::uint64_t> done) {
  if (!adopted()) return done(Unavailable<std::uint64_t>());
  LeaveAllFrom(0, std::move(done));
}

void RedisRoom::LeaveAllFrom(std::uint64_t ended, Done<std::uint64_t> done) {
  const std::uint32_t batch = std::max<std::uint32_t>(store_.options().end_all_batch, 1);
  store_.client().Eval(
      Scripts().leave_all, Keys(), Args({std::to_string(batch)}),
      [this, ended, batch, done = std::move(done)](boost::system::result<Reply> r) mutable {
        // {ended, last, front, waiting, active, called, now_ms, session...}: leave_all.lua
        const std::vector<Reply>* a = ArrayOf(r, 7, "leave_all");
        if (a == nullptr) return done(Unavailable<std::uint64_t>());
        NoteShape(*a, 1);
        const std::int64_t now_ms = ToI64((*a)[6]);
        // Refused here at once; the other nodes learn it at their next tick.
        for (std::size_t i = 7; i < a->size(); ++i) NoteRevoked((*a)[i].str, now_ms);
        const std::uint64_t now_ended = ToU64((*a)[0]);
        if (now_ended < batch || ToU64((*a)[4]) == 0) return done(ended + now_ended);
        LeaveAllFrom(ended + now_ended, std::move(done));
      });
}

void RedisRoom::Withdraw(std::uint64_t ticket, Done<bool> done) {
  if (!adopted()) return done(Unavailable<bool>());
  store_.client().Eval(Scripts().withdraw, Keys(), Args({std::to_string(ticket)}),
                       [this, ticket, done = std::move(done)](boost::system::result<Reply> r) {
                         // {found, last, front, waiting, active, called}: withdraw.lua
                         const std::vector<Reply>* a = ArrayOf(r, 6, "withdraw");
                         if (a == nullptr) return done(Unavailable<bool>());
                         NoteShape(*a, 1);
                         const bool found = ToU64((*a)[0]) == 1;
                         // Kept by place (as this node knows the draw: UseDraw moves it).
                         if (found && PlaceOf(ticket) > ToU64((*a)[2])) {
                           given_back_.Insert(ticket);
                           given_back_order_.insert(PlaceOf(ticket));
                         }
                         ForgetPassedGivenBack();
                         done(found);
                       });
}

void RedisRoom::LeaveIdentity(std::string identity, Done<bool> done) {
  if (!adopted()) return done(Unavailable<bool>());
  store_.client().Eval(Scripts().leave_identity, Keys(), Args({std::move(identity)}),
                       [this, done = std::move(done)](boost::system::result<Reply> r) {
                         // {found, last, front, waiting, active, called, now_ms, session}:
                         // leave_identity.lua
                         const std::vector<Reply>* a = ArrayOf(r, 8, "leave_identity");
                         if (a == nullptr) return done(Unavailable<bool>());
                         NoteShape(*a, 1);
                         const bool found = ToU64((*a)[0]) == 1;
                         if (found) NoteRevoked((*a)[7].str, ToI64((*a)[6]));
                         done(found);
                       });
}

void RedisRoom::Admit(std::string identity, Done<TicketAnswer> done) {
  if (!adopted()) return done(Unavailable<TicketAnswer>());
  store_.client().Eval(Scripts().admit, Keys(), Args({std::move(identity)}),
                       [this, done = std::move(done)](boost::system::result<Reply> r) {
                         std::optional<TicketAnswer> t = AnswerOf(r, "admit");
                         if (!t || t->status != core::TicketStatus::kAdmitted ||
                             t->ticket < core::kBypassTicketBase) {
                           return done(Unavailable<TicketAnswer>());
                         }
                         t->frontier_at_join = t->ticket;  // nobody ahead: initialPosition 0
                         done(std::move(*t));
                       });
}

void RedisRoom::ConsumeOnce(std::string key, std::chrono::milliseconds keep, Done<bool> done) {
  std::string name = key_base_ + "once:" + key;
  std::string routing = name;
  const long long px = std::max<long long>(keep.count(), 1);
  store_.client().Command(
      {"SET", std::move(name), "1", "NX", "PX", std::to_string(px)}, std::move(routing),
      [this, done = std::move(done)](boost::system::result<Reply> r) {
        // No reply: counted by the client, answered 503 by the API. An error reply is a bug.
        if (!r) return done(Unavailable<bool>());
        if (r->is_error()) {
          spdlog::error("redis store: room {}: SET NX of a one-time key: {}", id_, ToString(*r));
          return done(Unavailable<bool>());
        }
        // +OK when set, nil when the key was there already.
        done(r->type == Reply::Type::kStatus);
      });
}

void RedisRoom::Draw(std::uint64_t first, std::vector<std::uint64_t> order, Done<bool> done) {
  if (!adopted()) return done(Unavailable<bool>());
  // draw.lua's layout (the draw key): first, then each place's ticket less first; and the same
  // the other way (drawp), which the script checks against it. Whether it is a permutation is
  // the script's to decide: a ticket twice leaves a place of `by_ticket` the script finds wrong.
  const std::uint64_t n = order.size();
  if (first == 0 || n == 0 || n > core::kMaxDrawnTickets) {
    spdlog::warn("redis store: room {}: a draw of {} tickets from {} is refused", id_, n, first);
    return done(false);
  }
  auto put = [](std::string& s, std::size_t at, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string by_place(8 + 4 * n, '\0');
  std::string by_ticket(4 * n, '\xff');
  put(by_place, 0, first, 8);
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] < first || order[i] - first >= n) {
      spdlog::warn("redis store: room {}: a draw from {} is refused: ticket {} is outside {}..{}",
                   id_, first, order[i], first, first + n - 1);
      return done(false);
    }
    put(by_place, 8 + 4 * i, order[i] - first, 4);
    put(by_ticket, 4 * (order[i] - first), i, 4);
  }
  store_.client().Eval(
      Scripts().draw, Keys(), Args({std::move(by_place), std::move(by_ticket)}),
      [this, first, order = std::move(order),
       done = std::move(done)](boost::system::result<Reply> r) mutable {
        // {taken, why, version, last, front, waiting, active, called}: draw.lua
        const std::vector<Reply>* a = ArrayOf(r, 8, "draw");
        if (a == nullptr) return done(Unavailable<bool>());
        NoteShape(*a, 3);
        if (ToU64((*a)[0]) != 1) {
          spdlog::warn("redis store: room {}: the draw from {} is refused: {}", id_, first,
                       (*a)[1].str);
          return done(false);
        }
        std::optional<core::DrawnOrder> drawn = core::DrawnOrder::Make(first, std::move(order));
        UseDraw(drawn ? std::make_shared<const core::DrawnOrder>(std::move(*drawn)) : nullptr,
                ToU64((*a)[2]));
        done(true);
      });
}

bool RedisRoom::SessionEnded(std::uint64_t session_ticket) {
  return session_ticket == 0 || revoked_.Contains(session_ticket);
}

void RedisRoom::NoteRevoked(const std::string& member, std::int64_t ended_ms) {
  const std::optional<std::uint64_t> ticket = TicketOfMember(member);
  if (!ticket) {
    spdlog::error("redis store: room {}: a revoked session is not a ticket: {}", id_, member);
    return;
  }
  if (revoked_.Insert(*ticket)) revoked_order_.emplace_back(ended_ms, *ticket);
}

void RedisRoom::ForgetRevoked(std::int64_t before_ms) {
  while (!revoked_order_.empty() && revoked_order_.front().first < before_ms) {
    revoked_.Erase(revoked_order_.front().second);
    revoked_order_.pop_front();
  }
}

std::chrono::milliseconds RedisRoom::RevokedKeep() {
  std::chrono::milliseconds lifetime;
  {
    std::lock_guard lock(figures_mu_);
    lifetime = token_lifetime_.count() > 0
                   ? std::chrono::duration_cast<std::chrono::milliseconds>(token_lifetime_)
                   : file_policy_.session_timeout;
  }
  return std::max(lifetime, policy().session_timeout) + std::chrono::minutes(1);
}

void RedisRoom::SetPolicy(const core::Policy& policy, Done<void> done) {
  std::string encoded = EncodePolicy(policy);
  store_.client().Eval(
      Scripts().set_policy, Keys(), Args({encoded}),
      [this, encoded, done = std::move(done)](boost::system::result<Reply> r) {
        if (!r || r->type == Reply::Type::kError) {
          return done(boost::system::result<void>(make_error_code(StoreError::kUnavailable)));
        }
        UsePolicy(encoded);  // the other nodes follow at their next tick
        done(boost::system::result<void>());
      });
}

core::Policy RedisRoom::file_policy() {
  std::lock_guard lock(figures_mu_);
  return file_policy_;
}

RoomFigures RedisRoom::Figures() {
  std::lock_guard lock(figures_mu_);
  RoomFigures f = figures_;
  f.cluster_wide = true;
  f.frontier = std::max(f.frontier, published_.frontier());
  f.last_issued = std::max(f.last_issued, published_.last_issued());
  const std::uint64_t line = f.last_issued - std::min(f.last_issued, f.frontier);
  f.queue_size = line - std::min(line, published_.departed());
  f.advance_rate = published_.advance_rate();
  SetNewcomerWait(f, published_.NewcomerWait(f.active, f.called_unclaimed),
                  published_.wait_basis());
  return f;
}

void RedisRoom::NoteWaits(const std::vector<Reply>& e) {
  // The whole room's figures, as the tick read them in one script: the same that an embedded
  // room's model learns from (core::RoomShape).
  core::RoomShape shape;
  shape.last_issued = ToU64(e[1]);
  shape.frontier = ToU64(e[2]);
  shape.waiting = ToU64(e[3]);
  shape.active = static_cast<std::int64_t>(ToU64(e[4]));
  shape.called_unclaimed = static_cast<std::int64_t>(ToU64(e[5]));
  core::RoomCounters& c = shape.counters;
  c.admissions = ToU64(e[10]);
  c.immediate = ToU64(e[11]);
  c.no_shows = ToU64(e[12]);
  c.expired_sessions = ToU64(e[13]);
  c.leaves = ToU64(e[14]);
  c.bypass = ToU64(e[19]);
  c.withdrawn = ToU64(e[22]);
  waits_.Observe(store_.clock().Now(), policy(), shape);
  published_.PublishWaits(waits_.curve());
}

std::vector<std::string> RedisRoom::TickArgs(std::int64_t keep_ms) {
  const RedisStoreOptions& o = store_.options();
  std::vector<std::string> args =
      Args({o.node_id, std::to_string(o.lease.count()), std::to_string(o.max_call_per_tick),
            revoked_cursor_, std::to_string(keep_ms), std::to_string(policy().session_max.count()),
            std::to_string(std::max<std::uint32_t>(o.abandon_sweep_batch, 1))});
  polls_.Take(store_.clock().Now(), o.poll_reports_per_tick, args);
  return args;
}

void RedisRoom::Tick() {
  if (!adopted()) {
    RoomSpec spec{id_, {}, fail_open()};
    {
      std::lock_guard lock(figures_mu_);
      spec.policy = file_policy_;
      spec.token_lifetime = token_lifetime_;
    }
    Adopt(spec);
    return;
  }
  const std::int64_t keep_ms = RevokedKeep().count();
  store_.client().Eval(
      Scripts().tick, Keys(), TickArgs(keep_ms), [this, keep_ms](boost::system::result<Reply> r) {
        const std::vector<Reply>* a = ArrayOf(r, 27, "tick");
        if (a == nullptr) return;
        const auto& e = *a;
        // The opening draw changed (made on another node, or passed): read it again.
        if (const std::uint64_t version = ToU64(e[25]); version != draw_version_) {
          ReadDraw(version);
        }
        // The sessions ended since the last reading; the reading goes on from where it stands.
        const Reply& revoked = e[21];
        for (std::size_t i = 0; i + 1 < revoked.elements.size(); i += 2) {
          NoteRevoked(revoked.elements[i].str, ToI64(revoked.elements[i + 1]));
        }
        const std::int64_t read_to = ToI64(e[20]);
        revoked_cursor_ = std::to_string(read_to);
        ForgetRevoked(read_to - keep_ms);
        ticked_.store(true, std::memory_order_release);
        UsePolicy(e[17].str);
        const std::uint64_t last = ToU64(e[1]);
        const std::uint64_t front = ToU64(e[2]);
        const std::uint64_t line = last - std::min(last, front);
        published_.Publish(last, front, line - std::min(line, ToU64(e[3])), ToDouble(e[6]));
        NoteWaits(e);
        ForgetPassedGivenBack();
        std::lock_guard lock(figures_mu_);
        figures_.last_issued = last;
        figures_.frontier = front;
        figures_.queue_size = ToU64(e[3]);
        figures_.active = static_cast<std::int64_t>(ToU64(e[4]));
        figures_.called_unclaimed = static_cast<std::int64_t>(ToU64(e[5]));
        core::RoomCounters& c = figures_.counters;
        c.joins = ToU64(e[7]);
        c.rejected = ToU64(e[8]);
        c.full = ToU64(e[9]);
        c.admissions = ToU64(e[10]);
        c.immediate = ToU64(e[11]);
        c.no_shows = ToU64(e[12]);
        c.expired_sessions = ToU64(e[13]);
        c.leaves = ToU64(e[14]);
        c.rejoins = ToU64(e[15]);
        c.bypass = ToU64(e[19]);
        c.withdrawn = ToU64(e[22]);
        c.abandoned = ToU64(e[23]);
        c.session_lengths = SessionLengthsOf(e[26]);
        figures_.tick_holder = e[16].str;
        if (!first_read_) {
          figures_.first_read_last_issued = last;
          first_read_ = true;
        }
        figures_.nodes = static_cast<std::uint32_t>(ToU64(e[18]));
      });
}

RedisStore::RedisStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock,
                       RedisStoreOptions options)
    : clock_(clock), options_(std::move(options)) {
  // Every time that matters to a room is Redis's own; the clock times the client's deadlines
  // and the wait model's ticks.
  client_ = std::make_unique<redis::Client>(ioc_, options_.client, clock);
  client_->Start();
  thread_ = std::thread([this] { ioc_.run(); });
  Reconfigure(rooms);
}

RedisStore::~RedisStore() { Close(); }

void RedisStore::Close() {
  if (closed_.exchange(true)) return;
  // Pending commands fail with kStopped on the Redis thread, which then runs out of work.
  client_->Stop();
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

RedisRoom* RedisStore::Find(std::string_view room_id) {
  const Served& served = served_.Get();
  auto it = served.by_id.find(room_id);
  return it == served.by_id.end() ? nullptr : it->second;
}

ReconfigureReport RedisStore::Reconfigure(const std::vector<RoomSpec>& rooms) {
  std::lock_guard lock(rooms_mu_);
  const Served& before = served_.Get();
  ReconfigureReport report;
  Served next;
  for (const RoomSpec& spec : rooms) {
    RedisRoom* room = nullptr;
    if (auto it = kept_by_id_.find(spec.id); it != kept_by_id_.end()) {
      room = it->second;
      // As core::Room::Reconfigure: only a file that changed can change the policy in force (an
      // operator's change stays while the file says what it said).
      if (!(room->file_policy() == spec.policy) && !(room->policy() == spec.policy)) {
        report.policy_changed.push_back(spec.id);
      }
    } else {
      kept_.push_back(std::make_unique<RedisRoom>(*this, spec));
      room = kept_.back().get();
      kept_by_id_.emplace(spec.id, room);
    }
    room->Adopt(spec);
    if (!before.by_id.contains(spec.id)) report.added.push_back(spec.id);
    next.list.push_back(room);
    next.rooms.push_back(room);
    next.by_id.emplace(spec.id, room);
  }
  for (RedisRoom* room : before.rooms) {
    if (!next.by_id.contains(room->id())) report.removed.push_back(room->id());
  }
  served_.Publish(std::move(next));
  return report;
}

void RedisStore::Tick() {
  // Posted, so that every room's figures are refreshed on the Redis thread, in order.
  boost::asio::post(ioc_, [this] {
    for (RedisRoom* room : served_.Get().rooms) room->Tick();
  });
}

bool RedisStore::Ready() const {
  // Connected, and every room served knows its shared incarnation (it can take joins) and has
  // ticked once (it knows which sessions other nodes ended: their tokens are refused here too).
  if (!client_->connected()) return false;
  for (const RedisRoom* room : served_.Get().rooms) {
    if (!room->adopted() || !room->ticked()) return false;
  }
  return true;
}

}  // namespace vwr::store
