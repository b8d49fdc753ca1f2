#include "analytics/top_k.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "util/utf8.hpp"

namespace vwr::analytics {

namespace {

constexpr std::array<std::string_view, kDimensionCount> kDimensionNames = {
    "pageUrl", "ip", "ipPrefix", "userAgent", "user", "host"};

// Lower-case ASCII substring search without allocating.
bool ContainsFolded(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size()) {
      char c = text[i + j];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != needle[j]) break;
      ++j;
    }
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace

std::string_view DimensionName(Dimension d) { return kDimensionNames[static_cast<std::size_t>(d)]; }

std::optional<Dimension> ParseDimension(std::string_view name) {
  for (std::size_t i = 0; i < kDimensionNames.size(); ++i) {
    if (kDimensionNames[i] == name) return static_cast<Dimension>(i);
  }
  return std::nullopt;
}

FieldId SeenField(Dimension d) {
  return static_cast<FieldId>(field::kSeenPageUrl + static_cast<FieldId>(d));
}

std::string_view AgentClassName(AgentClass c) {
  switch (c) {
    case AgentClass::kBrowser:
      return "browser";
    case AgentClass::kApp:
      return "app";
    case AgentClass::kBot:
      return "bot";
  }
  return "app";
}

AgentClass ClassifyAgent(std::string_view ua) {
  if (ua.empty()) return AgentClass::kBot;
  static constexpr std::array<std::string_view, 16> kBotMarks = {
      "bot",   "spider",   "crawl",     "slurp",  "curl/",  "wget/",      "python", "go-http",
      "java/", "headless", "phantomjs", "scrapy", "libwww", "httpclient", "axios/", "node-fetch"};
  for (std::string_view mark : kBotMarks) {
    if (ContainsFolded(ua, mark)) return AgentClass::kBot;
  }
  if (ua.starts_with("Mozilla/") || ua.starts_with("Opera/")) return AgentClass::kBrowser;
  return AgentClass::kApp;
}

std::size_t IpPrefixOf(std::string_view address, char* out) {
  // The common case, a dotted IPv4 address, without parsing it twice: the first three parts
  // (checked to be 1-3 digits each) and ".0/24".
  if (address.size() <= 15 && address.find(':') == std::string_view::npos) {
    std::size_t dots = 0, digits = 0, third = 0;
    bool ok = !address.empty();
    for (std::size_t i = 0; ok && i < address.size(); ++i) {
      const char c = address[i];
      if (c == '.') {
        ok = digits > 0;
        digits = 0;
        if (++dots == 3) third = i;
      } else {
        ok = c >= '0' && c <= '9' && ++digits <= 3;
      }
    }
    if (!ok || dots != 3 || digits == 0) return 0;
    std::memcpy(out, address.data(), third);
    std::memcpy(out + third, ".0/24", 5);
    return third + 5;
  }
  char text[INET6_ADDRSTRLEN + 1];
  if (address.empty() || address.size() >= sizeof text) return 0;
  std::memcpy(text, address.data(), address.size());
  text[address.size()] = '\0';
  unsigned char bytes[16];
  if (::inet_pton(AF_INET, text, bytes) == 1) {
    const int n = std::snprintf(out, 48, "%u.%u.%u.0/24", bytes[0], bytes[1], bytes[2]);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  if (::inet_pton(AF_INET6, text, bytes) == 1) {
    const int n = std::snprintf(out, 48, "%x:%x:%x::/48", (bytes[0] << 8) | bytes[1],
                                (bytes[2] << 8) | bytes[3], (bytes[4] << 8) | bytes[5]);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  return 0;
}

TopSketch::TopSketch(std::size_t capacity)
    : hashes_(std::max<std::size_t>(capacity, 1)),
      counts_(hashes_.size()),
      errors_(hashes_.size()),
      keys_(hashes_.size()) {}

std::uint8_t& TopSketch::Add(std::string_view key, std::uint64_t weight) {
  if (key.size() > kMaxKeyBytes) {
    // Cut before a character, not inside one: back off over UTF-8 continuation bytes (at most
    // three), so that a cut Korean page address reads as its first characters, not as U+FFFD.
    std::size_t cut = kMaxKeyBytes;
    for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80;
         ++i) {
      --cut;
    }
    key = key.substr(0, cut);
  }
  total_ += weight;
  const std::uint64_t hash = std::hash<std::string_view>{}(key);
  for (std::size_t i = 0; i < size_; ++i) {
    if (hashes_[i] == hash && std::string_view(keys_[i].bytes, keys_[i].length) == key) {
      counts_[i] += weight;
      return keys_[i].tag;
    }
  }
  std::size_t slot = size_;
  std::uint64_t inherited = 0;
  if (size_ < hashes_.size()) {
    ++size_;
  } else {
    slot = static_cast<std::size_t>(std::min_element(counts_.begin(), counts_.end()) -
                                    counts_.begin());
    inherited = counts_[slot];
  }
  hashes_[slot] = hash;
  counts_[slot] = inherited + weight;
  errors_[slot] = inherited;
  keys_[slot].length = static_cast<std::uint8_t>(key.size());
  keys_[slot].tag = 0;
  std::memcpy(keys_[slot].bytes, key.data(), key.size());
  return keys_[slot].tag;
}

void TopSketch::Clear() {
  size_ = 0;
  total_ = 0;
}

void TopTable::Add(std::string_view key, std::uint64_t count) {
  if (count == 0) return;
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    counts_.emplace(std::string(key), count);
    if (counts_.size() > 2 * capacity_) Trim();
  } else {
    it->second += count;
  }
}

void TopTable::AddSketch(const TopSketch& sketch) {
  // The count less its error: what the key surely had (a lower bound), so that a key that
  // inherited a lightest place does not enter the table with weight it never had.
  sketch.ForEach([this](const TopSketch::Entry& e) { Add(e.key, e.count - e.error); });
}

void TopTable::AddAll(const std::vector<TopEntry>& entries) {
  for (const TopEntry& e : entries) Add(e.key, e.count);
}

void TopTable::Trim() {
  std::vector<std::uint64_t> weights;
  weights.reserve(counts_.size());
  for (const auto& [key, count] : counts_) weights.push_back(count);
  std::nth_element(weights.begin(), weights.begin() + static_cast<std::ptrdiff_t>(capacity_ - 1),
                   weights.end(), std::greater<>());
  const std::uint64_t floor = weights[capacity_ - 1];
  std::size_t kept_at_floor = 0;
  for (auto it = counts_.begin(); it != counts_.end();) {
    if (it->second < floor || (it->second == floor && ++kept_at_floor > capacity_)) {
      it = counts_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<TopEntry> TopTable::Top(std::size_t k) const {
  std::vector<TopEntry> all;
  all.reserve(counts_.size());
  for (const auto& [key, count] : counts_) all.push_back({key, count});
  const auto heavier = [](const TopEntry& a, const TopEntry& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  };
  const std::size_t n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), heavier);
  all.resize(n);
  return all;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      out.push_back(text[i++]);
      continue;
    }
    char32_t code = 0;
    if (const std::size_t length = util::DecodeUtf8Sequence(text, i, code); length != 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for the byte that starts no character
      ++i;
    }
  }
  return out;
}

}  // namespace vwr::analytics
