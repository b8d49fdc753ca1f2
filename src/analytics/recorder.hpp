#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analytics/frame.hpp"
#include "analytics/top_k.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "util/string_hash.hpp"

namespace vwr::analytics {

// The public endpoints a room's requests are counted by.
enum class Endpoint : std::uint8_t {
  kJoin,
  kStatus,
  kHeartbeat,
  kLeave,
  kVerify,
  kTracerInput,
  kTracerOutput,
  kTracerCheckBot,
  kPages,
  kOther,
};

// How a request ended.
enum class Outcome : std::uint8_t { kSuccess, kClientError, kServerError, kBlocked };
// The class of an HTTP status code; `blocked`: the guard refused the request.
Outcome OutcomeOf(unsigned status_code, bool blocked = false);

// Who sent a request, for the top-K breakdowns. Any field may be empty (not known, or not sent
// by this endpoint): empty fields are not counted. The views need only live for the call.
struct Visitor {
  std::string_view ip{};  // the client address as the server sees it (after trusted proxies)
  std::string_view user_agent{};  // User-Agent (TRACER: the form's userAgent when there is one)
  std::string_view host{};        // Host (TRACER: the form's host)
  std::string_view page_url{};    // join body pageUrl / TRACER pageUrl
  std::string_view user{};        // userId / TRACER loginId / the signed identity
};

// One public request, as a handler reports it once its answer is known.
struct RequestRecord {
  Endpoint endpoint = Endpoint::kOther;
  Outcome outcome = Outcome::kSuccess;
  util::Duration latency{};          // time on the server; kept for status polls only
  const Visitor* visitor = nullptr;  // who sent it (nullptr: not recorded in the breakdowns)
  bool tracer_poll = false;          // an inputQueue.do call of an identity already in line
};

// What the recorder's writers share, per process: which shard each thread writes.
inline constexpr std::size_t kMaxWriterSlots = 256;
// The calling thread's writer slot, unique among live threads (a slot is given back when its
// thread ends). kMaxWriterSlots when every slot is taken.
std::size_t WriterSlot();

struct RecorderOptions {
  // Shards per room: threads whose WriterSlot() is below it write a shard of their own without
  // any read-modify-write; the others share one more shard through atomic adds (and a spin lock
  // for its sketches). Set it to the number of threads that record (workers and the store's
  // completion thread) plus a few.
  std::size_t writer_slots = 16;
  // Keys each writer's sketch keeps per dimension per second.
  std::size_t sketch_capacity = 32;
  // Polls (status, heartbeat, verify, TRACER re-polls) are put in the breakdowns one in
  // `poll_sample`, with that weight; joins, leaves and other calls always.
  std::uint32_t poll_sample = 8;
};

// The hot-path side of one room's statistics: what handlers call on every request.
//
// Thread-safety: the recording calls (Request, EndedByOperator) from any thread,
// lock-free and allocation-free: each thread adds to a shard of its own (cumulative counters
// written by a single thread, so a plain load and store). The breakdowns go into per-shard
// Space-Saving sketches in two epochs: a writer announces the epoch it writes (one seq_cst
// store) and the collector, once a second, flips the epoch and waits until no writer still
// announces the old one before reading and clearing its sketches. Collect() from one thread
// (the pipeline's) only.
class RoomRecorder {
 public:
  RoomRecorder(std::string id, const RecorderOptions& options,
               const std::atomic<std::uint32_t>& epoch);
  RoomRecorder(const RoomRecorder&) = delete;
  RoomRecorder& operator=(const RoomRecorder&) = delete;

  const std::string& id() const { return id_; }

  // Every public request for the room, once: Count, then AddVisitor with its weight.
  void Request(const RequestRecord& request) noexcept;
  // Request in two steps, for a caller whose visitor costs something to describe (an address
  // to format): counts the request (its visitor field is ignored) and returns the weight its
  // visitor carries in the breakdowns, 0 when this one is not sampled (see poll_sample).
  std::uint64_t Count(const RequestRecord& request) noexcept;
  void AddVisitor(const Visitor& visitor, std::uint64_t weight) noexcept;
  // An operator ended `sessions` sessions (admin API: one, or every session of the room). They
  // are leaves to the store too: `leaves` counts them, `ended_by_operator` says how many of
  // those an operator ended.
  void EndedByOperator(std::uint64_t sessions = 1) noexcept;

  // The counts since the last call, added to `frame`, and the breakdowns of the epoch the
  // caller just closed (Recorder::Collect flips it), added to `tops`. Pipeline thread only.
  void Collect(std::uint32_t closed_epoch, Frame& frame,
               std::array<TopTable, kDimensionCount>& tops);

 private:
  static constexpr std::uint32_t kIdle = ~std::uint32_t{0};
  struct alignas(64) Shard {
    explicit Shard(std::size_t sketch_capacity);
    std::array<std::atomic<std::uint64_t>, field::kCount> counts{};
    std::atomic<std::uint32_t> writing{kIdle};
    std::uint32_t polls = 0;                     // for sampling; its writer's only
    std::atomic<std::uint32_t> polls_shared{0};  // the same, for the overflow shard
    std::atomic_flag shared_lock;                // the overflow shard's sketches only
    std::array<std::array<TopSketch, kDimensionCount>, 2> sketches;
  };

  Shard& MyShard(bool& shared) noexcept;
  static void Add(Shard& shard, bool shared, FieldId id, std::uint64_t n) noexcept {
    if (shared) {
      shard.counts[id].fetch_add(n, std::memory_order_relaxed);
    } else {
      // Only this thread writes this shard: no read-modify-write needed.
      shard.counts[id].store(shard.counts[id].load(std::memory_order_relaxed) + n,
                             std::memory_order_relaxed);
    }
  }
  void RecordVisitor(Shard& shard, bool shared, const Visitor& who, std::uint64_t weight) noexcept;

  std::string id_;
  std::uint32_t poll_sample_;
  const std::atomic<std::uint32_t>& epoch_;
  std::vector<std::unique_ptr<Shard>> shards_;  // writer_slots own shards, then the shared one
  // What Collect() last read from each shard (pipeline thread only).
  std::vector<std::array<std::uint64_t, field::kCount>> collected_;
};

// Every room's recorder. Room() is what handlers call (or they keep the pointer it returns:
// a RoomRecorder lives as long as the Recorder).
//
// Thread-safety: Find() and Room() for a known room are lock-free (an immutable map published
// when a room is added); adding a room takes a mutex. Collect() from the pipeline thread only.
class Recorder {
 public:
  explicit Recorder(RecorderOptions options = {});

  RoomRecorder* Find(std::string_view room_id) const;
  // The room's recorder, created on first use.
  RoomRecorder& Room(std::string_view room_id);

  struct Collected {
    std::string room;
    Frame frame;
    std::array<TopTable, kDimensionCount> tops;
  };
  // Everything recorded since the last call, room by room (rooms in the order they were added).
  void Collect(std::vector<Collected>& out);

  const RecorderOptions& options() const { return options_; }

 private:
  using Map = std::unordered_map<std::string, RoomRecorder*, util::StringHash, std::equal_to<>>;
  RecorderOptions options_;
  std::atomic<std::uint32_t> epoch_{0};
  std::mutex mu_;
  std::vector<std::unique_ptr<RoomRecorder>> rooms_;  // guarded by mu_
  util::Published<Map> map_;
};

}  // namespace vwr::analytics
