// rooms[].protection: the guard's modes, limits and lists.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/duration.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"
#include "util/ip_range.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 11> kProtectionKeys = {
    "mode",       "window",     "limit_per_ip", "limit_per_identity",
    "block_time", "joins_mode", "joins_window", "joins_per_ip",
    "deny",       "allow",      "unblock"};
constexpr std::array<std::string_view, 3> kProtectionModes = {"off", "shadow", "enforce"};
constexpr std::array<std::string_view, 2> kProtectionListKeys = {"ips", "identities"};
constexpr milliseconds kMinProtectionWindow{1'000};
constexpr milliseconds kMaxProtectionWindow{3'600'000};
constexpr milliseconds kMinBlockTime{1'000};
constexpr milliseconds kMaxBlockTime{7LL * 86'400'000};
constexpr std::int64_t kMaxProtectionLimit = 1'000'000'000;
constexpr std::size_t kMaxIdentityBytes = 256;  // as a userId

void ReadProtectionList(Reader& reader, const Field& field, ProtectionList& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kProtectionListKeys);
  if (!fields) return;
  auto read_items = [&](const Field* items, bool ips, std::vector<std::string>& into) {
    if (items == nullptr || items->node.IsNull()) return;
    if (!items->node.IsSequence()) {
      reader.Error(items->mark, items->path, "expected a list, got " + Describe(items->node));
      return;
    }
    for (std::size_t i = 0; i < items->node.size(); ++i) {
      const Field item{Item(items->path, i), items->node[i].Mark(), items->node[i]};
      std::optional<std::string> value = reader.ReadString(item);
      if (!value) continue;
      if (ips && !util::IpRange::Parse(*value)) {
        reader.Error(
            item.mark, item.path,
            "expected an IP address or a CIDR block such as \"10.0.0.0/8\"; got " + Quote(*value));
      } else if (!ips && (value->empty() || value->size() > kMaxIdentityBytes)) {
        reader.Error(item.mark, item.path, "must be 1 to 256 bytes");
      } else {
        into.push_back(std::move(*value));
      }
    }
  };
  read_items(fields->Find("ips"), true, out.ips);
  read_items(fields->Find("identities"), false, out.identities);
}

}  // namespace

void ReadProtection(Reader& reader, const Field& field, ProtectionConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kProtectionKeys);
  if (!fields) return;
  if (const Field* mode = fields->Find("mode")) {
    if (std::optional<std::string> value = reader.ReadChoice(*mode, kProtectionModes)) {
      out.mode = *value;
    }
  }
  if (const Field* window = fields->Find("window")) {
    if (auto value =
            ReadDurationInRange(reader, *window, kMinProtectionWindow, kMaxProtectionWindow)) {
      out.window = *value;
    }
  }
  if (const Field* limit = fields->Find("limit_per_ip")) {
    if (auto value = ReadIntInRange(reader, *limit, 1, kMaxProtectionLimit, "no limit")) {
      out.limit_per_ip = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* limit = fields->Find("limit_per_identity")) {
    if (auto value = ReadIntInRange(reader, *limit, 1, kMaxProtectionLimit, "no limit")) {
      out.limit_per_identity = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* block = fields->Find("block_time")) {
    if (auto value = ReadDurationInRange(reader, *block, kMinBlockTime, kMaxBlockTime)) {
      if (value->count() % 1000 != 0) {
        // Retry-After and the lists' expiry are whole seconds.
        reader.Error(block->mark, block->path,
                     "must be a whole number of seconds; got " + FormatDuration(*value));
      } else {
        out.block_time = *value;
      }
    }
  }
  if (const Field* mode = fields->Find("joins_mode")) {
    if (std::optional<std::string> value = reader.ReadChoice(*mode, kProtectionModes)) {
      out.joins_mode = *value;
    }
  }
  if (const Field* window = fields->Find("joins_window")) {
    if (auto value =
            ReadDurationInRange(reader, *window, kMinProtectionWindow, kMaxProtectionWindow)) {
      out.joins_window = *value;
    }
  }
  if (const Field* limit = fields->Find("joins_per_ip")) {
    if (auto value = ReadIntInRange(reader, *limit, 1, kMaxProtectionLimit, "no limit")) {
      out.joins_per_ip = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* list = fields->Find("deny")) ReadProtectionList(reader, *list, out.deny);
  if (const Field* list = fields->Find("allow")) ReadProtectionList(reader, *list, out.allow);
  if (const Field* list = fields->Find("unblock")) ReadProtectionList(reader, *list, out.unblock);
}

}  // namespace vwr::config::detail
