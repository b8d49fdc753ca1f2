#include "guard/abuse_guard.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <limits>
#include <tuple>

#include "util/log_escape.hpp"

namespace vwr::guard {
namespace {

// Which shard of an ExactBlocks a key of this SketchHash is in: bits that choose no slot.
constexpr std::size_t kExactShards = 16;
std::size_t ShardOf(std::uint64_t hash) { return static_cast<std::size_t>(hash >> 60); }

// Whose joins are counted together: an IPv4 address, or an IPv6 client's /64 (one household
// or device gets a /64 or more, and picks addresses in it at will).
Ip128 JoinKey(const Ip128& ip) { return ip.IsV4() ? ip : Ip128{ip.hi, 0}; }
std::string JoinKeyText(const Ip128& key) {
  return key.IsV4() ? key.ToString() : key.ToString() + "/64";
}

std::int64_t Nanos(util::TimePoint t) { return t.time_since_epoch().count(); }

std::chrono::seconds CeilSeconds(std::int64_t nanos) {
  const std::int64_t s = (nanos + 999'999'999) / 1'000'000'000;
  return std::chrono::seconds(std::max<std::int64_t>(s, 1));
}

}  // namespace

std::string_view GuardModeName(GuardMode mode) {
  switch (mode) {
    case GuardMode::kOff:
      return "off";
    case GuardMode::kShadow:
      return "shadow";
    case GuardMode::kEnforce:
      return "enforce";
  }
  return "off";
}

std::uint64_t SketchHash(const util::SipHashKey& key, const Ip128& ip) {
  const std::array<unsigned char, 16> bytes = ip.Bytes();
  return util::SipHash24(key, bytes.data(), bytes.size());
}

std::uint64_t SketchHash(const util::SipHashKey& key, std::string_view identity) {
  return util::SipHash24(key, identity);
}

std::array<std::size_t, AbuseGuard::kRows> AbuseGuard::SlotsOf(std::uint64_t hash) {
  // Two disjoint parts of one keyed hash: as independent as two hashes would be.
  return {static_cast<std::size_t>(hash) & (kSlots - 1),
          static_cast<std::size_t>(hash >> 32) & (kSlots - 1)};
}

std::optional<GuardMode> ParseGuardMode(std::string_view text) {
  if (text == "off") return GuardMode::kOff;
  if (text == "shadow") return GuardMode::kShadow;
  if (text == "enforce") return GuardMode::kEnforce;
  return std::nullopt;
}

std::string_view GuardListName(GuardList list) {
  switch (list) {
    case GuardList::kDeny:
      return "deny";
    case GuardList::kAllow:
      return "allow";
    case GuardList::kUnblock:
      return "unblock";
    case GuardList::kBlock:
      return "block";
    case GuardList::kJoinBlock:
      return "join_block";
  }
  return "block";
}

std::optional<GuardList> ParseGuardList(std::string_view text) {
  for (std::size_t i = 0; i < kGuardListCount; ++i) {
    if (GuardListName(static_cast<GuardList>(i)) == text) return static_cast<GuardList>(i);
  }
  return std::nullopt;
}

std::string_view GuardReasonName(GuardReason reason) {
  switch (reason) {
    case GuardReason::kRateLimitIp:
      return "rate_limit_ip";
    case GuardReason::kRateLimitIdentity:
      return "rate_limit_identity";
    case GuardReason::kTemporaryBlock:
      return "temporary_block";
    case GuardReason::kPermanentBlock:
      return "permanent_block";
    case GuardReason::kJoinLimit:
      return "join_limit";
    case GuardReason::kJoinBlock:
      return "join_block";
  }
  return "temporary_block";
}

// One list as Check() reads it: ranges sorted by their first address, with the running maximum
// of their last addresses so that a lookup stops early; identities in a hash map. `until` is a
// block's end in unix seconds, 0 for never.
struct AbuseGuard::Lists {
  struct Range {
    Ip128 first;
    Ip128 last;
    Ip128 max_last;  // the largest `last` of this range and every one before it
    std::int64_t until = 0;
  };
  struct One {
    std::vector<Range> ranges;
    std::unordered_map<std::string, std::int64_t, util::StringHash, std::equal_to<>> identities;

    bool Empty() const { return ranges.empty() && identities.empty(); }

    // The end of the entry that holds `ip` or `identity` (0 = never), or -1 when none does;
    // an entry that ended at or before `now` holds nothing.
    std::int64_t Find(const Ip128& ip, std::string_view identity, std::int64_t now) const {
      std::int64_t best = -1;
      auto consider = [&](std::int64_t until) {
        if (until != 0 && until <= now) return;
        if (best == 0) return;
        best = until == 0 ? 0 : std::max(best, until);
      };
      if (!ranges.empty()) {
        auto it = std::upper_bound(ranges.begin(), ranges.end(), ip,
                                   [](const Ip128& a, const Range& r) { return a < r.first; });
        while (it != ranges.begin()) {
          --it;
          if (it->max_last < ip) break;
          if (!(it->last < ip)) consider(it->until);
        }
      }
      if (!identity.empty() && !identities.empty()) {
        if (auto found = identities.find(identity); found != identities.end()) {
          consider(found->second);
        }
      }
      return best;
    }
  };
  std::array<One, kGuardListCount> lists;
  bool any = false;
};

struct AbuseGuard::Table {
  std::array<std::array<std::atomic<std::uint64_t>, kSlots>, kRows> counts{};
  std::array<std::array<std::atomic<std::int64_t>, kSlots>, kRows> blocked_until{};

  static std::size_t Slot(std::uint64_t hash, std::size_t row) { return SlotsOf(hash)[row]; }

  // Counts one request of the key in window `epoch`; returns the key's estimate (the minimum
  // over the rows: never less than the truth, more only when every row collides).
  std::uint32_t Count(std::uint64_t hash, std::uint32_t epoch) {
    std::uint32_t estimate = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t row = 0; row < kRows; ++row) {
      std::atomic<std::uint64_t>& cell = counts[row][Slot(hash, row)];
      std::uint64_t cur = cell.load(std::memory_order_relaxed);
      std::uint64_t next = 0;
      do {
        if (static_cast<std::uint32_t>(cur >> 32) != epoch) {
          next = (static_cast<std::uint64_t>(epoch) << 32) | 1;
        } else if (static_cast<std::uint32_t>(cur) == std::numeric_limits<std::uint32_t>::max()) {
          next = cur;
        } else {
          next = cur + 1;
        }
        // acquire: a count that Forget made fresh comes with the block set before it.
      } while (!cell.compare_exchange_weak(cur, next, std::memory_order_acquire,
                                           std::memory_order_relaxed));
      estimate = std::min(estimate, static_cast<std::uint32_t>(next));
    }
    return estimate;
  }

  // The key's estimate in window `epoch`, without counting a request.
  std::uint32_t Estimate(std::uint64_t hash, std::uint32_t epoch) const {
    std::uint32_t estimate = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t row = 0; row < kRows; ++row) {
      const std::uint64_t cur = counts[row][Slot(hash, row)].load(std::memory_order_relaxed);
      estimate = std::min(estimate, static_cast<std::uint32_t>(cur >> 32) == epoch
                                        ? static_cast<std::uint32_t>(cur)
                                        : 0u);
    }
    return estimate;
  }

  // Takes `amount` requests of the key off its window's count (saturating), so that a block
  // ends with a fresh count rather than one that re-blocks at the next request.
  void Forget(std::uint64_t hash, std::uint32_t epoch, std::uint32_t amount) {
    for (std::size_t row = 0; row < kRows; ++row) {
      std::atomic<std::uint64_t>& cell = counts[row][Slot(hash, row)];
      std::uint64_t cur = cell.load(std::memory_order_relaxed);
      std::uint64_t next = 0;
      do {
        if (static_cast<std::uint32_t>(cur >> 32) != epoch) break;
        const auto count = static_cast<std::uint32_t>(cur);
        next = (cur & ~0xffffffffULL) | (count > amount ? count - amount : 0);
        // release: whoever counts on from this value also sees the block set before it.
      } while (!cell.compare_exchange_weak(cur, next, std::memory_order_release,
                                           std::memory_order_relaxed));
    }
  }

  // The filter: a time before which no key of this hash can be blocked (the latest block end
  // in its slots, the earliest over the rows). A key whose exact block is running always
  // gets its end or later; others get a later one only when they share every slot with
  // blocked keys, and the exact blocks then tell.
  std::int64_t MayBeBlockedUntil(std::uint64_t hash) const {
    std::int64_t until = std::numeric_limits<std::int64_t>::max();
    for (std::size_t row = 0; row < kRows; ++row) {
      until = std::min(until, blocked_until[row][Slot(hash, row)].load(std::memory_order_relaxed));
    }
    return until;
  }

  // Marks the key's slots blocked until `until`. A block that ends early (an operator removes
  // it) leaves its mark to run out: the exact blocks say it is over.
  void Block(std::uint64_t hash, std::int64_t until) {
    for (std::size_t row = 0; row < kRows; ++row) {
      std::atomic<std::int64_t>& cell = blocked_until[row][Slot(hash, row)];
      std::int64_t cur = cell.load(std::memory_order_relaxed);
      while (cur < until && !cell.compare_exchange_weak(cur, until, std::memory_order_relaxed)) {
      }
    }
  }
};

// The automatic blocks in force, by exact key (an Ip128, or an identity as std::string): what
// a refusal is confirmed against and what List shows. A request looks here only when the sketch's
// filter cannot rule a block out (the key is blocked, or shares every slot with blocked keys), so
// the shards' mutexes are taken by blocked callers and by blocks starting and ending, not by the
// traffic at large. Lookups by std::string_view allocate nothing.
namespace {
struct ExactBlock {
  std::int64_t until_ns = 0;    // monotonic (util::Clock::Now)
  std::int64_t until_unix = 0;  // the same end as wall time, what the lists show
  std::string text;             // the key as the lists show it
};
}  // namespace

template <typename Key>
class AbuseGuard::ExactBlocks {
 public:
  using Block = ExactBlock;

  explicit ExactBlocks(const util::SipHashKey& key) {
    for (Shard& shard : shards_) shard.map = Map(8, Hasher{key});
  }

  // Records a block of `key`; a block running already keeps the later end.
  void Set(std::uint64_t hash, const Key& key, Block block) {
    Shard& shard = shards_[ShardOf(hash)];
    std::lock_guard lock(shard.mu);
    auto [it, inserted] = shard.map.try_emplace(key, block);
    if (!inserted && it->second.until_ns < block.until_ns) it->second = std::move(block);
  }

  // The end (monotonic nanoseconds) of the block of `key` when it runs at `now`.
  template <typename Lookup>
  std::optional<std::int64_t> Until(std::uint64_t hash, const Lookup& key, std::int64_t now) const {
    const Shard& shard = shards_[ShardOf(hash)];
    std::lock_guard lock(shard.mu);
    auto it = shard.map.find(key);
    if (it == shard.map.end() || it->second.until_ns <= now) return std::nullopt;
    return it->second.until_ns;
  }

  template <typename Lookup>
  bool Erase(std::uint64_t hash, const Lookup& key) {
    Shard& shard = shards_[ShardOf(hash)];
    std::lock_guard lock(shard.mu);
    auto it = shard.map.find(key);
    if (it == shard.map.end()) return false;
    shard.map.erase(it);
    return true;
  }

  // Every block that runs past `now_unix`.
  std::vector<Block> Running(std::int64_t now_unix) const {
    std::vector<Block> out;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      for (const auto& [key, block] : shard.map) {
        if (block.until_unix > now_unix) out.push_back(block);
      }
    }
    return out;
  }

  void EraseEnded(std::int64_t now_unix) {
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      std::erase_if(shard.map,
                    [now_unix](const auto& kv) { return kv.second.until_unix <= now_unix; });
    }
  }

 private:
  // The sketch's keyed hash again, so that chosen keys cannot crowd one bucket either.
  struct Hasher {
    using is_transparent = void;
    util::SipHashKey key;
    std::size_t operator()(const Ip128& ip) const { return SketchHash(key, ip); }
    std::size_t operator()(std::string_view text) const { return SketchHash(key, text); }
  };
  using Map = std::unordered_map<Key, Block, Hasher, std::equal_to<>>;
  struct Shard {
    mutable std::mutex mu;
    Map map;
  };
  std::array<Shard, kExactShards> shards_;
};

struct AbuseGuard::Room {
  Room(std::string room_id, const util::SipHashKey& key)
      : id(std::move(room_id)), auto_ips(key), auto_identities(key), auto_joins(key) {}
  std::string id;
  util::Published<GuardSettings> settings;
  util::Published<Lists> lists;
  bool configured = false;  // under mu_
  // Runtime entries by (is_ip, value), under mu_.
  using Key = std::pair<bool, std::string>;
  std::array<std::map<Key, GuardEntry>, kGuardListCount> runtime;
  Table ip_table;
  Table identity_table;
  Table join_table;  // joins per JoinKey
  // The automatic blocks (the source "auto" entries of the lists block and join_block).
  ExactBlocks<Ip128> auto_ips;
  ExactBlocks<std::string> auto_identities;
  ExactBlocks<Ip128> auto_joins;  // by JoinKey
  std::array<analytics::Counter, kGuardReasonCount> blocked;
  std::array<analytics::Counter, kGuardReasonCount> shadow;
  analytics::Counter bypassed;
};

AbuseGuard::AbuseGuard(const util::Clock& clock, std::optional<util::SipHashKey> sketch_key)
    : clock_(clock), sketch_key_(sketch_key.value_or(util::RandomSipHashKey())) {}
AbuseGuard::~AbuseGuard() = default;

std::int64_t AbuseGuard::WallSecondsAfter(std::int64_t nanos) const {
  const std::int64_t end = clock_.WallNow().time_since_epoch().count() + nanos;  // ns
  return (end + 999'999'999) / 1'000'000'000;
}

std::int64_t AbuseGuard::WallSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
      .count();
}

AbuseGuard::Room* AbuseGuard::FindRoom(std::string_view id) const {
  const RoomMap& map = published_rooms_.Get();
  auto it = map.find(id);
  return it == map.end() ? nullptr : it->second;
}

AbuseGuard::Room& AbuseGuard::RoomOf(const std::string& id) {
  auto it = rooms_map_.find(id);
  if (it != rooms_map_.end()) return *it->second;
  rooms_.push_back(std::make_unique<Room>(id, sketch_key_));
  rooms_map_.emplace(id, rooms_.back().get());
  return *rooms_.back();
}

void AbuseGuard::Republish(Room& room) {
  Lists next;
  const GuardSettings& settings = room.settings.Get();
  const std::int64_t now = WallSeconds();
  for (std::size_t l = 0; l < kGuardListCount; ++l) {
    Lists::One& one = next.lists[l];
    auto add = [&](const GuardEntry& entry) {
      const std::int64_t until =
          GuardListExpires(static_cast<GuardList>(l)) ? entry.expires_unix : 0;
      if (until != 0 && until <= now) return;
      if (entry.is_ip) {
        const std::optional<util::IpRange> range = util::IpRange::Parse(entry.value);
        if (!range) return;
        one.ranges.push_back(Lists::Range{range->first(), range->last(), range->last(), until});
      } else {
        auto [it, inserted] = one.identities.emplace(entry.value, until);
        if (!inserted && it->second != 0) it->second = until == 0 ? 0 : std::max(it->second, until);
      }
    };
    for (const GuardEntry& entry : settings.lists[l]) add(entry);
    for (const auto& [key, entry] : room.runtime[l]) add(entry);
    std::sort(one.ranges.begin(), one.ranges.end(),
              [](const Lists::Range& a, const Lists::Range& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < one.ranges.size(); ++i) {
      one.ranges[i].max_last = std::max(one.ranges[i].last, one.ranges[i - 1].max_last);
    }
    next.any = next.any || !one.Empty();
  }
  room.lists.Publish(std::move(next));
}

void AbuseGuard::Configure(const std::unordered_map<std::string, GuardSettings>& rooms) {
  std::lock_guard lock(mu_);
  for (auto& [id, room] : rooms_map_) room->configured = false;
  for (const auto& [id, settings] : rooms) {
    Room& room = RoomOf(id);
    room.configured = true;
    room.settings.Publish(settings);
    Republish(room);
  }
  RoomMap published;
  for (const auto& [id, room] : rooms_map_) {
    if (room->configured) published.emplace(id, room);
  }
  published_rooms_.Publish(std::move(published));
}

GuardVerdict AbuseGuard::Check(const GuardRequest& request) {
  Room* room = FindRoom(request.room);
  if (room == nullptr) return {};
  const GuardSettings& settings = room->settings.Get();
  const Lists& lists = room->lists.Get();
  const Ip128 ip = Ip128::Of(request.client_ip);
  if (lists.any) {
    const std::int64_t now_unix = WallSeconds();
    auto find = [&](GuardList list, std::string_view identity) {
      const Lists::One& one = lists.lists[static_cast<std::size_t>(list)];
      return one.Empty() ? -1 : one.Find(ip, identity, now_unix);
    };
    // A restriction holds for whatever identity a caller names (it only hurts the one who
    // names it); a privilege (allow, unblock) only for a verified one: anyone can send "vip-1".
    const std::string_view proven = request.identity_verified ? request.identity : "";
    if (find(GuardList::kDeny, request.identity) >= 0) {
      room->blocked[static_cast<std::size_t>(GuardReason::kPermanentBlock)].Add();
      return {GuardAction::kBlock, std::chrono::seconds(0), "permanent_block"};
    }
    if (find(GuardList::kAllow, proven) >= 0) {
      room->bypassed.Add();
      return {GuardAction::kBypass, std::chrono::seconds(0), "allow"};
    }
    if (find(GuardList::kUnblock, proven) >= 0)
      return {GuardAction::kPass, std::chrono::seconds(0), "unblock"};
    if (const std::int64_t until = find(GuardList::kBlock, request.identity); until >= 0) {
      room->blocked[static_cast<std::size_t>(GuardReason::kTemporaryBlock)].Add();
      return {GuardAction::kBlock,
              until == 0 ? std::chrono::seconds(0) : std::chrono::seconds(until - now_unix),
              until == 0 ? "permanent_block" : "temporary_block"};
    }
    if (request.kind == GuardRequestKind::kJoin) {
      if (const std::int64_t until = find(GuardList::kJoinBlock, request.identity); until >= 0) {
        room->blocked[static_cast<std::size_t>(GuardReason::kJoinBlock)].Add();
        return {GuardAction::kBlock,
                until == 0 ? std::chrono::seconds(0) : std::chrono::seconds(until - now_unix),
                "join_block"};
      }
    }
  }
  const std::int64_t now = Nanos(clock_.Now());
  if (settings.mode != GuardMode::kOff) {
    if (auto refused = CheckLimits(*room, settings, request, ip, now)) return *refused;
  }
  if (request.kind == GuardRequestKind::kJoin && settings.joins_mode != GuardMode::kOff &&
      settings.joins_per_ip > 0) {
    if (auto refused = CheckJoins(*room, settings, ip, now)) return *refused;
  }
  return {};
}

std::optional<GuardVerdict> AbuseGuard::CheckLimits(Room& room, const GuardSettings& settings,
                                                    const GuardRequest& request, const Ip128& ip,
                                                    std::int64_t now) {
  const std::uint64_t ip_hash = SketchHash(sketch_key_, ip);
  // Only a verified identity is counted or blocked automatically (see GuardRequest).
  const bool has_identity = !request.identity.empty() && request.identity_verified;
  const std::uint64_t identity_hash = has_identity ? SketchHash(sketch_key_, request.identity) : 0;
  const bool enforce = settings.mode == GuardMode::kEnforce;
  auto running_block = [&]() -> std::optional<GuardVerdict> {
    std::int64_t until = IpBlockedUntil(room, ip, ip_hash, now).value_or(0);
    if (has_identity) {
      until = std::max(
          until, IdentityBlockedUntil(room, request.identity, identity_hash, now).value_or(0));
    }
    if (until <= now) return std::nullopt;
    room.blocked[static_cast<std::size_t>(GuardReason::kTemporaryBlock)].Add();
    return GuardVerdict{GuardAction::kBlock, CeilSeconds(until - now), "temporary_block"};
  };
  if (enforce) {
    if (auto blocked = running_block()) return *blocked;
  }
  const std::int64_t window_ns = std::max<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(settings.window).count(), 1);
  const auto epoch = static_cast<std::uint32_t>(now / window_ns);
  std::optional<GuardReason> over;
  std::uint32_t ip_count = 0;
  std::uint32_t identity_count = 0;
  if (settings.limit_per_ip > 0) {
    ip_count = room.ip_table.Count(ip_hash, epoch);
    if (ip_count > settings.limit_per_ip) over = GuardReason::kRateLimitIp;
  }
  if (has_identity && settings.limit_per_identity > 0) {
    identity_count = room.identity_table.Count(identity_hash, epoch);
    if (identity_count > settings.limit_per_identity && !over) {
      over = GuardReason::kRateLimitIdentity;
    }
  }
  if (!over) {
    // A block that another request started while this one was being counted made the count
    // fresh (Forget, after Block): the count this request saw may be one of that fresh count,
    // and the block holds for it too. (Reading the forgotten count synchronizes with Forget,
    // so the block, exact and in the filter, is visible here.)
    if (enforce) return running_block();
    return std::nullopt;
  }
  if (!enforce) {
    room.shadow[static_cast<std::size_t>(*over)].Add();
    return std::nullopt;
  }
  room.blocked[static_cast<std::size_t>(*over)].Add();
  const std::int64_t block_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(settings.block_time).count();
  const std::int64_t until_unix = WallSecondsAfter(std::max<std::int64_t>(block_ns, 1));
  // The key that crossed the limit is blocked, exactly; then its slots are marked in the
  // filter; then its count is made fresh. A request that counts after the Forget sees both.
  if (*over == GuardReason::kRateLimitIp) {
    std::string text = ip.ToString();
    room.auto_ips.Set(ip_hash, ip, {now + block_ns, until_unix, text});
    room.ip_table.Block(ip_hash, now + block_ns);
    room.ip_table.Forget(ip_hash, epoch, ip_count);
    AutoBlock(room, GuardList::kBlock, true, text, until_unix);
  } else {
    std::string identity(request.identity);
    room.auto_identities.Set(identity_hash, identity, {now + block_ns, until_unix, identity});
    room.identity_table.Block(identity_hash, now + block_ns);
    room.identity_table.Forget(identity_hash, epoch, identity_count);
    AutoBlock(room, GuardList::kBlock, false, identity, until_unix);
  }
  return GuardVerdict{GuardAction::kBlock, CeilSeconds(block_ns), "rate_limit"};
}

// Joins per address in fixed windows of joins_window. The join that crosses the limit starts
// a join block of its exact address (IPv4) or /64 (IPv6) until its window ends: at most
// joins_per_ip places per window and address, and the next window starts with a fresh count.
std::optional<GuardVerdict> AbuseGuard::CheckJoins(Room& room, const GuardSettings& settings,
                                                   const Ip128& ip, std::int64_t now) {
  const Ip128 key = JoinKey(ip);
  const std::uint64_t hash = SketchHash(sketch_key_, key);
  const bool enforce = settings.joins_mode == GuardMode::kEnforce;
  if (enforce && room.join_table.MayBeBlockedUntil(hash) > now) {
    if (const auto until = room.auto_joins.Until(hash, key, now)) {
      room.blocked[static_cast<std::size_t>(GuardReason::kJoinBlock)].Add();
      return GuardVerdict{GuardAction::kBlock, CeilSeconds(*until - now), "join_block"};
    }
  }
  const std::int64_t window_ns = std::max<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(settings.joins_window).count(), 1);
  const auto epoch = static_cast<std::uint32_t>(now / window_ns);
  if (room.join_table.Count(hash, epoch) <= settings.joins_per_ip) return std::nullopt;
  if (!enforce) {
    room.shadow[static_cast<std::size_t>(GuardReason::kJoinLimit)].Add();
    return std::nullopt;
  }
  // Requests counted past the limit in this window are refused here whether or not they saw
  // the block: the count is not made fresh until the window ends.
  room.blocked[static_cast<std::size_t>(GuardReason::kJoinLimit)].Add();
  const std::int64_t until = (now / window_ns + 1) * window_ns;
  const std::chrono::seconds retry_after = CeilSeconds(until - now);
  const std::int64_t until_unix = WallSecondsAfter(until - now);
  std::string text = JoinKeyText(key);
  room.auto_joins.Set(hash, key, {until, until_unix, text});
  room.join_table.Block(hash, until);
  AutoBlock(room, GuardList::kJoinBlock, true, text, until_unix);
  return GuardVerdict{GuardAction::kBlock, retry_after, "join_limit"};
}

std::optional<std::int64_t> AbuseGuard::IpBlockedUntil(Room& room, const Ip128& ip,
                                                       std::uint64_t hash, std::int64_t now) const {
  if (room.ip_table.MayBeBlockedUntil(hash) <= now) return std::nullopt;
  return room.auto_ips.Until(hash, ip, now);
}

std::optional<std::int64_t> AbuseGuard::IdentityBlockedUntil(Room& room, std::string_view identity,
                                                             std::uint64_t hash,
                                                             std::int64_t now) const {
  if (room.identity_table.MayBeBlockedUntil(hash) <= now) return std::nullopt;
  return room.auto_identities.Until(hash, identity, now);
}

void AbuseGuard::AutoBlock(Room& room, GuardList list, bool is_ip, std::string_view value,
                           std::int64_t until_unix) {
  GuardChange change{room.id, list, GuardEntry{is_ip, std::string(value), until_unix, "auto"},
                     false};
  std::uint64_t suppressed = 0;
  if (block_log_.Allow(suppressed)) {
    // An identity is whatever the client sent: escaped, and quoted so that it cannot pass for
    // the rest of the line.
    spdlog::info("room {}: {} {} {} until {} ({}){}", room.id, is_ip ? "address" : "identity",
                 is_ip ? util::LogEscaped(value) : "\"" + util::LogEscaped(value) + "\"",
                 list == GuardList::kJoinBlock ? "may not join" : "blocked", until_unix,
                 list == GuardList::kJoinBlock ? "join limit exceeded" : "limit exceeded",
                 suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  }
  if (listener_) listener_(change);
}

bool AbuseGuard::IsBlocked(std::string_view room_id, const boost::asio::ip::address& client_ip) {
  Room* room = FindRoom(room_id);
  if (room == nullptr) return false;
  const Lists& lists = room->lists.Get();
  const Ip128 ip = Ip128::Of(client_ip);
  if (lists.any) {
    const std::int64_t now_unix = WallSeconds();
    auto find = [&](GuardList list) {
      return lists.lists[static_cast<std::size_t>(list)].Find(ip, {}, now_unix);
    };
    if (find(GuardList::kDeny) >= 0) return true;
    if (find(GuardList::kAllow) >= 0 || find(GuardList::kUnblock) >= 0) return false;
    if (find(GuardList::kBlock) >= 0) return true;
  }
  if (room->settings.Get().mode != GuardMode::kEnforce) return false;
  return IpBlockedUntil(*room, ip, SketchHash(sketch_key_, ip), Nanos(clock_.Now())).has_value();
}

bool AbuseGuard::Add(std::string_view room_id, GuardList list, GuardEntry entry,
                     std::optional<std::chrono::seconds> ttl) {
  if (entry.value.empty()) return false;
  if (entry.is_ip && !util::IpRange::Parse(entry.value)) return false;
  GuardChange change;
  {
    std::lock_guard lock(mu_);
    auto it = rooms_map_.find(room_id);
    if (it == rooms_map_.end() || !it->second->configured) return false;
    Room& room = *it->second;
    entry.expires_unix = 0;
    if (GuardListExpires(list)) {
      const auto time = ttl.value_or(
          std::chrono::duration_cast<std::chrono::seconds>(room.settings.Get().block_time));
      entry.expires_unix = WallSeconds() + std::max<std::int64_t>(time.count(), 1);
    }
    entry.source = "admin";
    room.runtime[static_cast<std::size_t>(list)][{entry.is_ip, entry.value}] = entry;
    Republish(room);
    change = GuardChange{room.id, list, std::move(entry), false};
  }
  if (listener_) listener_(change);
  return true;
}

bool AbuseGuard::Remove(std::string_view room_id, GuardList list, bool is_ip,
                        std::string_view value) {
  GuardChange change;
  {
    std::lock_guard lock(mu_);
    auto it = rooms_map_.find(room_id);
    if (it == rooms_map_.end() || !it->second->configured) return false;
    Room& room = *it->second;
    const Room::Key key{is_ip, std::string(value)};
    bool found = room.runtime[static_cast<std::size_t>(list)].erase(key) > 0;
    if (GuardListExpires(list)) found = EraseAutoBlock(room, list, is_ip, value) || found;
    if (!found) return false;
    Republish(room);
    change = GuardChange{room.id, list, GuardEntry{is_ip, std::string(value), 0, ""}, true};
  }
  if (listener_) listener_(change);
  return true;
}

void AbuseGuard::Apply(const GuardChange& change) {
  std::lock_guard lock(mu_);
  Room& room = RoomOf(change.room);
  const Room::Key key{change.entry.is_ip, change.entry.value};
  const std::size_t l = static_cast<std::size_t>(change.list);
  const std::int64_t now_unix = WallSeconds();
  if (change.removed) {
    const bool listed = room.runtime[l].erase(key) > 0;
    if (GuardListExpires(change.list)) {
      EraseAutoBlock(room, change.list, change.entry.is_ip, change.entry.value);
    }
    if (listed && room.configured) Republish(room);
    return;
  }
  if (GuardListExpires(change.list) && change.entry.expires_unix <= now_unix) return;
  if (change.entry.is_ip && !util::IpRange::Parse(change.entry.value)) return;
  if (GuardListExpires(change.list) && change.entry.source == "auto") {
    const std::int64_t until =
        Nanos(clock_.Now()) + (change.entry.expires_unix - now_unix) * 1'000'000'000LL;
    const ExactBlock block{until, change.entry.expires_unix, change.entry.value};
    if (change.list == GuardList::kJoinBlock) {
      if (!change.entry.is_ip) return;  // joins are limited per address only
      const Ip128 join_key = JoinKey(util::IpRange::Parse(change.entry.value)->first());
      const std::uint64_t hash = SketchHash(sketch_key_, join_key);
      room.auto_joins.Set(hash, join_key, block);
      room.join_table.Block(hash, until);
    } else if (change.entry.is_ip) {
      const Ip128 ip = util::IpRange::Parse(change.entry.value)->first();
      const std::uint64_t hash = SketchHash(sketch_key_, ip);
      room.auto_ips.Set(hash, ip, block);
      room.ip_table.Block(hash, until);
    } else {
      const std::uint64_t hash = SketchHash(sketch_key_, change.entry.value);
      room.auto_identities.Set(hash, change.entry.value, block);
      room.identity_table.Block(hash, until);
    }
    return;
  }
  room.runtime[l][key] = change.entry;
  if (room.configured) Republish(room);
}

bool AbuseGuard::EraseAutoBlock(Room& room, GuardList list, bool is_ip, std::string_view value) {
  if (list == GuardList::kJoinBlock) {
    const std::optional<util::IpRange> range = is_ip ? util::IpRange::Parse(value) : std::nullopt;
    if (!range) return false;
    const Ip128 key = JoinKey(range->first());
    const std::uint64_t hash = SketchHash(sketch_key_, key);
    if (!room.auto_joins.Erase(hash, key)) return false;
    // Let go by an operator: joins count afresh from here (in the window of now).
    const std::int64_t now = Nanos(clock_.Now());
    const std::int64_t window_ns = std::max<std::int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(room.settings.Get().joins_window)
            .count(),
        1);
    const auto epoch = static_cast<std::uint32_t>(now / window_ns);
    room.join_table.Forget(hash, epoch, room.join_table.Estimate(hash, epoch));
    return true;
  }
  if (!is_ip) return room.auto_identities.Erase(SketchHash(sketch_key_, value), value);
  const std::optional<util::IpRange> range = util::IpRange::Parse(value);
  if (!range) return false;
  return room.auto_ips.Erase(SketchHash(sketch_key_, range->first()), range->first());
}

std::vector<GuardEntry> AbuseGuard::AutoBlocks(const Room& room, GuardList list,
                                               std::int64_t now_unix) {
  std::vector<GuardEntry> out;
  if (list == GuardList::kJoinBlock) {
    for (auto& block : room.auto_joins.Running(now_unix)) {
      out.push_back(GuardEntry{true, std::move(block.text), block.until_unix, "auto"});
    }
  } else if (list == GuardList::kBlock) {
    for (auto& block : room.auto_identities.Running(now_unix)) {
      out.push_back(GuardEntry{false, std::move(block.text), block.until_unix, "auto"});
    }
    for (auto& block : room.auto_ips.Running(now_unix)) {
      out.push_back(GuardEntry{true, std::move(block.text), block.until_unix, "auto"});
    }
  }
  // In a stable order: identities, then addresses, each by value.
  std::sort(out.begin(), out.end(), [](const GuardEntry& a, const GuardEntry& b) {
    return std::tie(a.is_ip, a.value) < std::tie(b.is_ip, b.value);
  });
  return out;
}

std::vector<GuardEntry> AbuseGuard::List(std::string_view room_id, GuardList list) const {
  std::vector<GuardEntry> out;
  std::lock_guard lock(mu_);
  auto it = rooms_map_.find(room_id);
  if (it == rooms_map_.end()) return out;
  const Room& room = *it->second;
  const std::size_t l = static_cast<std::size_t>(list);
  const std::int64_t now = WallSeconds();
  for (const GuardEntry& entry : room.settings.Get().lists[l]) out.push_back(entry);
  for (const auto& [key, entry] : room.runtime[l]) {
    if (GuardListExpires(list) && entry.expires_unix <= now) continue;
    out.push_back(entry);
  }
  for (GuardEntry& entry : AutoBlocks(room, list, now)) out.push_back(std::move(entry));
  return out;
}

std::vector<GuardChange> AbuseGuard::RuntimeEntries() const {
  std::vector<GuardChange> out;
  std::lock_guard lock(mu_);
  const std::int64_t now = WallSeconds();
  for (const auto& room : rooms_) {
    for (std::size_t l = 0; l < kGuardListCount; ++l) {
      for (const auto& [key, entry] : room->runtime[l]) {
        if (GuardListExpires(static_cast<GuardList>(l)) && entry.expires_unix <= now) continue;
        out.push_back(GuardChange{room->id, static_cast<GuardList>(l), entry, false});
      }
    }
    for (GuardList list : {GuardList::kBlock, GuardList::kJoinBlock}) {
      for (GuardEntry& entry : AutoBlocks(*room, list, now)) {
        out.push_back(GuardChange{room->id, list, std::move(entry), false});
      }
    }
  }
  return out;
}

void AbuseGuard::SetListener(std::function<void(const GuardChange&)> listener) {
  listener_ = std::move(listener);
}

void AbuseGuard::Expire() {
  std::lock_guard lock(mu_);
  const std::int64_t now = WallSeconds();
  for (const auto& room : rooms_) {
    room->auto_ips.EraseEnded(now);
    room->auto_identities.EraseEnded(now);
    room->auto_joins.EraseEnded(now);
    std::size_t ended = 0;
    for (GuardList list : {GuardList::kBlock, GuardList::kJoinBlock}) {
      ended += std::erase_if(room->runtime[static_cast<std::size_t>(list)],
                             [now](const auto& kv) { return kv.second.expires_unix <= now; });
    }
    if (ended > 0 && room->configured) Republish(*room);
  }
}

void AbuseGuard::RenderMetrics(std::string& out) const {
  std::vector<Room*> rooms;
  for (const auto& [id, room] : published_rooms_.Get()) rooms.push_back(room);
  std::sort(rooms.begin(), rooms.end(), [](Room* a, Room* b) { return a->id < b->id; });
  analytics::AppendHelp(out, "vwr_guard_blocked_total", "counter",
                        "Requests refused by abuse protection, by room and reason.");
  for (const Room* room : rooms) {
    for (std::size_t r = 0; r < kGuardReasonCount; ++r) {
      analytics::AppendSample(
          out, "vwr_guard_blocked_total",
          fmt::format("room=\"{}\",reason=\"{}\"", analytics::EscapeLabel(room->id),
                      GuardReasonName(static_cast<GuardReason>(r))),
          room->blocked[r].Value());
    }
  }
  analytics::AppendHelp(out, "vwr_guard_shadow_blocked_total", "counter",
                        "Requests over a limit in a room in shadow mode (served; enforce would "
                        "have refused them), by room and reason.");
  for (const Room* room : rooms) {
    // The reasons a limit gives (the others are blocks, which shadow mode never starts).
    for (GuardReason r :
         {GuardReason::kRateLimitIp, GuardReason::kRateLimitIdentity, GuardReason::kJoinLimit}) {
      analytics::AppendSample(out, "vwr_guard_shadow_blocked_total",
                              fmt::format("room=\"{}\",reason=\"{}\"",
                                          analytics::EscapeLabel(room->id), GuardReasonName(r)),
                              room->shadow[static_cast<std::size_t>(r)].Value());
    }
  }
  analytics::AppendHelp(out, "vwr_guard_bypass_total", "counter",
                        "Requests on a room's allow list (admitted without queueing at join).");
  for (const Room* room : rooms) {
    analytics::AppendSample(out, "vwr_guard_bypass_total",
                            fmt::format("room=\"{}\"", analytics::EscapeLabel(room->id)),
                            room->bypassed.Value());
  }
}

std::uint64_t AbuseGuard::Blocked(std::string_view room, GuardReason reason) const {
  Room* r = FindRoom(room);
  return r == nullptr ? 0 : r->blocked[static_cast<std::size_t>(reason)].Value();
}

std::uint64_t AbuseGuard::ShadowBlocked(std::string_view room, GuardReason reason) const {
  Room* r = FindRoom(room);
  return r == nullptr ? 0 : r->shadow[static_cast<std::size_t>(reason)].Value();
}

std::uint64_t AbuseGuard::Bypassed(std::string_view room) const {
  Room* r = FindRoom(room);
  return r == nullptr ? 0 : r->bypassed.Value();
}

}  // namespace vwr::guard
