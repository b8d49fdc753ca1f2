#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analytics/frame.hpp"
#include "util/string_hash.hpp"

namespace vwr::analytics {

// What the top-K breakdowns are kept by.
enum class Dimension : std::uint8_t {
  kPageUrl,   // the page the visitor came from (join body / TRACER pageUrl)
  kIp,        // the client address as the server sees it
  kIpPrefix,  // its /24 (IPv4) or /48 (IPv6)
  kUserAgent,
  kUser,  // userId / TRACER loginId, or the signed identity
  kHost,  // the Host the request named
};
inline constexpr std::size_t kDimensionCount = 6;
std::string_view DimensionName(Dimension d);  // "pageUrl", "ip", "ipPrefix", ...
std::optional<Dimension> ParseDimension(std::string_view name);
FieldId SeenField(Dimension d);

// A User-Agent's class, for the ua_browser / ua_app / ua_bot counts.
enum class AgentClass : std::uint8_t { kBrowser, kApp, kBot };
std::string_view AgentClassName(AgentClass c);
// Crawlers, scripts and headless browsers are bots, as is a missing User-Agent; "Mozilla/..."
// and "Opera/..." otherwise are browsers; anything else is an app or library.
AgentClass ClassifyAgent(std::string_view user_agent);

// "a.b.c.0/24" for an IPv4 address, "x:y:z::/48" for IPv6, written into `out` (at least 48
// bytes); returns the length, 0 when `address` is not an address.
std::size_t IpPrefixOf(std::string_view address, char* out);

// Space-Saving (Metwally et al.) with a fixed capacity and its keys stored inline: the heaviest
// keys of one writer's stream, without allocating after construction. A key not tracked takes
// the place of the lightest one and inherits its count (as its error), so every key whose true
// weight exceeds total / capacity is present, and no count is ever below the truth.
//
// Keys longer than kMaxKeyBytes are cut. Lookups scan the capacity's hashes (kept apart from
// the keys, so the scan reads a few cache lines): meant for small capacities (tens).
// Not thread-safe: one writer (see RoomRecorder for how a reader takes a worker's sketch).
class TopSketch {
 public:
  static constexpr std::size_t kMaxKeyBytes = 128;

  explicit TopSketch(std::size_t capacity = 32);

  // Returns the key's tag byte (zero for a key that has just taken a place), where a caller
  // keeps what it derived from the key (RoomRecorder: the User-Agent's class), so that a key
  // seen again costs no second look at it.
  std::uint8_t& Add(std::string_view key, std::uint64_t weight = 1);
  void Clear();
  std::uint64_t total() const { return total_; }
  std::size_t size() const { return size_; }

  struct Entry {
    std::string_view key;
    std::uint64_t count;
    std::uint64_t error;  // the count may be this much too high
  };
  template <typename F>
  void ForEach(F&& f) const {
    for (std::size_t i = 0; i < size_; ++i) {
      f(Entry{std::string_view(keys_[i].bytes, keys_[i].length), counts_[i], errors_[i]});
    }
  }

 private:
  struct Key {
    std::uint8_t length = 0;
    std::uint8_t tag = 0;
    char bytes[kMaxKeyBytes];
  };
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint64_t> counts_;
  std::vector<std::uint64_t> errors_;
  std::vector<Key> keys_;
  std::size_t size_ = 0;
  std::uint64_t total_ = 0;
};

// One key's weight in a breakdown.
struct TopEntry {
  std::string key;
  std::uint64_t count = 0;
};

// The heavy hitters of one room and dimension over a period (a minute, an hour), merged from
// many sketches or stored lists. Keeps at most `capacity` keys: when it grows past twice that,
// the lightest are dropped (they could not be among the top `capacity` by much). Used off the
// request path only (it allocates). Not thread-safe.
class TopTable {
 public:
  explicit TopTable(std::size_t capacity = 256) : capacity_(capacity) {}
  void Add(std::string_view key, std::uint64_t count);
  void AddSketch(const TopSketch& sketch);
  void AddAll(const std::vector<TopEntry>& entries);
  // The `k` heaviest, heaviest first (ties by key).
  std::vector<TopEntry> Top(std::size_t k) const;
  bool empty() const { return counts_.empty(); }
  void Clear() { counts_.clear(); }

 private:
  void Trim();
  std::size_t capacity_;
  std::unordered_map<std::string, std::uint64_t, util::StringHash, std::equal_to<>> counts_;
};

// `text` as well-formed UTF-8 (a key cut inside a character, or bytes that never were UTF-8,
// get U+FFFD), so that a JSON answer quoting it stays valid.
std::string ValidUtf8(std::string_view text);

}  // namespace vwr::analytics
