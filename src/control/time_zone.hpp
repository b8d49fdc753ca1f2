#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::control {

// A time zone for the calendar windows of rules and schedules (`weekdays 09:00-18:00
// Asia/Seoul`): UTC, a fixed offset (`UTC+09:00`), or a zone of the system's tz database read
// from /usr/share/zoneinfo (TZif: its transitions, then the POSIX rule at its end for times
// after the last one). Loaded once at configuration time; UtcOffsetSeconds is pure and
// thread-safe. (GCC 12's standard library has no tz database, hence this small reader.)
class TimeZone {
 public:
  // UTC.
  TimeZone();

  // `name`: "UTC", "UTC+09:00" / "UTC-5", or an IANA name such as "Asia/Seoul". Nullopt, with
  // `error` set, when the name is malformed or the zone is not installed. `zoneinfo_dir` is for
  // tests.
  static std::optional<TimeZone> Load(std::string_view name, std::string* error,
                                      const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  // Parses the TZif bytes of a zone (exposed for tests and the fuzzer).
  static std::optional<TimeZone> FromTzif(std::string_view name, std::string_view bytes);

  const std::string& name() const { return name_; }
  // Local time minus UTC, in seconds, at the UTC instant `unix_seconds`.
  std::int32_t UtcOffsetSeconds(std::int64_t unix_seconds) const;

  // A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (what a TZif file ends with).
  struct PosixRule {
    std::int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    std::int32_t dst_offset = 0;
    // Mm.w.d/time for the start and the end of daylight saving time (local wall time).
    int start_month = 0, start_week = 0, start_day = 0;
    std::int32_t start_time = 7200;
    int end_month = 0, end_week = 0, end_day = 0;
    std::int32_t end_time = 7200;
  };
  static std::optional<PosixRule> ParsePosixRule(std::string_view text);

 private:
  std::string name_ = "UTC";
  std::int32_t fixed_offset_ = 0;
  std::vector<std::int64_t> transitions_;   // UTC seconds, ascending
  std::vector<std::int32_t> offset_after_;  // offset in force from transitions_[i]
  std::int32_t offset_before_first_ = 0;
  std::optional<PosixRule> rule_;  // after the last transition
};

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d);
void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d);

}  // namespace vwr::control
