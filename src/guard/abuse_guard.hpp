#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analytics/metrics.hpp"
#include "guard/guard.hpp"
#include "util/clock.hpp"
#include "util/ip_range.hpp"
#include "util/log_limiter.hpp"
#include "util/published.hpp"
#include "util/siphash.hpp"
#include "util/string_hash.hpp"

// The Guard: repeated-request limits per client IP and per identity, counted lock-free in
// fixed windows, and the operators' lists in immutable snapshots. See docs/operations.md
// ("Abuse protection") for what an operator sees.
//
// Counting is approximate, refusing is exact:
//
//   count   a count-min sketch per room and key kind, its slots chosen by a keyed hash
//           (SipHash-2-4, a random key per process): a count is never under the truth and over
//           it only when a key shares a slot with busier keys in every row, which nobody
//           without the key can arrange on purpose.
//   block   the key that crosses a limit (by its own count, or by an over-count) is blocked
//           under its exact value: an automatic entry of the `block` list.
//   refuse  only a request whose exact address or identity is on a list, or has an exact
//           automatic block. The sketch keeps, per slot, the latest end of a block there; it
//           answers "surely not blocked" for almost every request without a lock, and
//           whatever it cannot rule out is confirmed against the exact blocks.
//
// So every refusal names an entry that AbuseGuard::List shows, and a key that merely shares
// slots with blocked ones is never refused.
namespace vwr::guard {

// rooms[].protection.mode: off (no counting, no automatic blocks; the lists still apply),
// shadow (count, report what would be blocked, serve everyone), enforce.
enum class GuardMode : std::uint8_t { kOff, kShadow, kEnforce };
std::string_view GuardModeName(GuardMode mode);
std::optional<GuardMode> ParseGuardMode(std::string_view text);

// The operators' lists. Precedence, first match wins: deny, allow, unblock, block, join_block
// (joins only), limits.
//   deny       - a permanent block: refused whatever else holds (the one list that beats allow)
//   allow      - bypass: admitted at once at join, never counted or blocked
//   unblock    - exempt from the limits and from temporary blocks (a false positive let through)
//   block      - a temporary block with an end: filled automatically when a limit is exceeded
//                (enforce), or by an operator
//   join_block - a temporary block of joins only, with an end: filled automatically when an
//                address crosses the join limit (its places held go on), or by an operator
enum class GuardList : std::uint8_t { kDeny, kAllow, kUnblock, kBlock, kJoinBlock };
inline constexpr std::size_t kGuardListCount = 5;
std::string_view GuardListName(GuardList list);
std::optional<GuardList> ParseGuardList(std::string_view text);
// Whether the list's entries end (block, join_block): they have an expiry and a ttl.
constexpr bool GuardListExpires(GuardList list) {
  return list == GuardList::kBlock || list == GuardList::kJoinBlock;
}

// Addresses as the sketch hashes them and the lists hold them: IPv4 as IPv4-mapped IPv6.
using util::Ip128;

// One entry of a list: an IP range or an identity, never both.
struct GuardEntry {
  bool is_ip = true;
  std::string value;  // as written ("10.0.0.0/8", "2001:db8::1"), or the identity
  // kBlock, kJoinBlock only: when the block ends, unix seconds; 0 for every other list.
  std::int64_t expires_unix = 0;
  // "config" (from the room's configuration), "admin" (the admin API), "auto" (a limit
  // exceeded; this node or, on Redis, another one).
  std::string source;
  bool operator==(const GuardEntry&) const = default;
};

// A room's protection settings (rooms[].protection).
struct GuardSettings {
  GuardMode mode = GuardMode::kShadow;
  std::chrono::milliseconds window{10'000};
  std::uint32_t limit_per_ip = 600;       // requests per window; 0 = no limit
  std::uint32_t limit_per_identity = 60;  // requests per window; 0 = no limit
  std::chrono::milliseconds block_time{60'000};
  // The join limit: joins per joins_window from one client address (an IPv6 client counts as
  // its /64); 0 = none. Its own mode, enforced by default whatever `mode` says: it never
  // refuses a poll, so a shared address's people keep their places (docs/configuration.md).
  GuardMode joins_mode = GuardMode::kEnforce;
  std::chrono::milliseconds joins_window{60'000};
  std::uint32_t joins_per_ip = 300;
  // The configured lists (source "config"); kBlock entries from config never expire.
  std::array<std::vector<GuardEntry>, kGuardListCount> lists;
};

// The keyed hash of the sketch (see above) for an address or an identity.
std::uint64_t SketchHash(const util::SipHashKey& key, const Ip128& ip);
std::uint64_t SketchHash(const util::SipHashKey& key, std::string_view identity);

// Why a request was (or would have been) refused, for metrics.
enum class GuardReason : std::uint8_t {
  kRateLimitIp,
  kRateLimitIdentity,
  kTemporaryBlock,
  kPermanentBlock,
  kJoinLimit,  // the join that crossed its address's join limit
  kJoinBlock,  // a join while its address's joins are blocked
};
inline constexpr std::size_t kGuardReasonCount = 6;
std::string_view GuardReasonName(GuardReason reason);

// A change to the runtime lists, for whoever keeps them (the journal file, Redis).
struct GuardChange {
  std::string room;
  GuardList list = GuardList::kBlock;
  GuardEntry entry;
  bool removed = false;
};

class AbuseGuard final : public Guard {
 public:
  // `sketch_key`: the key of the sketch's hash; nullopt (always, but in tests that play an
  // attacker who knows it) draws a random one. Per process is enough: only exact entries
  // cross to other nodes or to disk (GuardChange), never a hash or a count.
  explicit AbuseGuard(const util::Clock& clock,
                      std::optional<util::SipHashKey> sketch_key = std::nullopt);
  ~AbuseGuard() override;

  GuardVerdict Check(const GuardRequest& request) override;
  bool IsBlocked(std::string_view room, const boost::asio::ip::address& client_ip) override;

  // Sets every room's settings (at start and on reload). Runtime entries (admin, auto) of the
  // rooms stay; a room no longer listed is not protected. Call from one thread at a time.
  void Configure(const std::unordered_map<std::string, GuardSettings>& rooms);

  // Runtime list changes (admin API, another node). An IP entry must parse (util::IpRange).
  // `ttl` is for kBlock and kJoinBlock only (its end, from now); nullopt there means the
  // room's block_time. Removing an automatic join block also gives its address a fresh join
  // count (the operator let it join again).
  // The entry's source becomes "admin".
  // Returns false when the room is not configured or the entry is not valid. Thread-safe.
  bool Add(std::string_view room, GuardList list, GuardEntry entry,
           std::optional<std::chrono::seconds> ttl = std::nullopt);
  bool Remove(std::string_view room, GuardList list, bool is_ip, std::string_view value);
  // Applies an entry that another node or the durable copy holds, without reporting it as a
  // change (no listener call). Expired kBlock entries are dropped.
  void Apply(const GuardChange& change);
  // A room's list now: configured entries first, then runtime ones; expired blocks left out.
  std::vector<GuardEntry> List(std::string_view room, GuardList list) const;
  // Every runtime entry of every room (what a durable copy holds).
  std::vector<GuardChange> RuntimeEntries() const;

  // Called (outside any lock of the guard, on the thread that made the change) for each
  // runtime change: admin adds and removes, and each automatic block when it starts.
  void SetListener(std::function<void(const GuardChange&)> listener);

  // Drops expired blocks. Call now and then (the control thread's tick).
  void Expire();

  // vwr_guard_* lines for /metrics.
  void RenderMetrics(std::string& out) const;

  // What a room counted, for tests and metrics.
  std::uint64_t Blocked(std::string_view room, GuardReason reason) const;
  std::uint64_t ShadowBlocked(std::string_view room, GuardReason reason) const;
  std::uint64_t Bypassed(std::string_view room) const;

  static constexpr std::size_t kSlots = 1 << 14;  // per row of each count table
  static constexpr std::size_t kRows = 2;
  // The slot of each row that a key of this SketchHash lands in.
  static std::array<std::size_t, kRows> SlotsOf(std::uint64_t hash);
  // Retry-After of a permanent block.
  static constexpr std::chrono::seconds kPermanentRetryAfter{3600};

 private:
  struct Lists;
  struct Room;
  // A count-min sketch of requests per key in the current fixed window, and per slot the
  // latest end of an automatic block of a key there (a filter: a key whose slots show no block
  // running is not blocked); lock-free. The rows are counted one after the other, so requests
  // of one key that arrive at the same instant may see their places in a different order in
  // each row: at the limit, up to one more request per thread counting at that instant can
  // pass.
  struct Table;
  // The automatic blocks in force by exact key, sharded, each shard under its own mutex.
  template <typename Key>
  class ExactBlocks;

  Room* FindRoom(std::string_view id) const;
  Room& RoomOf(const std::string& id);  // under mu_
  void Republish(Room& room);           // under mu_
  std::int64_t WallSeconds() const;
  // The wall time `nanos` from now, in unix seconds rounded up: a listed end is never before
  // the block's real end (a block listed a second early would reach other nodes shortened).
  std::int64_t WallSecondsAfter(std::int64_t nanos) const;
  // The request limits (settings.mode) and the join limit: a refusal, or nullopt to serve.
  std::optional<GuardVerdict> CheckLimits(Room& room, const GuardSettings& settings,
                                          const GuardRequest& request, const Ip128& ip,
                                          std::int64_t now);
  std::optional<GuardVerdict> CheckJoins(Room& room, const GuardSettings& settings, const Ip128& ip,
                                         std::int64_t now);
  // Logs an automatic block that has started and tells the listener.
  void AutoBlock(Room& room, GuardList list, bool is_ip, std::string_view value,
                 std::int64_t until_unix);
  // Ends the automatic block (list kBlock or kJoinBlock) of an address or an identity; false
  // when none ran.
  bool EraseAutoBlock(Room& room, GuardList list, bool is_ip, std::string_view value);
  // The room's running automatic blocks of `list` as list entries, identities first, each by
  // value.
  static std::vector<GuardEntry> AutoBlocks(const Room& room, GuardList list,
                                            std::int64_t now_unix);
  // The end of the exact automatic block of `ip` (of `identity`) when one is running at `now`
  // (monotonic nanoseconds), else nullopt. Cheap unless the sketch cannot rule one out.
  std::optional<std::int64_t> IpBlockedUntil(Room& room, const Ip128& ip, std::uint64_t hash,
                                             std::int64_t now) const;
  std::optional<std::int64_t> IdentityBlockedUntil(Room& room, std::string_view identity,
                                                   std::uint64_t hash, std::int64_t now) const;

  const util::Clock& clock_;
  const util::SipHashKey sketch_key_;
  // An attack from many addresses starts many blocks: their lines are held to a rate.
  util::LogLimiter block_log_{clock_, 10};
  mutable std::mutex mu_;                    // guards the rooms' runtime entries and rooms_map_
  std::deque<std::unique_ptr<Room>> rooms_;  // every room ever configured, never freed
  using RoomMap = std::unordered_map<std::string, Room*, util::StringHash, std::equal_to<>>;
  RoomMap rooms_map_;  // under mu_
  util::Published<RoomMap> published_rooms_;
  std::function<void(const GuardChange&)> listener_;  // set before serving
};

}  // namespace vwr::guard
