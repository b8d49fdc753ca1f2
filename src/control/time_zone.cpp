#include "control/time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace vwr::control {

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

namespace {

// "[+-]hh[:mm[:ss]]" at `text[pos]`; advances pos.
std::optional<std::int32_t> ParseHms(std::string_view text, std::size_t& pos, bool allow_sign) {
  int sign = 1;
  if (allow_sign && pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    sign = text[pos] == '-' ? -1 : 1;
    ++pos;
  }
  std::int32_t parts[3] = {0, 0, 0};
  for (int part = 0; part < 3; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != ':') break;
      ++pos;
    }
    const std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) &&
           pos - start < 3) {
      parts[part] = parts[part] * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (parts[0] > 167 || parts[1] > 59 || parts[2] > 59) return std::nullopt;
  return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
}

bool SkipZoneAbbreviation(std::string_view text, std::size_t& pos) {
  if (pos < text.size() && text[pos] == '<') {
    const std::size_t close = text.find('>', pos);
    if (close == std::string_view::npos) return false;
    pos = close + 1;
    return true;
  }
  const std::size_t start = pos;
  while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
  return pos - start >= 3;
}

// ",Mm.w.d[/time]"
bool ParseMRule(std::string_view text, std::size_t& pos, int& month, int& week, int& day,
                std::int32_t& time) {
  if (pos + 1 >= text.size() || text[pos] != ',' || text[pos + 1] != 'M') return false;
  pos += 2;
  int values[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
    const std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) &&
           pos - start < 2) {
      values[i] = values[i] * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return false;
  }
  month = values[0];
  week = values[1];
  day = values[2];
  if (month < 1 || month > 12 || week < 1 || week > 5 || day > 6) return false;
  time = 7200;
  if (pos < text.size() && text[pos] == '/') {
    ++pos;
    auto t = ParseHms(text, pos, true);
    if (!t) return false;
    time = *t;
  }
  return true;
}

// The UTC instant (seconds) at which local wall time `local_seconds` of day `Mm.w.d` in `year`
// happens, given the offset in force just before it.
std::int64_t RuleInstant(std::int64_t year, int month, int week, int day, std::int32_t time,
                         std::int32_t offset_before) {
  const std::int64_t first = DaysFromCivil(year, static_cast<unsigned>(month), 1);
  const int first_weekday = static_cast<int>(((first % 7) + 11) % 7);  // 1970-01-01 was Thursday
  int mday = 1 + (day - first_weekday + 7) % 7 + (week - 1) * 7;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int month_days = kDays[month - 1];
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) month_days = 29;
  while (mday > month_days) mday -= 7;
  const std::int64_t local = (first + mday - 1) * 86400 + time;
  return local - offset_before;
}

std::uint32_t Be32(std::string_view b, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

std::int64_t Be64(std::string_view b, std::size_t at) {
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(Be32(b, at)) << 32) |
                                   Be32(b, at + 4));
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.front() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

}  // namespace

std::optional<TimeZone::PosixRule> TimeZone::ParsePosixRule(std::string_view text) {
  PosixRule rule;
  std::size_t pos = 0;
  if (!SkipZoneAbbreviation(text, pos)) return std::nullopt;
  auto std_offset = ParseHms(text, pos, true);
  if (!std_offset) return std::nullopt;
  rule.std_offset = -*std_offset;  // POSIX counts west of UTC
  if (pos == text.size()) return rule;
  if (!SkipZoneAbbreviation(text, pos)) return std::nullopt;
  rule.has_dst = true;
  rule.dst_offset = rule.std_offset + 3600;
  if (pos < text.size() && text[pos] != ',') {
    auto dst = ParseHms(text, pos, true);
    if (!dst) return std::nullopt;
    rule.dst_offset = -*dst;
  }
  if (!ParseMRule(text, pos, rule.start_month, rule.start_week, rule.start_day, rule.start_time))
    return std::nullopt;
  if (!ParseMRule(text, pos, rule.end_month, rule.end_week, rule.end_day, rule.end_time))
    return std::nullopt;
  if (pos != text.size()) return std::nullopt;
  return rule;
}

TimeZone::TimeZone() = default;

std::optional<TimeZone> TimeZone::FromTzif(std::string_view name, std::string_view b) {
  // Header: "TZif", version, 15 reserved bytes, six 32-bit counts.
  constexpr std::size_t kHeader = 44;
  if (b.size() < kHeader || b.substr(0, 4) != "TZif") return std::nullopt;
  auto counts = [&](std::size_t at, std::uint32_t out[6]) {
    for (int i = 0; i < 6; ++i) out[i] = Be32(b, at + 20 + 4 * static_cast<std::size_t>(i));
  };
  std::uint32_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  const char version = b[4];
  auto block_size = [&](std::uint32_t n[6], std::size_t time_size) -> std::uint64_t {
    return static_cast<std::uint64_t>(n[3]) * time_size + n[3] + n[4] * 6ULL + n[5] +
           n[2] * (time_size + 4ULL) + n[1] + n[0];
  };
  std::size_t at = kHeader;
  std::size_t time_size = 4;
  if (version >= '2') {
    const std::uint64_t skip = block_size(c, 4);
    if (skip > b.size() - at || b.size() - at - skip < kHeader) return std::nullopt;
    at += static_cast<std::size_t>(skip);
    if (b.substr(at, 4) != "TZif") return std::nullopt;
    counts(at, c);
    at += kHeader;
    time_size = 8;
  }
  if (c[4] == 0 || c[4] > 256 || c[3] > 100000) return std::nullopt;
  if (block_size(c, time_size) > b.size() - at) return std::nullopt;
  TimeZone zone;
  zone.name_ = std::string(name);
  const std::size_t times_at = at;
  const std::size_t types_at = times_at + c[3] * time_size;
  const std::size_t info_at = types_at + c[3];
  auto offset_of_type = [&](std::size_t type) {
    return static_cast<std::int32_t>(Be32(b, info_at + type * 6));
  };
  for (std::uint32_t i = 0; i < c[3]; ++i) {
    const std::int64_t t = time_size == 8 ? Be64(b, times_at + i * 8)
                                          : static_cast<std::int32_t>(Be32(b, times_at + i * 4));
    const auto type = static_cast<unsigned char>(b[types_at + i]);
    if (type >= c[4]) return std::nullopt;
    if (!zone.transitions_.empty() && t <= zone.transitions_.back()) return std::nullopt;
    zone.transitions_.push_back(t);
    zone.offset_after_.push_back(offset_of_type(type));
  }
  zone.offset_before_first_ = offset_of_type(0);
  zone.fixed_offset_ = zone.offset_before_first_;
  if (version >= '2') {
    const std::size_t footer = at + static_cast<std::size_t>(block_size(c, time_size));
    if (footer < b.size() && b[footer] == '\n') {
      const std::size_t end = b.find('\n', footer + 1);
      if (end != std::string_view::npos) {
        zone.rule_ = ParsePosixRule(b.substr(footer + 1, end - footer - 1));
      }
    }
  }
  return zone;
}

std::optional<TimeZone> TimeZone::Load(std::string_view name, std::string* error,
                                       const std::string& zoneinfo_dir) {
  auto fail = [&](std::string message) -> std::optional<TimeZone> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  if (name == "UTC" || name == "Z") return TimeZone();
  if (name.size() > 3 && name.substr(0, 3) == "UTC" && (name[3] == '+' || name[3] == '-')) {
    std::size_t pos = 3;
    auto offset = ParseHms(name, pos, true);
    if (!offset || pos != name.size() || *offset > 14 * 3600 || *offset < -14 * 3600) {
      return fail("a fixed offset is written UTC+09:00 (at most ±14:00)");
    }
    TimeZone zone;
    zone.name_ = std::string(name);
    zone.fixed_offset_ = *offset;
    zone.offset_before_first_ = *offset;
    return zone;
  }
  if (!ValidZoneName(name)) return fail("not a time zone name (such as Asia/Seoul or UTC+09:00)");
  const std::string path = zoneinfo_dir + "/" + std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail("unknown time zone '" + std::string(name) + "' (not in " + zoneinfo_dir + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail("unknown time zone '" + std::string(name) + "' (not in " + zoneinfo_dir + ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > (1 << 20)) return fail("time zone file too large");
  auto zone = FromTzif(name, bytes);
  if (!zone) return fail("time zone '" + std::string(name) + "' could not be read");
  return zone;
}

std::int32_t TimeZone::UtcOffsetSeconds(std::int64_t t) const {
  if (transitions_.empty() && !rule_) return fixed_offset_;
  if (!transitions_.empty() && t < transitions_.front()) return offset_before_first_;
  if (!transitions_.empty() && (t < transitions_.back() || !rule_)) {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    return offset_after_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
  }
  const PosixRule& r = *rule_;
  if (!r.has_dst) return r.std_offset;
  std::int64_t y;
  unsigned m, d;
  CivilFromDays((t + r.std_offset) / 86400 - ((t + r.std_offset) % 86400 < 0 ? 1 : 0), y, m, d);
  const std::int64_t start =
      RuleInstant(y, r.start_month, r.start_week, r.start_day, r.start_time, r.std_offset);
  const std::int64_t end =
      RuleInstant(y, r.end_month, r.end_week, r.end_day, r.end_time, r.dst_offset);
  const bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? r.dst_offset : r.std_offset;
}

}  // namespace vwr::control
