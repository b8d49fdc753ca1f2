#include "loadgen/spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace vwr::loadgen {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<double> ParseNumber(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> ParseShare(std::string_view text) {
  auto v = ParseNumber(text);
  if (!v || *v < 0 || *v > 1) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> ParseCount(std::string_view text) {
  text = Trim(text);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

Parsed<Duration> ParseDuration(std::string_view text) {
  text = Trim(text);
  struct Unit {
    std::string_view suffix;
    double ns;
  };
  // Longest suffix first: "ms" before "s".
  static constexpr Unit kUnits[] = {
      {"ms", 1e6}, {"us", 1e3}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double scale = 1e9;
  std::string_view number = text;
  for (const Unit& unit : kUnits) {
    if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
      number = text.substr(0, text.size() - unit.suffix.size());
      scale = unit.ns;
      break;
    }
  }
  const auto v = ParseNumber(number);
  if (!v || *v < 0 || *v * scale > 1e18) {
    return Parsed<Duration>::Fail(
        fmt::format("cannot read the duration \"{}\" (use e.g. 500ms, 5s, 2m, 1h)", text));
  }
  return Parsed<Duration>::Ok(Duration(static_cast<std::int64_t>(std::llround(*v * scale))));
}

Duration DurationDistribution::Draw(double u) const {
  switch (kind) {
    case Kind::kFixed:
      return a;
    case Kind::kUniform:
      return a + Duration(static_cast<std::int64_t>(static_cast<double>((b - a).count()) * u));
    case Kind::kExponential:
      return Duration(static_cast<std::int64_t>(-std::log1p(-u) * static_cast<double>(a.count())));
  }
  return a;
}

Duration DurationDistribution::Mean() const { return kind == Kind::kUniform ? (a + b) / 2 : a; }

std::string DurationDistribution::ToString() const {
  switch (kind) {
    case Kind::kFixed:
      return FormatDuration(a);
    case Kind::kUniform:
      return fmt::format("uniform:{}:{}", FormatDuration(a), FormatDuration(b));
    case Kind::kExponential:
      return fmt::format("exp:{}", FormatDuration(a));
  }
  return {};
}

Parsed<DurationDistribution> ParseDurationDistribution(std::string_view text) {
  using P = Parsed<DurationDistribution>;
  const auto parts = Split(Trim(text), ':');
  DurationDistribution d;
  auto bad = [&](std::string_view why) {
    return P::Fail(
        fmt::format("cannot read \"{}\": {} (use 5s, uniform:2s:8s or exp:5s)", text, why));
  };
  if (parts.size() == 1) {
    auto v = ParseDuration(parts[0]);
    if (!v) return bad(v.error);
    d.a = *v.value;
    return P::Ok(d);
  }
  if (parts[0] == "uniform" && parts.size() == 3) {
    auto lo = ParseDuration(parts[1]);
    auto hi = ParseDuration(parts[2]);
    if (!lo || !hi) return bad("a bound is not a duration");
    if (*hi.value < *lo.value) return bad("the upper bound is below the lower one");
    d.kind = DurationDistribution::Kind::kUniform;
    d.a = *lo.value;
    d.b = *hi.value;
    return P::Ok(d);
  }
  if (parts[0] == "exp" && parts.size() == 2) {
    auto mean = ParseDuration(parts[1]);
    if (!mean) return bad(mean.error);
    d.kind = DurationDistribution::Kind::kExponential;
    d.a = *mean.value;
    return P::Ok(d);
  }
  return bad("unknown form");
}

Parsed<std::vector<double>> ParseReplayCsv(std::string_view csv) {
  using P = Parsed<std::vector<double>>;
  std::vector<double> out;
  std::size_t line_number = 0;
  for (std::string_view line : Split(csv, '\n')) {
    ++line_number;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    const auto fields = Split(line, ',');
    const auto v = ParseNumber(fields.back());
    if (!v) {
      if (out.empty() && line_number == 1) continue;  // a header row
      return P::Fail(fmt::format("line {}: the last field is not a number", line_number));
    }
    if (*v < 0) return P::Fail(fmt::format("line {}: a negative number of arrivals", line_number));
    out.push_back(*v);
  }
  if (out.empty()) return P::Fail("no rows of arrivals");
  return P::Ok(std::move(out));
}

Parsed<ArrivalSpec> ParseArrivals(std::string_view text) {
  using P = Parsed<ArrivalSpec>;
  ArrivalSpec spec;
  spec.text = std::string(text);
  const std::size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view rest = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  auto bad = [&](std::string_view why) {
    return P::Fail(fmt::format(
        "--arrivals \"{}\": {} (use burst:N, ramp:A:B:T, poisson:RATE or replay:FILE)", text, why));
  };
  if (kind == "burst") {
    const auto n = ParseCount(rest);
    if (!n) return bad("N is not a whole number");
    spec.kind = ArrivalSpec::Kind::kBurst;
    spec.burst = *n;
    return P::Ok(std::move(spec));
  }
  if (kind == "ramp") {
    const auto parts = Split(rest, ':');
    if (parts.size() != 3) return bad("ramp takes three values");
    const auto a = ParseNumber(parts[0]);
    const auto b = ParseNumber(parts[1]);
    const auto t = ParseDuration(parts[2]);
    if (!a || !b || *a < 0 || *b < 0) return bad("the rates must be numbers >= 0");
    if (!t || t.value->count() == 0) return bad("T must be a duration above 0");
    spec.kind = ArrivalSpec::Kind::kRamp;
    spec.ramp_from = *a;
    spec.ramp_to = *b;
    spec.ramp_over = *t.value;
    return P::Ok(std::move(spec));
  }
  if (kind == "poisson") {
    const auto r = ParseNumber(rest);
    if (!r || *r < 0) return bad("RATE must be a number >= 0");
    spec.kind = ArrivalSpec::Kind::kPoisson;
    spec.rate = *r;
    return P::Ok(std::move(spec));
  }
  if (kind == "replay") {
    spec.kind = ArrivalSpec::Kind::kReplay;
    spec.file = std::string(rest);
    std::ifstream in(spec.file, std::ios::binary);
    if (!in) return bad("cannot read the file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto rows = ParseReplayCsv(buffer.str());
    if (!rows) return bad(rows.error);
    spec.per_second = std::move(*rows.value);
    return P::Ok(std::move(spec));
  }
  return bad("unknown kind");
}

Parsed<ProtocolMix> ParseProtocol(std::string_view text) {
  using P = Parsed<ProtocolMix>;
  ProtocolMix mix;
  mix.text = std::string(text);
  if (text == "native") return P::Ok(mix);
  if (text == "tracer") {
    mix.tracer_share = 1;
    return P::Ok(mix);
  }
  if (text.starts_with("mix:")) {
    const auto share = ParseShare(text.substr(4));
    if (share) {
      mix.tracer_share = *share;
      return P::Ok(mix);
    }
  }
  return P::Fail(fmt::format(
      "--protocol \"{}\": use native, tracer or mix:SHARE (the TRACER share, 0 to 1)", text));
}

Parsed<AbandonSpec> ParseAbandon(std::string_view text) {
  using P = Parsed<AbandonSpec>;
  const auto parts = Split(text, ':');
  AbandonSpec spec;
  spec.text = std::string(text);
  auto bad = [&](std::string_view why) {
    return P::Fail(fmt::format(
        "--abandon \"{}\": {} (use SHARE:AFTER[:leave|:silent], e.g. 0.1:30s)", text, why));
  };
  if (parts.size() < 2 || parts.size() > 3) return bad("two or three fields");
  const auto share = ParseShare(parts[0]);
  if (!share) return bad("SHARE must be between 0 and 1");
  const auto after = ParseDuration(parts[1]);
  if (!after) return bad(after.error);
  spec.share = *share;
  spec.after = *after.value;
  if (parts.size() == 3) {
    if (parts[2] == "leave") {
      spec.leave = true;
    } else if (parts[2] != "silent") {
      return bad("the third field is leave or silent");
    }
  }
  return P::Ok(spec);
}

Parsed<double> ParseSessionEnd(std::string_view text) {
  if (text == "leave") return Parsed<double>::Ok(1.0);
  if (text == "idle") return Parsed<double>::Ok(0.0);
  if (text.starts_with("mix:")) {
    if (const auto share = ParseShare(text.substr(4))) return Parsed<double>::Ok(*share);
  }
  return Parsed<double>::Fail(fmt::format(
      "--session-end \"{}\": use leave, idle or mix:SHARE (the share who leave)", text));
}

Parsed<UserIds> ParseUserIds(std::string_view text) {
  UserIds ids;
  if (text == "none") {
    ids.kind = UserIds::Kind::kNone;
    return Parsed<UserIds>::Ok(ids);
  }
  if (text == "distinct") return Parsed<UserIds>::Ok(ids);
  if (text.starts_with("pool:")) {
    const auto n = ParseCount(text.substr(5));
    if (n && *n > 0) {
      ids.kind = UserIds::Kind::kPool;
      ids.pool = *n;
      return Parsed<UserIds>::Ok(ids);
    }
  }
  return Parsed<UserIds>::Fail(
      fmt::format("--user-ids \"{}\": use none, distinct or pool:N (N > 0)", text));
}

Parsed<FailOn> ParseFailOn(std::string_view text) {
  FailOn f;
  for (std::string_view item : Split(text, ',')) {
    item = Trim(item);
    if (item == "fifo") {
      f.fifo = true;
    } else if (item == "positions") {
      f.positions = true;
    } else if (item == "errors") {
      f.errors = true;
    } else if (item == "active") {
      f.active = true;
    } else if (item == "fairness") {
      f.fifo = f.positions = true;
    } else {
      return Parsed<FailOn>::Fail(fmt::format(
          "--fail-on: unknown \"{}\" (use fifo, positions, fairness, active, errors)", item));
    }
  }
  return Parsed<FailOn>::Ok(f);
}

std::string FormatDuration(Duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 != 0) return fmt::format("{}ms", ms);
  const auto s = ms / 1000;
  if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

}  // namespace vwr::loadgen
