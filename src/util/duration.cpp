#include "util/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace vwr::util {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};

// Largest first: FormatDuration picks the first unit that divides the value.
constexpr std::array<Unit, 5> kUnits = {{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

// More significant fraction digits than this are rejected: nobody writes them, and nine keep
// fraction * unit inside 64 bits.
constexpr std::size_t kMaxFractionDigits = 9;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TakeDigits(std::string_view text, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  return text.substr(start, pos - start);
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::size_t pos = 0;
  const std::string_view whole_digits = TakeDigits(text, pos);
  if (whole_digits.empty()) return std::nullopt;  // empty, sign, ".5", garbage
  std::string_view fraction_digits;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    fraction_digits = TakeDigits(text, pos);
    if (fraction_digits.empty()) return std::nullopt;  // "1."
  }

  const std::string_view suffix = text.substr(pos);
  std::int64_t unit_ms = 1'000;  // a bare number is seconds
  if (!suffix.empty()) {
    unit_ms = 0;
    for (const Unit& unit : kUnits) {
      if (unit.suffix == suffix) unit_ms = unit.ms;
    }
    if (unit_ms == 0) return std::nullopt;
  }

  std::uint64_t whole = 0;
  auto [end, ec] =
      std::from_chars(whole_digits.data(), whole_digits.data() + whole_digits.size(), whole);
  if (ec != std::errc() || end != whole_digits.data() + whole_digits.size()) return std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto unit = static_cast<std::uint64_t>(unit_ms);
  if (whole > kMax / unit) return std::nullopt;
  std::uint64_t total = whole * unit;

  while (!fraction_digits.empty() && fraction_digits.back() == '0') {
    fraction_digits.remove_suffix(1);
  }
  if (!fraction_digits.empty()) {
    if (fraction_digits.size() > kMaxFractionDigits) return std::nullopt;
    std::uint64_t fraction = 0;
    std::uint64_t scale = 1;
    for (char c : fraction_digits) {
      fraction = fraction * 10 + static_cast<std::uint64_t>(c - '0');
      scale *= 10;
    }
    const std::uint64_t scaled = fraction * unit;
    if (scaled % scale != 0) return std::nullopt;  // finer than a millisecond
    const std::uint64_t extra = scaled / scale;
    if (total > kMax - extra) return std::nullopt;
    total += extra;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(total));
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  const std::int64_t count = duration.count();
  if (count == 0) return "0s";
  // Magnitude in unsigned arithmetic so that the most negative value does not overflow.
  const std::uint64_t magnitude =
      count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  std::string sign = count < 0 ? "-" : "";
  for (const Unit& unit : kUnits) {
    const auto size = static_cast<std::uint64_t>(unit.ms);
    if (magnitude % size == 0) {
      return sign + std::to_string(magnitude / size) + std::string(unit.suffix);
    }
  }
  return sign + std::to_string(magnitude) + "ms";  // not reached: every value divides by 1ms
}

}  // namespace vwr::util
