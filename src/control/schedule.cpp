#include "control/schedule.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "control/time_zone.hpp"

namespace vwr::control {

namespace {

using Digest = std::array<unsigned char, 32>;

// One EVP digest context, freed on every path.
struct DigestContext {
  DigestContext() : ctx(EVP_MD_CTX_new()) {}
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
  EVP_MD_CTX* ctx;
};

Digest Sha256(std::string_view a) {
  Digest out{};
  unsigned int size = 0;
  EVP_Digest(a.data(), a.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

}  // namespace

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::optional<util::WallTime> ParseTimestamp(std::string_view t) {
  auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
             minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*month < 1 || *month > 12 || *day < 1 || *day > kDays[*month - 1] || *hour > 23 ||
      *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t p = 19;
  if (p < t.size() && t[p] == '.') {
    ++p;
    const std::size_t start = p;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p;
    if (p == start) return std::nullopt;
  }
  int offset = 0;
  if (p + 1 == t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    offset = 0;
  } else if (p + 6 == t.size() && (t[p] == '+' || t[p] == '-') && t[p + 3] == ':') {
    const auto oh = digits(p + 1, 2), om = digits(p + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = (t[p] == '-' ? -1 : 1) * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  const std::int64_t days =
      DaysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  if (*month == 2 && *day == 29) {
    std::int64_t y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    if (m != 2) return std::nullopt;  // not a leap year
  }
  const std::int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset;
  return util::WallTime(std::chrono::seconds(seconds));
}

std::string Draw::Commitment(std::string_view seed) {
  const Digest d = Sha256(seed);
  return ToHex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::vector<std::uint64_t> Draw::Order(std::string_view seed, std::string_view room,
                                       std::uint64_t first, std::uint64_t last) {
  if (last < first || last - first >= kMaxTickets) return {};
  // The prefix seed ‖ room ‖ 0x00 is hashed once; each ticket continues from a copy of it.
  DigestContext prefix, each;
  if (prefix.ctx == nullptr || each.ctx == nullptr) return {};
  const unsigned char zero = 0;
  EVP_DigestInit_ex(prefix.ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(prefix.ctx, seed.data(), seed.size());
  EVP_DigestUpdate(prefix.ctx, room.data(), room.size());
  EVP_DigestUpdate(prefix.ctx, &zero, 1);
  std::vector<std::pair<Digest, std::uint64_t>> keyed;
  keyed.reserve(static_cast<std::size_t>(last - first + 1));
  for (std::uint64_t t = first;; ++t) {
    const std::string decimal = std::to_string(t);
    Digest d{};
    unsigned int size = 0;
    EVP_MD_CTX_copy_ex(each.ctx, prefix.ctx);
    EVP_DigestUpdate(each.ctx, decimal.data(), decimal.size());
    EVP_DigestFinal_ex(each.ctx, d.data(), &size);
    keyed.emplace_back(d, t);
    if (t == last) break;
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::uint64_t> out;
  out.reserve(keyed.size());
  for (const auto& [key, ticket] : keyed) out.push_back(ticket);
  return out;
}

std::optional<Schedule> Schedule::Build(std::vector<EventSpec> events,
                                        const std::vector<std::string>& rooms,
                                        std::vector<std::string>& problems,
                                        util::Duration catch_up) {
  Schedule schedule;
  schedule.catch_up_ = catch_up;
  const std::size_t before = problems.size();
  for (auto& spec : events) {
    const std::string key = "schedules." + (spec.name.empty() ? std::string("?") : spec.name);
    if (spec.name.empty()) problems.push_back("schedules: every event needs a name");
    for (const auto& other : schedule.events_) {
      if (other.spec.name == spec.name) problems.push_back(key + ": two events have this name");
    }
    if (std::find(rooms.begin(), rooms.end(), spec.room) == rooms.end()) {
      problems.push_back(key + ".room: unknown room '" + spec.room + "'");
    }
    if (spec.prequeue < util::Duration::zero() || spec.prequeue > std::chrono::hours(24 * 7)) {
      problems.push_back(key + ".prequeue: must be between 0 and 7d");
    }
    if (spec.open_max_active &&
        (*spec.open_max_active < 1 || *spec.open_max_active > core::kMaxMaxActive)) {
      problems.push_back(key + ".open.max_active: must be between 1 and 1000000000");
    }
    if (spec.open_admit_rate &&
        !(*spec.open_admit_rate > 0 && *spec.open_admit_rate <= core::kMaxAdmitRate)) {
      problems.push_back(key + ".open.admit_rate: must be greater than 0 and at most 1000000");
    }
    if (spec.shuffle && spec.seed.size() < 16) {
      problems.push_back(key + ".shuffle: the draw needs a secret seed of at least 16 bytes");
    }
    Event event;
    event.commitment = spec.shuffle ? Draw::Commitment(spec.seed) : std::string();
    event.spec = std::move(spec);
    schedule.events_.push_back(std::move(event));
  }
  if (problems.size() != before) return std::nullopt;
  return schedule;
}

std::vector<Schedule::Step> Schedule::Evaluate(const std::string& room, util::WallTime now,
                                               const core::Policy& policy) {
  std::vector<Step> out;
  core::Policy current = policy;
  for (Event& event : events_) {
    const EventSpec& spec = event.spec;
    if (spec.room != room) continue;
    auto decision = [&](std::string reason) {
      Decision d;
      d.at = now;
      d.room = room;
      d.source = DecisionSource::kSchedule;
      d.source_name = spec.name;
      d.before = current;
      d.reason = std::move(reason);
      return d;
    };
    const util::WallTime prequeue_at = spec.opens_at - spec.prequeue;
    if (!event.prequeue_done && spec.prequeue > util::Duration::zero() && now >= prequeue_at &&
        now < spec.opens_at) {
      event.prequeue_done = true;
      if (now - prequeue_at <= catch_up_) {
        Decision d = decision(
            "pre-queue: people may join and wait; the room opens in " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(spec.opens_at - now).count()) +
            "s");
        if (current.mode != core::Mode::kPause) d.change.mode = core::Mode::kPause;
        d.after = d.change.AppliedTo(d.before);
        current = d.after;
        out.push_back(Step{std::move(d), false, spec.name});
      }
    }
    if (!event.open_done && now >= spec.opens_at) {
      event.open_done = true;
      event.prequeue_done = true;
      if (now - spec.opens_at > catch_up_) continue;
      Decision d = decision(spec.shuffle ? "opening; people who came before it enter in the drawn "
                                           "order (commitment " +
                                               event.commitment + ")"
                                         : "opening");
      if (current.mode != spec.open_mode) d.change.mode = spec.open_mode;
      if (spec.open_max_active && *spec.open_max_active != current.max_active) {
        d.change.max_active = spec.open_max_active;
      }
      if (spec.open_admit_rate && *spec.open_admit_rate != current.admit_rate) {
        d.change.admit_rate = spec.open_admit_rate;
      }
      d.after = d.change.AppliedTo(d.before);
      current = d.after;
      out.push_back(Step{std::move(d), spec.shuffle, spec.name});
    }
  }
  return out;
}

std::vector<std::uint64_t> Schedule::Drawn(const std::string& name, std::uint64_t first,
                                           std::uint64_t last) {
  for (Event& event : events_) {
    if (event.spec.name != name || !event.spec.shuffle) continue;
    event.drawn = true;
    event.first = first;
    event.last = last;
    return Draw::Order(event.spec.seed, event.spec.room, first, last);
  }
  return {};
}

std::vector<Schedule::EventStatus> Schedule::Status() const {
  std::vector<EventStatus> out;
  for (const Event& event : events_) {
    EventStatus s;
    s.name = event.spec.name;
    s.room = event.spec.room;
    s.opens_at = event.spec.opens_at;
    s.phase = event.open_done ? "open" : event.prequeue_done ? "prequeue" : "scheduled";
    s.commitment = event.commitment;
    if (event.drawn) {
      s.seed_hex = ToHex(event.spec.seed);
      s.first_ticket = event.first;
      s.last_ticket = event.last;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace vwr::control
