#include "store/embedded_store.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "store/event_codec.hpp"
#include "util/files.hpp"
#include "util/random.hpp"

namespace vwr::store {
namespace {

// A room's incarnation is fixed for the life of its state directory: tickets issued before a
// restart stay valid after it, and tickets from a wiped directory do not.
std::uint64_t IncarnationOf(std::uint64_t state_id, std::string_view room_id) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: stable across builds, unlike std::hash
  for (char c : room_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  std::uint64_t z = state_id ^ h;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The random identity of a state directory, created with it. One that someone else could have
// written (or put there) is refused, as the journal's files are.
boost::system::result<std::uint64_t> StateId(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "state.id";
  util::PrivateFile file = util::OpenPrivateFile(path, util::FileSecrecy::kData);
  if (!file.refused.empty()) {
    spdlog::error("store: {}", file.refused);
    return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
  }
  if (file.fd.valid()) {
    char text[64];
    ssize_t n = -1;
    do {
      n = ::read(file.fd.get(), text, sizeof(text));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return boost::system::error_code(errno, boost::system::system_category());
    std::string_view hex(text, static_cast<std::size_t>(n));
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.remove_suffix(1);
    std::uint64_t id = 0;
    auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), id, 16);
    if (ec == std::errc{} && p == hex.data() + hex.size() && id != 0) return id;
    spdlog::error("store: {} is not a state id", path.string());
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  }
  if (file.error != ENOENT) {
    return boost::system::error_code(file.error, boost::system::system_category());
  }
  std::uint64_t id = 0;
  while (id == 0) id = util::SecureRandom64();
  const std::filesystem::path tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());  // left by a start that was cut short
  {
    char text[24];
    const int length = std::snprintf(text, sizeof(text), "%" PRIx64 "\n", id);
    const util::Fd fd = util::CreateFile(tmp, 0600);
    if (!fd.valid() || !util::WriteAll(fd.get(), std::string_view(text, length)) ||
        ::fsync(fd.get()) != 0) {
      return boost::system::error_code(errno, boost::system::system_category());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
  (void)util::SyncDirectory(dir);  // best effort, as the journal's own files
  return id;
}

// Encodes a room's snapshot events and hands each record to `emit`.
class SnapshotEncoder final : public core::RoomEventSink {
 public:
  SnapshotEncoder(std::string_view room_id, const std::function<void(std::string_view)>& emit)
      : room_id_(room_id), emit_(emit) {}
  void OnEvent(const core::RoomEvent& event) override {
    buffer_.clear();
    EncodeEvent(room_id_, event, buffer_);
    emit_(buffer_);
  }

 private:
  std::string_view room_id_;
  const std::function<void(std::string_view)>& emit_;
  std::string buffer_;
};

}  // namespace

EmbeddedRoom::EmbeddedRoom(const RoomSpec& spec, std::uint64_t incarnation,
                           const util::Clock& clock)
    : id_(spec.id),
      incarnation_(incarnation),
      clock_(clock),
      fail_open_(spec.fail_open),
      room_(spec.id, spec.policy, incarnation, clock.Now()),
      published_(spec.policy) {
  // Every change is seen here (to track the live sessions), journalled or not.
  room_.SetEventSink(this);
  published_.PublishWaits(room_.wait_model().curve());
  published_waits_ = room_.wait_model().version();
}

const core::Policy& EmbeddedRoom::policy() const { return published_.policy(); }

core::Instant EmbeddedRoom::Now() const { return core::Instant::From(clock_); }

TicketAnswer EmbeddedRoom::Join(std::string_view identity) {
  std::lock_guard lock(mu_);
  const core::TicketOutcome outcome = room_.Join(identity, Now());
  Publish();
  TicketAnswer answer = Answer(outcome);
  answer.durable_lsn = TakeLsn();
  return answer;
}

TicketAnswer EmbeddedRoom::Admit(std::string_view identity) {
  std::lock_guard lock(mu_);
  const core::TicketOutcome outcome = room_.Admit(identity, Now());
  Publish();
  TicketAnswer answer = Answer(outcome);
  answer.durable_lsn = TakeLsn();
  return answer;
}

bool EmbeddedRoom::ConsumeOnce(std::string key, std::chrono::milliseconds keep) {
  const util::TimePoint now = clock_.Now();
  std::lock_guard lock(once_mu_);
  while (!once_order_.empty() && once_order_.top().first <= now) {
    once_.erase(once_order_.top().second);
    once_order_.pop();
  }
  if (!once_.insert(key).second) return false;
  once_order_.emplace(now + keep, std::move(key));
  return true;
}

void EmbeddedRoom::ConsumeOnce(std::string key, std::chrono::milliseconds keep, Done<bool> done) {
  done(ConsumeOnce(std::move(key), keep));
}

bool EmbeddedRoom::SessionEnded(std::uint64_t session_ticket) {
  return !live_.Contains(session_ticket);
}

bool EmbeddedRoom::StatusCached(std::uint64_t ticket, std::uint64_t frontier_at_join,
                                TicketAnswer& answer) {
  if (!AnswerFromPublished(published_, given_back_, ticket, frontier_at_join, answer)) return false;
  if (answer.status != core::TicketStatus::kWaiting) return true;
  // The poll is what keeps the place: its deadline moves on (lock-free, no allocation). A
  // ticket the frontier has just passed is the room's to answer.
  return room_.attendance().NotePoll(published_.PlaceOf(ticket), clock_.Now(), answer.eta_seconds,
                                     published_.policy()) != core::Attendance::Renewal::kPassed;
}

TicketAnswer EmbeddedRoom::Status(std::uint64_t ticket, std::uint64_t frontier_at_join) {
  if (TicketAnswer a; StatusCached(ticket, frontier_at_join, a)) return a;
  std::lock_guard lock(mu_);
  core::TicketOutcome outcome = room_.Poll(ticket, Now());
  outcome.frontier_at_join = frontier_at_join;
  Publish();
  TicketAnswer answer = Answer(outcome);
  answer.durable_lsn = TakeLsn();
  return answer;
}

SessionChange EmbeddedRoom::Heartbeat(std::uint64_t session_ticket) {
  std::lock_guard lock(mu_);
  const bool found = room_.Heartbeat(session_ticket, Now());
  return SessionChange{found, TakeLsn()};
}

SessionChange EmbeddedRoom::Leave(std::uint64_t session_ticket) {
  std::lock_guard lock(mu_);
  const bool left = room_.Leave(session_ticket, Now());
  Publish();
  return SessionChange{left, TakeLsn()};
}

std::pair<std::uint64_t, std::uint64_t> EmbeddedRoom::LeaveAll() {
  std::lock_guard lock(mu_);
  const std::uint64_t ended = room_.LeaveAll(Now());
  Publish();
  return {ended, TakeLsn()};
}

SessionChange EmbeddedRoom::Withdraw(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  const bool withdrawn = room_.Withdraw(ticket);
  Publish();
  return SessionChange{withdrawn, TakeLsn()};
}

SessionChange EmbeddedRoom::Draw(std::uint64_t first, std::vector<std::uint64_t> order) {
  std::lock_guard lock(mu_);
  const bool drawn = room_.Draw(first, std::move(order));
  Publish();
  return SessionChange{drawn, TakeLsn()};
}

void EmbeddedRoom::Draw(std::uint64_t first, std::vector<std::uint64_t> order, Done<bool> done) {
  const SessionChange change = Draw(first, std::move(order));
  Settle(change.durable_lsn, change.found, std::move(done));
}

SessionChange EmbeddedRoom::LeaveIdentity(std::string_view identity) {
  std::lock_guard lock(mu_);
  const bool left = room_.LeaveIdentity(identity, Now());
  Publish();
  return SessionChange{left, TakeLsn()};
}

std::uint64_t EmbeddedRoom::SetPolicy(const core::Policy& policy) {
  std::lock_guard lock(mu_);
  room_.SetPolicy(policy);
  Publish();
  return TakeLsn();
}

void EmbeddedRoom::Apply(const core::RoomEvent& event, const core::Instant& now) {
  std::lock_guard lock(mu_);
  room_.Apply(event, now);
  TrackSessions(event);
  // Now, not at the end: a ticket's place depends on the draw in use, which later events change.
  ForgetPassedGivenBack();
}

void EmbeddedRoom::EndReplay() {
  std::lock_guard lock(mu_);
  Publish();
}

void EmbeddedRoom::RecordTo(Journal* journal) {
  std::lock_guard lock(mu_);
  journal_ = journal;
}

void EmbeddedRoom::OnEvent(const core::RoomEvent& event) {
  TrackSessions(event);
  if (journal_ == nullptr) return;
  scratch_.clear();
  EncodeEvent(id_, event, scratch_);
  last_lsn_ = journal_->Append(scratch_);
}

void EmbeddedRoom::TrackSessions(const core::RoomEvent& event) {
  // A session begins live only if the room holds it: a replayed event the room ignored
  // (already known, or not its to place) must not make one live.
  auto follow = [&](std::uint64_t number) {
    if (room_.FindSession(number) != nullptr) {
      live_.Insert(number);
    } else {
      live_.Erase(number);
    }
  };
  if (const auto* claimed = std::get_if<core::TicketClaimed>(&event)) {
    follow(claimed->number);
  } else if (const auto* admitted = std::get_if<core::BypassAdmitted>(&event)) {
    follow(admitted->number);
  } else if (const auto* restored = std::get_if<core::SessionRestored>(&event)) {
    follow(restored->number);
  } else if (const auto* ended = std::get_if<core::SessionEnded>(&event)) {
    live_.Erase(ended->number);  // reported just before the room lets the session go
  } else if (std::holds_alternative<core::RoomCheckpoint>(event)) {
    live_.Clear();  // a snapshot's events replace all state; its sessions follow
    given_back_.Clear();
    given_back_order_.clear();
  } else if (const auto* withdrawn = std::get_if<core::TicketWithdrawn>(&event)) {
    if (const std::uint64_t place = room_.PlaceOf(withdrawn->number); place > room_.frontier()) {
      given_back_.Insert(withdrawn->number);
      given_back_order_.insert(place);
    }
  } else if (const auto* drawn = std::get_if<core::TicketsDrawn>(&event)) {
    // Places given back before the draw were at their tickets' numbers: they move with them
    // (if the room took it).
    const std::shared_ptr<const core::DrawnOrder>& in_use = room_.drawn();
    if (!in_use || in_use->first() != drawn->first || in_use->order() != drawn->order) return;
    std::set<std::uint64_t> moved;
    for (const std::uint64_t place : given_back_order_) {
      moved.insert(drawn->first <= place && place - drawn->first < drawn->order.size()
                       ? room_.PlaceOf(place)
                       : place);
    }
    given_back_order_ = std::move(moved);
  }
}

void EmbeddedRoom::WriteSnapshot(const std::function<void(std::string_view)>& emit) {
  std::lock_guard lock(mu_);
  SnapshotEncoder encoder(id_, emit);
  room_.Snapshot(encoder, Now());
}

RoomFigures EmbeddedRoom::Figures() {
  std::lock_guard lock(mu_);
  RoomFigures f;
  f.frontier = room_.frontier();
  f.last_issued = room_.last_issued();
  f.queue_size = room_.waiting();
  f.active = room_.active();
  f.called_unclaimed = room_.called_unclaimed();
  f.advance_rate = room_.advance_rate();
  SetNewcomerWait(f, room_.NewcomerWait(), room_.wait_model().curve().basis);
  f.counters = room_.counters();
  return f;
}

template <typename T>
void EmbeddedRoom::Settle(std::uint64_t lsn, T value, Done<T> done) {
  // A change was recorded (lsn != 0) only while journal_ is set, and journal_ never changes
  // once the room serves; reading it here, after the locked step, is safe.
  if (lsn == 0 || journal_ == nullptr) return done(std::move(value));
  journal_->AwaitDurable(lsn, [value = std::move(value), done = std::move(done)](bool ok) mutable {
    if (!ok) {
      return done(boost::system::result<T>(boost::system::in_place_error,
                                           make_error_code(StoreError::kNotDurable)));
    }
    done(std::move(value));
  });
}

void EmbeddedRoom::Join(std::string identity, Done<TicketAnswer> done) {
  TicketAnswer answer = Join(std::string_view(identity));
  const std::uint64_t lsn = answer.durable_lsn;
  Settle(lsn, std::move(answer), std::move(done));
}

void EmbeddedRoom::Status(std::uint64_t ticket, std::uint64_t frontier_at_join,
                          Done<TicketAnswer> done) {
  TicketAnswer answer = Status(ticket, frontier_at_join);
  const std::uint64_t lsn = answer.durable_lsn;
  Settle(lsn, std::move(answer), std::move(done));
}

void EmbeddedRoom::Admit(std::string identity, Done<TicketAnswer> done) {
  TicketAnswer answer = Admit(std::string_view(identity));
  const std::uint64_t lsn = answer.durable_lsn;
  Settle(lsn, std::move(answer), std::move(done));
}

void EmbeddedRoom::Heartbeat(std::uint64_t session_ticket, Done<bool> done) {
  const SessionChange change = Heartbeat(session_ticket);
  Settle(change.durable_lsn, change.found, std::move(done));
}

void EmbeddedRoom::Leave(std::uint64_t session_ticket, Done<bool> done) {
  const SessionChange change = Leave(session_ticket);
  Settle(change.durable_lsn, change.found, std::move(done));
}

void EmbeddedRoom::LeaveAll(Done<std::uint64_t> done) {
  // The journal writes in order: once the last session's end is durable, all of them are.
  const auto [ended, lsn] = LeaveAll();
  Settle(lsn, ended, std::move(done));
}

void EmbeddedRoom::Withdraw(std::uint64_t ticket, Done<bool> done) {
  const SessionChange change = Withdraw(ticket);
  Settle(change.durable_lsn, change.found, std::move(done));
}

void EmbeddedRoom::LeaveIdentity(std::string identity, Done<bool> done) {
  const SessionChange change = LeaveIdentity(std::string_view(identity));
  Settle(change.durable_lsn, change.found, std::move(done));
}

void EmbeddedRoom::SetPolicy(const core::Policy& policy, Done<void> done) {
  const std::uint64_t lsn = SetPolicy(policy);
  if (lsn == 0 || journal_ == nullptr) return done(boost::system::result<void>());
  journal_->AwaitDurable(lsn, [done = std::move(done)](bool ok) {
    if (!ok) return done(make_error_code(StoreError::kNotDurable));
    done(boost::system::result<void>());
  });
}

bool EmbeddedRoom::Reconfigure(const RoomSpec& spec) {
  fail_open_.store(spec.fail_open, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (!room_.Reconfigure(spec.policy)) return false;
  Publish();
  return true;
}

core::TickReport EmbeddedRoom::Tick() {
  std::lock_guard lock(mu_);
  const core::TickReport report = room_.Tick(Now());
  Publish();
  TakeLsn();  // nobody waits on a tick: its records are made durable with the next write
  return report;
}

TicketAnswer EmbeddedRoom::Answer(const core::TicketOutcome& outcome) const {
  TicketAnswer a;
  a.status = outcome.status;
  a.ticket = outcome.ticket;
  a.frontier_at_join = outcome.frontier_at_join;
  a.queue_size = room_.waiting();
  const core::WaitBasis basis = room_.wait_model().curve().basis;
  if (outcome.status == core::TicketStatus::kWaiting) {
    a.position = room_.PlaceOf(outcome.ticket) - room_.frontier();
    SetWait(a, room_.EstimateWait(a.position), basis);
  } else if (outcome.status == core::TicketStatus::kFull) {
    // How long until the line now there is through.
    SetWait(a, room_.EstimateWait(room_.last_issued() - room_.frontier()), basis);
  }
  if (outcome.session != nullptr) {
    a.admitted_unix = outcome.session->admitted_unix_ms / 1000;
    a.identity = outcome.session->identity;
  }
  return a;
}

void EmbeddedRoom::ForgetPassedGivenBack() {
  // The frontier has passed these: the published figures answer them as not waiting.
  while (!given_back_order_.empty() && *given_back_order_.begin() <= room_.frontier()) {
    given_back_.Erase(room_.TicketOf(*given_back_order_.begin()));
    given_back_order_.erase(given_back_order_.begin());
  }
}

void EmbeddedRoom::Publish() {
  ForgetPassedGivenBack();
  if (!(published_.policy() == room_.policy())) published_.SetPolicy(room_.policy());
  // Before the figures: the draw never places a ticket the frontier has passed.
  published_.SetDraw(room_.drawn());
  // Tickets marked abandoned are out of the line's size like places given back.
  published_.Publish(room_.last_issued(), room_.frontier(), room_.departed() + room_.abandoned(),
                     room_.advance_rate());
  // The wait model changes at ticks only: a join or a claim republishes nothing of it.
  if (room_.wait_model().version() != published_waits_) {
    published_waits_ = room_.wait_model().version();
    published_.PublishWaits(room_.wait_model().curve());
  }
}

EmbeddedStore::EmbeddedStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock)
    : EmbeddedStore(rooms, clock, util::SecureRandom64()) {}

EmbeddedStore::EmbeddedStore(const std::vector<RoomSpec>& rooms, const util::Clock& clock,
                             std::uint64_t state_id)
    : clock_(clock), state_id_(state_id) {
  Reconfigure(rooms);
}

EmbeddedRoom& EmbeddedStore::Keep(const RoomSpec& spec, bool* created) {
  if (auto it = kept_by_id_.find(spec.id); it != kept_by_id_.end()) {
    *created = false;
    return *it->second;
  }
  auto room = std::make_unique<EmbeddedRoom>(spec, IncarnationOf(state_id_, spec.id), clock_);
  if (journal_ != nullptr) room->RecordTo(journal_.get());
  EmbeddedRoom& kept = *room;
  kept_by_id_.emplace(spec.id, room.get());
  kept_.push_back(std::move(room));
  *created = true;
  return kept;
}

std::vector<EmbeddedRoom*> EmbeddedStore::KeptRooms() const {
  std::vector<EmbeddedRoom*> rooms;
  rooms.reserve(kept_.size());
  for (const auto& room : kept_) rooms.push_back(room.get());
  return rooms;
}

ReconfigureReport EmbeddedStore::Reconfigure(const std::vector<RoomSpec>& rooms) {
  std::lock_guard lock(rooms_mu_);
  const Served& before = served_.Get();
  ReconfigureReport report;
  Served next;
  for (const RoomSpec& spec : rooms) {
    bool created = false;
    EmbeddedRoom& room = Keep(spec, &created);
    // A room just made already has the file's policy; one kept from before is told it.
    if (!created && room.Reconfigure(spec)) report.policy_changed.push_back(spec.id);
    if (!before.by_id.contains(spec.id)) report.added.push_back(spec.id);
    next.list.push_back(&room);
    next.rooms.push_back(&room);
    next.by_id.emplace(spec.id, &room);
  }
  for (EmbeddedRoom* room : before.rooms) {
    if (!next.by_id.contains(room->id())) report.removed.push_back(room->id());
  }
  served_.Publish(std::move(next));
  return report;
}

EmbeddedRoom* EmbeddedStore::Find(std::string_view room_id) {
  const Served& served = served_.Get();
  auto it = served.by_id.find(room_id);
  return it == served.by_id.end() ? nullptr : it->second;
}

boost::system::result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::Open(
    const std::vector<RoomSpec>& rooms, const util::Clock& clock, const EmbeddedOptions& options) {
  if (options.dir.empty()) return std::make_unique<EmbeddedStore>(rooms, clock);
  if (const int error = util::CreatePrivateDirectories(options.dir); error != 0) {
    return boost::system::error_code(error, boost::system::system_category());
  }
  const auto state_id = StateId(options.dir);
  if (!state_id) return state_id.error();
  std::unique_ptr<EmbeddedStore> store(new EmbeddedStore(rooms, clock, *state_id));
  store->options_ = options;

  const core::Instant now = core::Instant::From(clock);
  std::uint64_t undecodable = 0;
  std::vector<std::string> unconfigured;
  JournalOptions journal_options;
  journal_options.dir = (std::filesystem::path(options.dir) / "journal").string();
  journal_options.fsync = options.fsync;
  journal_options.fsync_interval = options.fsync_interval;
  EmbeddedRoom* replaying = nullptr;  // the room of the last record
  std::string replaying_id;
  // Replay runs on this thread, inside Journal::Open; the lock only states that it may add rooms.
  std::unique_lock rooms_lock(store->rooms_mu_);
  auto journal = Journal::Open(
      journal_options,
      [&](std::span<const std::uint8_t> payload) {
        std::optional<DecodedEvent> decoded = DecodeEvent(payload);
        if (!decoded) {
          ++undecodable;
          return;
        }
        // Records of one room mostly follow each other: the last one found is asked first.
        if (replaying == nullptr || decoded->room_id != replaying_id) {
          // A room no longer configured is kept, unserved, with its state: should it come back,
          // its tickets stay valid and its numbering goes on.
          bool created = false;
          replaying = &store->Keep({decoded->room_id, core::Policy{}}, &created);
          if (created) unconfigured.push_back(decoded->room_id);
          replaying_id = decoded->room_id;
        }
        replaying->Apply(decoded->event, now);
      },
      &store->recovery_);
  rooms_lock.unlock();
  if (!journal) return journal.error();
  store->journal_ = std::move(*journal);
  const RecoveryReport& r = store->recovery_;
  if (r.damaged) spdlog::error("store: journal damage found and cut: {}", r.damage);
  if (undecodable > 0) spdlog::error("store: {} journal records could not be read", undecodable);
  if (!unconfigured.empty()) {
    spdlog::warn("store: kept the state of {} room(s) no longer configured, not served: {}",
                 unconfigured.size(), fmt::join(unconfigured, ", "));
  }
  spdlog::info("store: recovered {} snapshot and {} journal records from {}", r.snapshot_records,
               r.journal_records, options.dir);
  {
    std::lock_guard lock(store->rooms_mu_);
    for (auto& room : store->kept_) {
      room->EndReplay();
      room->RecordTo(store->journal_.get());
    }
  }
  store->snapshot_thread_ = std::thread([s = store.get()] { s->SnapshotLoop(); });
  return store;
}

EmbeddedStore::~EmbeddedStore() { Close(); }

void EmbeddedStore::Close() {
  {
    std::lock_guard lock(loop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  loop_wake_.notify_all();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  if (journal_ != nullptr) {
    // A final snapshot makes the next start quick; the flush makes everything durable.
    if (auto written = Snapshot(); !written) {
      spdlog::error("store: final snapshot failed: {}", written.error().message());
    }
    journal_->Flush();
  }
}

boost::system::result<void> EmbeddedStore::Snapshot() {
  if (journal_ == nullptr) return {};
  std::lock_guard lock(snapshot_mu_);
  std::vector<EmbeddedRoom*> rooms;
  {
    std::lock_guard rooms_lock(rooms_mu_);
    rooms = KeptRooms();
  }
  // Rooms not served are written too: their state must outlive the journal segments it is in.
  return journal_->WriteSnapshot([&](const std::function<void(std::string_view)>& emit) {
    for (EmbeddedRoom* room : rooms) room->WriteSnapshot(emit);
  });
}

void EmbeddedStore::SnapshotLoop() {
  std::unique_lock lock(loop_mu_);
  while (!loop_wake_.wait_for(lock, options_.snapshot_interval, [&] { return stopping_; })) {
    lock.unlock();
    if (auto written = Snapshot(); !written) {
      spdlog::error("store: snapshot failed: {}", written.error().message());
    }
    lock.lock();
  }
}

void EmbeddedStore::AwaitDurable(std::uint64_t durable_lsn, std::function<void(bool)> done) {
  if (journal_ == nullptr || durable_lsn == 0) {
    done(true);
    return;
  }
  journal_->AwaitDurable(durable_lsn, std::move(done));
}

void EmbeddedStore::Tick() {
  // Only rooms served: one not served keeps its state as it was until it comes back.
  for (EmbeddedRoom* room : served_.Get().rooms) room->Tick();
}

}  // namespace vwr::store
