// The analytics section: what the traffic analysis keeps, and for how long.

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "config/duration.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 6> kAnalyticsKeys = {
    "enabled", "retention", "top_keys", "poll_sample", "surge", "live_streams"};
constexpr std::array<std::string_view, 5> kRetentionKeys = {"seconds", "minutes", "hours",
                                                            "top_minutes", "top_hours"};
constexpr std::array<std::string_view, 4> kSurgeKeys = {"factor", "min_rate", "window", "baseline"};
constexpr milliseconds kDay{86'400'000};
// A retention longer than a century is a typo, and would overflow the arithmetic of ages.
constexpr milliseconds kMaxRetention{36'500 * kDay};

// A retention: 0 (kept for ever) or from `min` to a century.
std::optional<milliseconds> ReadRetention(Reader& reader, const Field& field, milliseconds min) {
  const std::optional<milliseconds> value = reader.ReadDuration(field);
  if (!value) return std::nullopt;
  if (value->count() == 0 || (*value >= min && *value <= kMaxRetention)) return value;
  reader.Error(field.mark, field.path,
               "must be 0 (kept for ever) or between " + FormatDuration(min) + " and " +
                   FormatDuration(kMaxRetention));
  return std::nullopt;
}

void ReadRetentions(Reader& reader, const Field& field, AnalyticsConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kRetentionKeys);
  if (!fields) return;
  if (const Field* f = fields->Find("seconds")) {
    // Seconds are kept in memory: an hour at most (and at least a minute, so that every
    // minute is whole before it rolls up).
    if (auto v = ReadDurationInRange(reader, *f, milliseconds(60'000), milliseconds(3'600'000))) {
      out.keep_seconds = *v;
    }
  }
  const std::array<std::pair<const char*, milliseconds*>, 4> rest = {
      std::pair{"minutes", &out.keep_minutes}, std::pair{"hours", &out.keep_hours},
      std::pair{"top_minutes", &out.keep_top_minutes}, std::pair{"top_hours", &out.keep_top_hours}};
  for (const auto& [key, target] : rest) {
    if (const Field* f = fields->Find(key)) {
      if (auto v = ReadRetention(reader, *f, milliseconds(3'600'000))) *target = *v;
    }
  }
}

void ReadSurge(Reader& reader, const Field& field, AnalyticsConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kSurgeKeys);
  if (!fields) return;
  if (const Field* f = fields->Find("factor")) {
    if (std::optional<double> v = reader.ReadNumber(*f)) {
      if (*v >= 1.1 && *v <= 1000) {
        out.surge_factor = *v;
      } else {
        reader.Error(f->mark, f->path, "must be between 1.1 and 1000 (times the baseline)");
      }
    }
  }
  if (const Field* f = fields->Find("min_rate")) {
    if (std::optional<double> v = reader.ReadNumber(*f)) {
      if (*v >= 0 && *v <= 1e9) {
        out.surge_min_rate = *v;
      } else {
        reader.Error(f->mark, f->path, "must be between 0 and 1000000000 (requests a second)");
      }
    }
  }
  if (const Field* f = fields->Find("window")) {
    if (auto v = ReadDurationInRange(reader, *f, milliseconds(1'000), milliseconds(600'000))) {
      out.surge_window = *v;
    }
  }
  if (const Field* f = fields->Find("baseline")) {
    if (auto v = ReadDurationInRange(reader, *f, milliseconds(10'000), kDay)) {
      out.surge_baseline = *v;
    }
  }
  if (out.surge_baseline <= out.surge_window) {
    reader.Error(field.mark, field.path,
                 "baseline (" + FormatDuration(out.surge_baseline) +
                     ") must be longer than window (" + FormatDuration(out.surge_window) +
                     "): the baseline is the long-term rate the short-term one is held against");
  }
}

}  // namespace

void ReadAnalytics(Reader& reader, const Field& field, AnalyticsConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kAnalyticsKeys);
  if (!fields) return;
  if (const Field* f = fields->Find("enabled")) {
    if (std::optional<std::string> v = reader.ReadChoice(*f, kBooleans)) out.enabled = *v == "true";
  }
  if (const Field* f = fields->Find("retention")) ReadRetentions(reader, *f, out);
  if (const Field* f = fields->Find("top_keys")) {
    if (auto v = ReadIntInRange(reader, *f, 1, 1000)) out.top_keys = *v;
  }
  if (const Field* f = fields->Find("poll_sample")) {
    if (auto v = ReadIntInRange(reader, *f, 1, 1024)) out.poll_sample = *v;
  }
  if (const Field* f = fields->Find("surge")) ReadSurge(reader, *f, out);
  if (const Field* f = fields->Find("live_streams")) {
    if (auto v = ReadIntInRange(reader, *f, 1, 10'000, "no live streams")) out.live_streams = *v;
  }
}

}  // namespace vwr::config::detail
