// How honest the estimated wait is, measured on simulated bursts (core::WaitModel).
//
// A burst of 300 people joins a room on a fake clock within 2 s. The room ticks every 100 ms as
// the server does; every waiting person polls at the pollAfterMs the room gives them
// (core::PollAfterMs) and claims at the first poll after being called; every answer's estimate
// and range is recorded; admitted people hold their session for a drawn length and leave; a few
// never come back once in line (no-shows: their call holds a slot for claim_grace). Afterwards
// each record is compared with when its person was really let in: the real remaining wait.
//
// Each scenario runs eight bursts (different seeds) twice: with the room's own model, as the
// embedded store answers, and with a model fed only the room's figures half a tick later, as a
// node of the Redis store answers. The old estimate (position / EWMA of the frontier's advance)
// is run too, for comparison. Everything is deterministic: the figures are a behaviour of the
// model, not a timing. The table it prints is the one in docs/benchmarks.md ("ETA accuracy").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "core/pacing.hpp"
#include "core/room.hpp"
#include "core/wait_model.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// splitmix64: the same numbers on every platform (the standard distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  double Uniform() {  // [0, 1)
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }

 private:
  std::uint64_t state_;
};

enum class Length { kFixed, kUniform, kExponential };

// Where the answers' estimates come from.
enum class Source {
  kRoom,         // the room's own model (the embedded store)
  kFigures,      // a model fed only the room's figures, half a tick later (a Redis store node)
  kAdvanceRate,  // position / EWMA of the frontier's advance (the estimate the model replaced)
};

struct Scenario {
  const char* name = "";
  Policy policy;
  Length length = Length::kFixed;
  double length_a = 5.0;            // fixed: the length; uniform: from; exponential: the mean
  double length_b = 5.0;            // uniform: to
  double no_show_share = 0.02;      // never poll again after joining
  double withdraw_share = 0.0;      // give their place back while waiting
  std::optional<double> change_at;  // seconds: the policy becomes `changed`
  Policy changed;
  // The goals asserted: the median relative error at most this, the range holding at least 80 %.
  double max_median_error = 0.10;
};

struct Record {
  int person;
  double at;
  WaitEstimate wait;
};

struct Figures {
  std::size_t polls = 0;  // counted: the person was let in 5 s or more later
  double median_error = 0;
  double p90_error = 0;
  double in_range = 0;
  double median_width = 0;  // (high - low) / real wait
};

constexpr int kPeople = 300;
constexpr double kArrivalSeconds = 2.0;
constexpr int kBursts = 8;

Policy BurstPolicy() {
  Policy p;
  p.max_active = 20;
  p.admit_rate = 50;
  p.burst = 10;
  p.session_timeout = seconds(60);
  p.claim_grace = seconds(20);
  return p;
}

// One burst, start to end: what the waiting people were told (`records`) and when each was let
// in (`admitted_at`, seconds; negative: never, or gave the place back).
void RunBurst(const Scenario& s, Source source, std::uint64_t seed, std::vector<Record>& records,
              std::vector<double>& admitted_at) {
  Rng rng(seed);
  util::FakeClock clock;
  const util::TimePoint start = clock.Now();
  Room room("sim", s.policy, 1, start);
  WaitModel node(s.policy, start);
  Policy policy = s.policy;

  enum Kind { kTick, kNodeTick, kJoin, kPoll, kLeave, kWithdraw, kPolicy };
  struct Event {
    std::int64_t at_ms;
    std::uint64_t seq;
    Kind kind;
    int person;
    bool operator>(const Event& o) const {
      return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq;
    }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  std::uint64_t seq = 0;
  auto plan = [&](std::int64_t at_ms, Kind kind, int person = -1) {
    events.push(Event{at_ms, seq++, kind, person});
  };
  auto now_ms = [&] { return util::ToMillis(clock.Now() - start); };

  struct Person {
    std::uint64_t ticket = 0;
    bool no_show = false;
    bool withdraws = false;
    bool gone = false;  // let in, or out of the line
    double length = 0;
  };
  std::vector<Person> people(kPeople);
  admitted_at.assign(kPeople, -1.0);
  for (int i = 0; i < kPeople; ++i) {
    Person& p = people[static_cast<std::size_t>(i)];
    p.no_show = rng.Uniform() < s.no_show_share;
    p.withdraws = !p.no_show && rng.Uniform() < s.withdraw_share;
    const double u = rng.Uniform();
    switch (s.length) {
      case Length::kFixed:
        p.length = s.length_a;
        break;
      case Length::kUniform:
        p.length = s.length_a + u * (s.length_b - s.length_a);
        break;
      case Length::kExponential:
        p.length = -s.length_a * std::log(1.0 - u);
        break;
    }
    plan(static_cast<std::int64_t>(1000.0 * kArrivalSeconds * i / kPeople), kJoin, i);
  }
  if (s.change_at) plan(static_cast<std::int64_t>(*s.change_at * 1000), kPolicy);
  plan(100, kTick);
  plan(150, kNodeTick);

  auto estimate = [&](std::uint64_t position) -> std::optional<WaitEstimate> {
    switch (source) {
      case Source::kRoom:
        return room.EstimateWait(position);
      case Source::kFigures:
        return node.Estimate(position, policy.mode);
      case Source::kAdvanceRate:
        if (auto eta = EstimateWaitSeconds(position, room.advance_rate(), policy.mode)) {
          return WaitEstimate{*eta, *eta, *eta};
        }
        return std::nullopt;
    }
    return std::nullopt;
  };
  // A waiting answer: recorded, and the next poll planned as the client plans it.
  auto waiting = [&](int i) {
    Person& p = people[static_cast<std::size_t>(i)];
    const std::optional<WaitEstimate> wait = estimate(p.ticket - room.frontier());
    if (wait) records.push_back(Record{i, util::ToSeconds(clock.Now() - start), *wait});
    if (p.no_show) return;
    const std::optional<std::int64_t> eta = wait ? std::optional(wait->eta_seconds) : std::nullopt;
    plan(now_ms() + PollAfterMs(eta, policy, rng.Uniform()), kPoll, i);
  };
  auto admitted = [&](int i) {
    Person& p = people[static_cast<std::size_t>(i)];
    admitted_at[static_cast<std::size_t>(i)] = util::ToSeconds(clock.Now() - start);
    p.gone = true;
    plan(now_ms() + static_cast<std::int64_t>(p.length * 1000), kLeave, i);
  };
  auto settled = [&] {
    return std::all_of(people.begin(), people.end(),
                       [](const Person& p) { return p.gone || p.no_show; });
  };

  while (!events.empty()) {
    const Event e = events.top();
    events.pop();
    clock.Advance(milliseconds(e.at_ms - now_ms()));
    const Instant now = Instant::From(clock);
    Person* p = e.person >= 0 ? &people[static_cast<std::size_t>(e.person)] : nullptr;
    switch (e.kind) {
      case kTick:
        room.Tick(now);
        if (!settled() || room.active() > 0 || room.waiting() > 0) plan(e.at_ms + 100, kTick);
        break;
      case kNodeTick:
        node.Observe(now.mono, policy, room.Shape());
        if (!settled()) plan(e.at_ms + 100, kNodeTick);
        break;
      case kJoin: {
        const TicketOutcome out = room.Join("", now);
        p->ticket = out.ticket;
        if (out.status == TicketStatus::kAdmitted) {
          admitted(e.person);
        } else {
          waiting(e.person);
          if (p->withdraws) {
            plan(e.at_ms + 1000 + static_cast<std::int64_t>(rng.Uniform() * 30'000), kWithdraw,
                 e.person);
          }
        }
        break;
      }
      case kPoll: {
        if (p->gone) break;
        const TicketOutcome out = room.Poll(p->ticket, now);
        if (out.status == TicketStatus::kWaiting) {
          waiting(e.person);
        } else if (out.status == TicketStatus::kAdmitted) {
          admitted(e.person);
        } else {
          p->gone = true;
        }
        break;
      }
      case kLeave:
        room.Leave(p->ticket, now);
        break;
      case kWithdraw:
        if (!p->gone && room.Withdraw(p->ticket)) {
          p->gone = true;
          admitted_at[static_cast<std::size_t>(e.person)] = -1.0;
        }
        break;
      case kPolicy:
        policy = s.changed;
        room.SetPolicy(policy);
        break;
    }
  }
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

Figures Measure(const Scenario& s, Source source, int bursts) {
  std::vector<double> errors, widths;
  std::size_t in_range = 0;
  for (int b = 0; b < bursts; ++b) {
    std::vector<Record> records;
    std::vector<double> admitted_at;
    RunBurst(s, source, 0x5eed0000ULL + static_cast<std::uint64_t>(b), records, admitted_at);
    for (const Record& r : records) {
      const double in = admitted_at[static_cast<std::size_t>(r.person)];
      if (in < 0) continue;  // never let in: a no-show, or the place was given back
      const double real = in - r.at;
      if (real < 5.0) continue;
      // An operator's change cannot be foreseen: what counts is what is said once it is made.
      if (s.change_at && r.at < *s.change_at) continue;
      errors.push_back(std::abs(static_cast<double>(r.wait.eta_seconds) - real) / real);
      widths.push_back(static_cast<double>(r.wait.high_seconds - r.wait.low_seconds) / real);
      if (static_cast<double>(r.wait.low_seconds) <= real &&
          real <= static_cast<double>(r.wait.high_seconds)) {
        ++in_range;
      }
    }
  }
  Figures f;
  f.polls = errors.size();
  f.median_error = Quantile(errors, 0.5);
  f.p90_error = Quantile(errors, 0.9);
  f.in_range = f.polls == 0 ? 0 : static_cast<double>(in_range) / static_cast<double>(f.polls);
  f.median_width = Quantile(widths, 0.5);
  return f;
}

void Print(const Scenario& s, const char* source, const Figures& f) {
  std::printf("| %-36s | %-8s | %6zu | %5.1f %% | %5.1f %% | %5.1f %% | %4.2f |\n", s.name, source,
              f.polls, 100 * f.median_error, 100 * f.p90_error, 100 * f.in_range, f.median_width);
}

Scenario Fixed(const char* name) {
  Scenario s;
  s.name = name;
  s.policy = BurstPolicy();
  return s;
}

Scenario Uniform(const char* name) {
  Scenario s = Fixed(name);
  s.length = Length::kUniform;
  s.length_a = 2;
  s.length_b = 8;
  return s;
}

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> out;
  out.push_back(Fixed("max_active binds, sessions 5 s"));
  out.push_back(Uniform("max_active binds, sessions 2-8 s"));
  {
    // Memoryless sessions: the randomness of the ends themselves is larger (an estimate that
    // knew the true mean holding would still be off by a median 8-9 % here), and the mean is
    // learned from the ends seen so far, +-1/sqrt(ends): about 14 %.
    Scenario s = Fixed("max_active binds, sessions exp. 5 s");
    s.length = Length::kExponential;
    s.max_median_error = 0.15;
    out.push_back(s);
  }
  {
    Scenario s = Uniform("admit_rate binds (4/s)");
    s.policy.max_active = 1000;
    s.policy.admit_rate = 4;
    out.push_back(s);
  }
  {
    // Slots free at about 3.4/s on average, the budget allows 4/s: now one binds, now the other.
    Scenario s = Fixed("both bind (4/s; 20 slots, exp. 5 s)");
    s.policy.admit_rate = 4;
    s.length = Length::kExponential;
    s.max_median_error = 0.15;
    out.push_back(s);
  }
  {
    Scenario s = Uniform("max_active 20 -> 40 at 30 s");
    s.change_at = 30;
    s.changed = s.policy;
    s.changed.max_active = 40;
    out.push_back(s);
  }
  {
    Scenario s = Uniform("max_active 20 -> 10 at 20 s");
    s.change_at = 20;
    s.changed = s.policy;
    s.changed.max_active = 10;
    out.push_back(s);
  }
  {
    Scenario s = Uniform("10 % no-shows, 10 % give places back");
    s.no_show_share = 0.10;
    s.withdraw_share = 0.10;
    s.policy.claim_grace = seconds(10);
    out.push_back(s);
  }
  return out;
}

class WaitSimulation : public ::testing::TestWithParam<Scenario> {};

TEST_P(WaitSimulation, EstimateWithinGoalAndRangeHoldsEightInTen) {
  const Scenario& s = GetParam();
  const Figures room = Measure(s, Source::kRoom, kBursts);
  const Figures node = Measure(s, Source::kFigures, kBursts);
  const Figures before = Measure(s, Source::kAdvanceRate, 2);
  std::printf(
      "| scenario                             | source   |  polls | median  |   p90   | in range"
      " | width|\n");
  Print(s, "room", room);
  Print(s, "figures", node);
  Print(s, "EWMA", before);
  for (const Figures* f : {&room, &node}) {
    EXPECT_GT(f->polls, 5'000u);
    EXPECT_LE(f->median_error, s.max_median_error);
    EXPECT_GE(f->in_range, 0.80);
  }
}

INSTANTIATE_TEST_SUITE_P(Bursts, WaitSimulation, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& param) {
                           return "Scenario" + std::to_string(param.index);
                         });

}  // namespace
}  // namespace vwr::core
