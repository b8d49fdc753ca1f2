#include "analytics/recorder.hpp"

#include <thread>

namespace vwr::analytics {

namespace {

// Writer slots are leased per thread and given back when the thread ends, so that a process
// whose threads come and go (tests, thread pools) keeps using the dedicated shards.
struct SlotPool {
  std::mutex mu;
  std::vector<std::size_t> free;
  std::size_t next = 0;
};

SlotPool& Pool() {
  // Never destroyed: a thread may end after static destruction began.
  static SlotPool* pool = new SlotPool;
  return *pool;
}

struct SlotLease {
  std::size_t slot = kMaxWriterSlots;
  SlotLease() {
    SlotPool& pool = Pool();
    std::lock_guard lock(pool.mu);
    if (!pool.free.empty()) {
      slot = pool.free.back();
      pool.free.pop_back();
    } else if (pool.next < kMaxWriterSlots) {
      slot = pool.next++;
    }
  }
  ~SlotLease() {
    if (slot == kMaxWriterSlots) return;
    SlotPool& pool = Pool();
    std::lock_guard lock(pool.mu);
    pool.free.push_back(slot);
  }
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;
};

bool IsPoll(const RequestRecord& r) {
  return r.tracer_poll || r.endpoint == Endpoint::kStatus || r.endpoint == Endpoint::kHeartbeat ||
         r.endpoint == Endpoint::kVerify;
}

}  // namespace

std::size_t WriterSlot() {
  thread_local SlotLease lease;
  return lease.slot;
}

Outcome OutcomeOf(unsigned status_code, bool blocked) {
  if (blocked) return Outcome::kBlocked;
  if (status_code >= 500) return Outcome::kServerError;
  if (status_code >= 400) return Outcome::kClientError;
  return Outcome::kSuccess;
}

RoomRecorder::Shard::Shard(std::size_t sketch_capacity) {
  for (auto& epoch : sketches) {
    for (auto& sketch : epoch) sketch = TopSketch(sketch_capacity);
  }
}

RoomRecorder::RoomRecorder(std::string id, const RecorderOptions& options,
                           const std::atomic<std::uint32_t>& epoch)
    : id_(std::move(id)),
      poll_sample_(std::max<std::uint32_t>(options.poll_sample, 1)),
      epoch_(epoch) {
  const std::size_t slots = std::min(options.writer_slots, kMaxWriterSlots);
  for (std::size_t i = 0; i <= slots; ++i) {
    shards_.push_back(std::make_unique<Shard>(options.sketch_capacity));
  }
  collected_.resize(shards_.size());
  for (auto& c : collected_) c.fill(0);
}

RoomRecorder::Shard& RoomRecorder::MyShard(bool& shared) noexcept {
  const std::size_t slot = WriterSlot();
  shared = slot + 1 >= shards_.size();
  return shared ? *shards_.back() : *shards_[slot];
}

void RoomRecorder::Request(const RequestRecord& r) noexcept {
  const std::uint64_t weight = Count(r);
  if (weight != 0 && r.visitor != nullptr) AddVisitor(*r.visitor, weight);
}

std::uint64_t RoomRecorder::Count(const RequestRecord& r) noexcept {
  bool shared = false;
  Shard& s = MyShard(shared);
  Add(s, shared, field::kRequests, 1);
  Add(s, shared, static_cast<FieldId>(field::kRequestsJoin + static_cast<FieldId>(r.endpoint)), 1);
  Add(s, shared, static_cast<FieldId>(field::kSuccess + static_cast<FieldId>(r.outcome)), 1);
  if (r.tracer_poll) Add(s, shared, field::kTracerPolls, 1);
  if (r.endpoint == Endpoint::kStatus) {
    const double seconds = util::ToSeconds(r.latency);
    Add(s, shared,
        BucketField(Distribution::kPollLatency, BucketOf(Distribution::kPollLatency, seconds)), 1);
    Add(s, shared, SumField(Distribution::kPollLatency),
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.latency.count() / 1000)));
  }
  if (!IsPoll(r) || poll_sample_ <= 1) return 1;
  std::uint32_t n = 0;
  if (shared) {
    n = 1 + s.polls_shared.fetch_add(1, std::memory_order_relaxed);
  } else {
    n = ++s.polls;
  }
  return n % poll_sample_ == 0 ? poll_sample_ : 0;
}

void RoomRecorder::AddVisitor(const Visitor& who, std::uint64_t weight) noexcept {
  if (weight == 0) return;
  bool shared = false;
  Shard& s = MyShard(shared);
  RecordVisitor(s, shared, who, weight);
}

void RoomRecorder::RecordVisitor(Shard& s, bool shared, const Visitor& who,
                                 std::uint64_t weight) noexcept {
  if (shared) {
    while (s.shared_lock.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
  }
  // Announce the epoch written (see the class comment): if the collector flipped it meanwhile,
  // announce the new one instead.
  std::uint32_t e = epoch_.load(std::memory_order_acquire);
  for (;;) {
    s.writing.store(e, std::memory_order_seq_cst);
    const std::uint32_t now = epoch_.load(std::memory_order_seq_cst);
    if (now == e) break;
    e = now;
  }
  auto& sketches = s.sketches[e & 1];
  static std::uint8_t no_tag = 0;
  const auto put = [&](Dimension d, std::string_view key) -> std::uint8_t& {
    if (key.empty()) return no_tag;
    Add(s, shared, SeenField(d), weight);
    return sketches[static_cast<std::size_t>(d)].Add(key, weight);
  };
  put(Dimension::kPageUrl, who.page_url);
  put(Dimension::kIp, who.ip);
  if (!who.ip.empty()) {
    char prefix[48];
    put(Dimension::kIpPrefix, std::string_view(prefix, IpPrefixOf(who.ip, prefix)));
  }
  // The agent's class is worked out when its User-Agent takes a place in the sketch and kept
  // in the entry's tag (class + 1), so a browser polling again costs no second look.
  AgentClass agent = AgentClass::kBot;
  if (!who.user_agent.empty()) {
    std::uint8_t& tag = put(Dimension::kUserAgent, who.user_agent);
    if (tag == 0)
      tag = static_cast<std::uint8_t>(static_cast<int>(ClassifyAgent(who.user_agent)) + 1);
    agent = static_cast<AgentClass>(tag - 1);
  }
  put(Dimension::kUser, who.user);
  put(Dimension::kHost, who.host);
  s.writing.store(kIdle, std::memory_order_release);
  if (shared) s.shared_lock.clear(std::memory_order_release);
  Add(s, shared, static_cast<FieldId>(field::kUaBrowser + static_cast<FieldId>(agent)), weight);
}

void RoomRecorder::EndedByOperator(std::uint64_t sessions) noexcept {
  bool shared = false;
  Shard& s = MyShard(shared);
  Add(s, shared, field::kEndedByOperator, sessions);
}

void RoomRecorder::Collect(std::uint32_t closed_epoch, Frame& frame,
                           std::array<TopTable, kDimensionCount>& tops) {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    Shard& s = *shards_[i];
    // A writer still in the closed epoch finishes within a few hundred nanoseconds.
    while (s.writing.load(std::memory_order_seq_cst) == closed_epoch) std::this_thread::yield();
    auto& sketches = s.sketches[closed_epoch & 1];
    for (std::size_t d = 0; d < kDimensionCount; ++d) {
      tops[d].AddSketch(sketches[d]);
      sketches[d].Clear();
    }
    auto& last = collected_[i];
    for (FieldId f = 0; f < field::kCount; ++f) {
      const std::uint64_t now = s.counts[f].load(std::memory_order_relaxed);
      frame[f] += now - last[f];
      last[f] = now;
    }
  }
}

Recorder::Recorder(RecorderOptions options) : options_(options) {}

RoomRecorder* Recorder::Find(std::string_view room_id) const {
  const Map& map = map_.Get();
  const auto it = map.find(room_id);
  return it == map.end() ? nullptr : it->second;
}

RoomRecorder& Recorder::Room(std::string_view room_id) {
  if (RoomRecorder* found = Find(room_id)) return *found;
  std::lock_guard lock(mu_);
  if (RoomRecorder* found = Find(room_id)) return *found;
  rooms_.push_back(std::make_unique<RoomRecorder>(std::string(room_id), options_, epoch_));
  Map next = map_.Get();
  next.emplace(rooms_.back()->id(), rooms_.back().get());
  map_.Publish(std::move(next));
  return *rooms_.back();
}

void Recorder::Collect(std::vector<Collected>& out) {
  const std::uint32_t closed = epoch_.load(std::memory_order_relaxed);
  epoch_.store(closed + 1, std::memory_order_seq_cst);
  // The rooms are listed after the flip: a room made just before it, whose first writer wrote
  // in the closed epoch, is collected now (listed before the flip, it would be left out, and its
  // closed epoch's breakdowns read a second late, in the wrong second).
  std::vector<RoomRecorder*> rooms;
  {
    std::lock_guard lock(mu_);
    for (const auto& r : rooms_) rooms.push_back(r.get());
  }
  out.clear();
  out.reserve(rooms.size());
  for (RoomRecorder* room : rooms) {
    Collected& c = out.emplace_back();
    c.room = room->id();
    room->Collect(closed, c.frame, c.tops);
  }
}

}  // namespace vwr::analytics
