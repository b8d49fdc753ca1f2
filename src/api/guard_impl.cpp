#include "api/guard_impl.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <limits>

namespace vwr::api {
namespace {

constexpr std::uint64_t Mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t HashIp(const Ip128& ip) { return Mix(ip.hi ^ Mix(ip.lo + 0x9e3779b97f4a7c15ULL)); }

std::uint64_t HashText(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then mixed
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix(h);
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
  }
  return "temporary_block";
}

Ip128 ToIp128(const boost::asio::ip::address& address) {
  if (address.is_v4()) return Ip128{0, 0x0000ffff00000000ULL | address.to_v4().to_uint()};
  const auto bytes = address.to_v6().to_bytes();
  Ip128 ip;
  for (int i = 0; i < 8; ++i) ip.hi = (ip.hi << 8) | bytes[i];
  for (int i = 8; i < 16; ++i) ip.lo = (ip.lo << 8) | bytes[i];
  return ip;
}

std::optional<IpRange> ParseIpRange(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(address_text, ec);
  if (ec) return std::nullopt;
  unsigned bits = address.is_v4() ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned prefix = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || err != std::errc{} || end != digits.data() + digits.size() ||
        prefix > bits) {
      return std::nullopt;
    }
    bits = prefix;
  }
  if (address.is_v4()) bits += 96;  // in the IPv4-mapped range
  const Ip128 ip = ToIp128(address);
  // The mask of the host bits, over 128 bits.
  const unsigned host_bits = 128 - bits;
  const std::uint64_t lo_mask =
      host_bits >= 64 ? ~0ULL : (host_bits == 0 ? 0 : (~0ULL >> (64 - host_bits)));
  const std::uint64_t hi_mask =
      host_bits <= 64 ? 0 : (host_bits == 128 ? ~0ULL : (~0ULL >> (128 - host_bits)));
  return IpRange{Ip128{ip.hi & ~hi_mask, ip.lo & ~lo_mask},
                 Ip128{ip.hi | hi_mask, ip.lo | lo_mask}};
}

// One list as Check() reads it: ranges sorted by their first address, with the running maximum
// of their last addresses so that a lookup stops early; identities in a hash map. `until` is a
// block's end in unix seconds, 0 for never.
struct GuardImpl::Lists {
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

struct GuardImpl::Table {
  std::array<std::array<std::atomic<std::uint64_t>, kSlots>, kRows> counts{};
  std::array<std::array<std::atomic<std::int64_t>, kSlots>, kRows> blocked_until{};

  static std::size_t Slot(std::uint64_t hash, std::size_t row) {
    return static_cast<std::size_t>((row == 0 ? hash : (hash >> 32) ^ Mix(hash))) & (kSlots - 1);
  }

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

  std::int64_t BlockedUntil(std::uint64_t hash) const {
    std::int64_t until = std::numeric_limits<std::int64_t>::max();
    for (std::size_t row = 0; row < kRows; ++row) {
      until = std::min(until, blocked_until[row][Slot(hash, row)].load(std::memory_order_relaxed));
    }
    return until;
  }

  void Block(std::uint64_t hash, std::int64_t until) {
    for (std::size_t row = 0; row < kRows; ++row) {
      std::atomic<std::int64_t>& cell = blocked_until[row][Slot(hash, row)];
      std::int64_t cur = cell.load(std::memory_order_relaxed);
      while (cur < until && !cell.compare_exchange_weak(cur, until, std::memory_order_relaxed)) {
      }
    }
  }

  // Ends the key's block, and with it any other key's that shares every row with it (rare; it
  // errs on letting a caller through).
  void Unblock(std::uint64_t hash) {
    for (std::size_t row = 0; row < kRows; ++row) {
      blocked_until[row][Slot(hash, row)].store(0, std::memory_order_relaxed);
    }
  }
};

struct GuardImpl::Room {
  explicit Room(std::string room_id) : id(std::move(room_id)) {}
  std::string id;
  util::Published<GuardSettings> settings;
  util::Published<Lists> lists;
  bool configured = false;  // under mu_
  // Runtime entries by (is_ip, value), under mu_.
  using Key = std::pair<bool, std::string>;
  std::array<std::map<Key, GuardEntry>, kGuardListCount> runtime;
  std::map<Key, std::int64_t> auto_blocks;  // automatic blocks: end, unix seconds
  Table ip_table;
  Table identity_table;
  std::array<analytics::Counter, kGuardReasonCount> blocked;
  std::array<analytics::Counter, kGuardReasonCount> shadow;
  analytics::Counter bypassed;
};

GuardImpl::GuardImpl(const util::Clock& clock) : clock_(clock) {}
GuardImpl::~GuardImpl() = default;

std::int64_t GuardImpl::WallSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
      .count();
}

GuardImpl::Room* GuardImpl::FindRoom(std::string_view id) const {
  const RoomMap& map = published_rooms_.Get();
  auto it = map.find(id);
  return it == map.end() ? nullptr : it->second;
}

GuardImpl::Room& GuardImpl::RoomOf(const std::string& id) {
  auto it = rooms_map_.find(id);
  if (it != rooms_map_.end()) return *it->second;
  rooms_.push_back(std::make_unique<Room>(id));
  rooms_map_.emplace(id, rooms_.back().get());
  return *rooms_.back();
}

void GuardImpl::Republish(Room& room) {
  Lists next;
  const GuardSettings& settings = room.settings.Get();
  const std::int64_t now = WallSeconds();
  for (std::size_t l = 0; l < kGuardListCount; ++l) {
    Lists::One& one = next.lists[l];
    auto add = [&](const GuardEntry& entry) {
      const std::int64_t until =
          static_cast<GuardList>(l) == GuardList::kBlock ? entry.expires_unix : 0;
      if (until != 0 && until <= now) return;
      if (entry.is_ip) {
        const std::optional<IpRange> range = ParseIpRange(entry.value);
        if (!range) return;
        one.ranges.push_back(Lists::Range{range->first, range->last, range->last, until});
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

void GuardImpl::Configure(const std::unordered_map<std::string, GuardSettings>& rooms) {
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

GuardVerdict GuardImpl::Check(const GuardRequest& request) {
  Room* room = FindRoom(request.room);
  if (room == nullptr) return {};
  const GuardSettings& settings = room->settings.Get();
  const Lists& lists = room->lists.Get();
  const Ip128 ip = ToIp128(request.client_ip);
  if (lists.any) {
    const std::int64_t now_unix = WallSeconds();
    auto find = [&](GuardList list) {
      const Lists::One& one = lists.lists[static_cast<std::size_t>(list)];
      return one.Empty() ? -1 : one.Find(ip, request.identity, now_unix);
    };
    if (find(GuardList::kDeny) >= 0) {
      room->blocked[static_cast<std::size_t>(GuardReason::kPermanentBlock)].Add();
      return {GuardAction::kBlock, std::chrono::seconds(0), "permanent_block"};
    }
    if (find(GuardList::kAllow) >= 0) {
      room->bypassed.Add();
      return {GuardAction::kBypass, std::chrono::seconds(0), "allow"};
    }
    if (find(GuardList::kUnblock) >= 0)
      return {GuardAction::kPass, std::chrono::seconds(0), "unblock"};
    if (const std::int64_t until = find(GuardList::kBlock); until >= 0) {
      room->blocked[static_cast<std::size_t>(GuardReason::kTemporaryBlock)].Add();
      return {GuardAction::kBlock,
              until == 0 ? std::chrono::seconds(0) : std::chrono::seconds(until - now_unix),
              until == 0 ? "permanent_block" : "temporary_block"};
    }
  }
  if (settings.mode == GuardMode::kOff) return {};

  const std::int64_t now = Nanos(clock_.Now());
  const std::uint64_t ip_hash = HashIp(ip);
  const bool has_identity = !request.identity.empty();
  const std::uint64_t identity_hash = has_identity ? HashText(request.identity) : 0;
  const bool enforce = settings.mode == GuardMode::kEnforce;
  auto running_block = [&]() -> std::optional<GuardVerdict> {
    std::int64_t until = room->ip_table.BlockedUntil(ip_hash);
    if (has_identity) until = std::max(until, room->identity_table.BlockedUntil(identity_hash));
    if (until <= now) return std::nullopt;
    room->blocked[static_cast<std::size_t>(GuardReason::kTemporaryBlock)].Add();
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
    ip_count = room->ip_table.Count(ip_hash, epoch);
    if (ip_count > settings.limit_per_ip) over = GuardReason::kRateLimitIp;
  }
  if (has_identity && settings.limit_per_identity > 0) {
    identity_count = room->identity_table.Count(identity_hash, epoch);
    if (identity_count > settings.limit_per_identity && !over) {
      over = GuardReason::kRateLimitIdentity;
    }
  }
  if (!over) {
    // A block that another request started while this one was being counted made the count
    // fresh (Forget, after Block): the count this request saw may be one of that fresh count,
    // and the block holds for it too. (Reading the forgotten count synchronizes with Forget,
    // so the block is visible here.)
    if (enforce) {
      if (auto blocked = running_block()) return *blocked;
    }
    return {};
  }
  if (!enforce) {
    room->shadow[static_cast<std::size_t>(*over)].Add();
    return {};
  }
  room->blocked[static_cast<std::size_t>(*over)].Add();
  const std::int64_t block_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(settings.block_time).count();
  const std::int64_t block_s = std::max<std::int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(settings.block_time).count(), 1);
  const std::int64_t until_unix = WallSeconds() + block_s;
  // Block, then Forget: a request that counts after the Forget sees the block (see above).
  if (*over == GuardReason::kRateLimitIp) {
    room->ip_table.Block(ip_hash, now + block_ns);
    room->ip_table.Forget(ip_hash, epoch, ip_count);
    AutoBlock(*room, true, request.client_ip.to_string(), until_unix);
  } else {
    room->identity_table.Block(identity_hash, now + block_ns);
    room->identity_table.Forget(identity_hash, epoch, identity_count);
    AutoBlock(*room, false, request.identity, until_unix);
  }
  return {GuardAction::kBlock, CeilSeconds(block_ns), "rate_limit"};
}

void GuardImpl::AutoBlock(Room& room, bool is_ip, std::string_view value, std::int64_t until_unix) {
  GuardChange change{room.id, GuardList::kBlock,
                     GuardEntry{is_ip, std::string(value), until_unix, "auto"}, false};
  {
    std::lock_guard lock(mu_);
    room.auto_blocks[{is_ip, change.entry.value}] = until_unix;
  }
  std::uint64_t suppressed = 0;
  if (block_log_.Allow(suppressed)) {
    spdlog::info("room {}: {} {} blocked until {} (limit exceeded){}", room.id,
                 is_ip ? "address" : "identity", change.entry.value, until_unix,
                 suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  }
  if (listener_) listener_(change);
}

bool GuardImpl::IsBlocked(std::string_view room_id, const boost::asio::ip::address& client_ip) {
  Room* room = FindRoom(room_id);
  if (room == nullptr) return false;
  const Lists& lists = room->lists.Get();
  const Ip128 ip = ToIp128(client_ip);
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
  return room->ip_table.BlockedUntil(HashIp(ip)) > Nanos(clock_.Now());
}

bool GuardImpl::Add(std::string_view room_id, GuardList list, GuardEntry entry,
                    std::optional<std::chrono::seconds> ttl) {
  if (entry.value.empty()) return false;
  if (entry.is_ip && !ParseIpRange(entry.value)) return false;
  GuardChange change;
  {
    std::lock_guard lock(mu_);
    auto it = rooms_map_.find(room_id);
    if (it == rooms_map_.end() || !it->second->configured) return false;
    Room& room = *it->second;
    entry.expires_unix = 0;
    if (list == GuardList::kBlock) {
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

bool GuardImpl::Remove(std::string_view room_id, GuardList list, bool is_ip,
                       std::string_view value) {
  GuardChange change;
  {
    std::lock_guard lock(mu_);
    auto it = rooms_map_.find(room_id);
    if (it == rooms_map_.end() || !it->second->configured) return false;
    Room& room = *it->second;
    const Room::Key key{is_ip, std::string(value)};
    bool found = room.runtime[static_cast<std::size_t>(list)].erase(key) > 0;
    if (list == GuardList::kBlock) {
      found = room.auto_blocks.erase(key) > 0 || found;
      if (is_ip) {
        if (auto range = ParseIpRange(value); range && range->first == range->last) {
          room.ip_table.Unblock(HashIp(range->first));
        }
      } else {
        room.identity_table.Unblock(HashText(value));
      }
    }
    if (!found) return false;
    Republish(room);
    change = GuardChange{room.id, list, GuardEntry{is_ip, std::string(value), 0, ""}, true};
  }
  if (listener_) listener_(change);
  return true;
}

void GuardImpl::Apply(const GuardChange& change) {
  std::lock_guard lock(mu_);
  Room& room = RoomOf(change.room);
  const Room::Key key{change.entry.is_ip, change.entry.value};
  const std::size_t l = static_cast<std::size_t>(change.list);
  const std::int64_t now_unix = WallSeconds();
  if (change.removed) {
    const bool a = room.runtime[l].erase(key) > 0;
    const bool b = change.list == GuardList::kBlock && room.auto_blocks.erase(key) > 0;
    if (change.list == GuardList::kBlock) {
      if (!change.entry.is_ip)
        room.identity_table.Unblock(HashText(change.entry.value));
      else if (auto r = ParseIpRange(change.entry.value); r && r->first == r->last)
        room.ip_table.Unblock(HashIp(r->first));
    }
    if (a && room.configured) Republish(room);
    (void)b;
    return;
  }
  if (change.list == GuardList::kBlock && change.entry.expires_unix <= now_unix) return;
  if (change.entry.is_ip && !ParseIpRange(change.entry.value)) return;
  if (change.list == GuardList::kBlock && change.entry.source == "auto") {
    room.auto_blocks[key] = change.entry.expires_unix;
    const std::int64_t until =
        Nanos(clock_.Now()) + (change.entry.expires_unix - now_unix) * 1'000'000'000LL;
    if (change.entry.is_ip) {
      room.ip_table.Block(HashIp(ParseIpRange(change.entry.value)->first), until);
    } else {
      room.identity_table.Block(HashText(change.entry.value), until);
    }
    return;
  }
  room.runtime[l][key] = change.entry;
  if (room.configured) Republish(room);
}

std::vector<GuardEntry> GuardImpl::List(std::string_view room_id, GuardList list) const {
  std::vector<GuardEntry> out;
  std::lock_guard lock(mu_);
  auto it = rooms_map_.find(room_id);
  if (it == rooms_map_.end()) return out;
  const Room& room = *it->second;
  const std::size_t l = static_cast<std::size_t>(list);
  const std::int64_t now = WallSeconds();
  for (const GuardEntry& entry : room.settings.Get().lists[l]) out.push_back(entry);
  for (const auto& [key, entry] : room.runtime[l]) {
    if (list == GuardList::kBlock && entry.expires_unix <= now) continue;
    out.push_back(entry);
  }
  if (list == GuardList::kBlock) {
    for (const auto& [key, until] : room.auto_blocks) {
      if (until > now) out.push_back(GuardEntry{key.first, key.second, until, "auto"});
    }
  }
  return out;
}

std::vector<GuardChange> GuardImpl::RuntimeEntries() const {
  std::vector<GuardChange> out;
  std::lock_guard lock(mu_);
  const std::int64_t now = WallSeconds();
  for (const auto& room : rooms_) {
    for (std::size_t l = 0; l < kGuardListCount; ++l) {
      for (const auto& [key, entry] : room->runtime[l]) {
        if (static_cast<GuardList>(l) == GuardList::kBlock && entry.expires_unix <= now) continue;
        out.push_back(GuardChange{room->id, static_cast<GuardList>(l), entry, false});
      }
    }
    for (const auto& [key, until] : room->auto_blocks) {
      if (until <= now) continue;
      out.push_back(GuardChange{room->id, GuardList::kBlock,
                                GuardEntry{key.first, key.second, until, "auto"}, false});
    }
  }
  return out;
}

void GuardImpl::SetListener(std::function<void(const GuardChange&)> listener) {
  listener_ = std::move(listener);
}

void GuardImpl::Expire() {
  std::lock_guard lock(mu_);
  const std::int64_t now = WallSeconds();
  for (const auto& room : rooms_) {
    std::erase_if(room->auto_blocks, [now](const auto& kv) { return kv.second <= now; });
    const std::size_t before = room->runtime[static_cast<std::size_t>(GuardList::kBlock)].size();
    std::erase_if(room->runtime[static_cast<std::size_t>(GuardList::kBlock)],
                  [now](const auto& kv) { return kv.second.expires_unix <= now; });
    if (before != room->runtime[static_cast<std::size_t>(GuardList::kBlock)].size() &&
        room->configured) {
      Republish(*room);
    }
  }
}

void GuardImpl::RenderMetrics(std::string& out) const {
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
    for (std::size_t r = 0; r < 2; ++r) {
      analytics::AppendSample(
          out, "vwr_guard_shadow_blocked_total",
          fmt::format("room=\"{}\",reason=\"{}\"", analytics::EscapeLabel(room->id),
                      GuardReasonName(static_cast<GuardReason>(r))),
          room->shadow[r].Value());
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

std::uint64_t GuardImpl::Blocked(std::string_view room, GuardReason reason) const {
  Room* r = FindRoom(room);
  return r == nullptr ? 0 : r->blocked[static_cast<std::size_t>(reason)].Value();
}

std::uint64_t GuardImpl::ShadowBlocked(std::string_view room, GuardReason reason) const {
  Room* r = FindRoom(room);
  return r == nullptr ? 0 : r->shadow[static_cast<std::size_t>(reason)].Value();
}

std::uint64_t GuardImpl::Bypassed(std::string_view room) const {
  Room* r = FindRoom(room);
  return r == nullptr ? 0 : r->bypassed.Value();
}

}  // namespace vwr::api
