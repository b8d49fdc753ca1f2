#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "core/room.hpp"
#include "unit/core/event_recorder.hpp"
#include "util/clock.hpp"

namespace vwr::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using test_support::Recorder;

Policy TestPolicy() {
  Policy p;
  p.max_active = 20;
  p.admit_rate = 15;
  p.burst = 3;
  p.session_timeout = seconds(8);
  p.claim_grace = seconds(3);
  return p;
}

// Everything about a room that must survive a restart.
struct Digest {
  std::uint64_t frontier, last_issued, waiting;
  std::int64_t active, called_unclaimed;
  std::uint64_t joins, admissions, immediate, bypass, bypass_issued, no_shows, expired_sessions,
      leaves, withdrawn, departed;
  std::set<std::tuple<std::uint64_t, std::string, std::int64_t>> sessions;
  Policy policy;
  SessionLengths session_lengths;
  bool operator==(const Digest&) const = default;
};

Digest DigestOf(const Room& room) {
  Digest d{room.frontier(),
           room.last_issued(),
           room.waiting(),
           room.active(),
           room.called_unclaimed(),
           room.counters().joins,
           room.counters().admissions,
           room.counters().immediate,
           room.counters().bypass,
           room.bypass_issued(),
           room.counters().no_shows,
           room.counters().expired_sessions,
           room.counters().leaves,
           room.counters().withdrawn,
           room.departed(),
           {},
           room.policy(),
           room.counters().session_lengths};
  for (std::uint64_t t = 1; t <= room.last_issued(); ++t) {
    if (const Session* s = room.FindSession(t)) {
      d.sessions.emplace(t, s->identity, s->admitted_unix_ms);
    }
  }
  for (std::uint64_t n = 1; n <= room.bypass_issued(); ++n) {
    if (const Session* s = room.FindSession(kBypassTicketBase + n)) {
      d.sessions.emplace(kBypassTicketBase + n, s->identity, s->admitted_unix_ms);
    }
  }
  return d;
}

// A busy, random life: joins with and without userIds, claims, heartbeats, leaves, no-shows,
// idle expiry, admissions without a place in line and an operator's policy change.
void Live(Room& room, util::FakeClock& clock, unsigned seed) {
  std::mt19937 rng(seed);
  std::mt19937 bypass_rng(seed + 1000);  // apart, so that the line's life is drawn as before
  std::mt19937 withdraw_rng(seed + 2000);
  std::vector<std::uint64_t> tickets;
  for (int step = 0; step < 400; ++step) {
    clock.Advance(milliseconds(100));
    room.Tick(Instant::From(clock));
    const int joins = static_cast<int>(rng() % 4);
    for (int j = 0; j < joins; ++j) {
      const std::string id = rng() % 2 ? "user-" + std::to_string(rng() % 50) : "";
      TicketOutcome out = room.Join(id, Instant::From(clock));
      if (out.ticket) tickets.push_back(out.ticket);
    }
    if (withdraw_rng() % 7 == 0 && !tickets.empty()) {
      room.Withdraw(tickets[withdraw_rng() % tickets.size()]);
    }
    if (bypass_rng() % 25 == 0) {
      const std::string id = bypass_rng() % 2 ? "vip-" + std::to_string(bypass_rng() % 50) : "";
      tickets.push_back(room.Admit(id, Instant::From(clock)).ticket);
    }
    for (int k = 0; k < 6 && !tickets.empty(); ++k) {
      const std::uint64_t t = tickets[rng() % tickets.size()];
      switch (rng() % 4) {
        case 0:
        case 1:
          room.Poll(t, Instant::From(clock));
          break;
        case 2:
          room.Heartbeat(t, Instant::From(clock));
          break;
        default:
          if (rng() % 3 == 0) room.Leave(t, Instant::From(clock));
      }
    }
    if (step == 200) {
      Policy p = room.policy();
      p.max_active = 12;
      room.SetPolicy(p);
    }
  }
}

TEST(RoomEvents, ReplayingTheEventsRebuildsTheState) {
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    util::FakeClock clock;
    Recorder recorder;
    Room live("r", TestPolicy(), 9, clock.Now());
    live.SetEventSink(&recorder);
    Live(live, clock, seed);
    ASSERT_GT(live.counters().no_shows, 0u) << "the scenario exercises no-shows";
    ASSERT_GT(live.counters().expired_sessions, 0u) << "and idle expiry";
    ASSERT_GT(live.counters().bypass, 0u) << "and admissions without a place in line";
    ASSERT_GT(live.counters().withdrawn, 0u) << "and places given back";
    ASSERT_EQ(live.counters().session_lengths.count(),
              live.counters().expired_sessions + live.counters().leaves)
        << "every session that ended was measured";

    Room restored("r", TestPolicy(), 9, clock.Now());
    for (const RoomEvent& e : recorder.events) restored.Apply(e, Instant::From(clock));
    EXPECT_EQ(DigestOf(restored), DigestOf(live)) << "seed " << seed;
  }
}

TEST(RoomEvents, SnapshotRebuildsTheState) {
  util::FakeClock clock;
  Room live("r", TestPolicy(), 9, clock.Now());
  Live(live, clock, 7);
  Recorder snapshot;
  live.Snapshot(snapshot, Instant::From(clock));
  ASSERT_TRUE(std::holds_alternative<RoomCheckpoint>(snapshot.events.front()));

  Room restored("r", TestPolicy(), 9, clock.Now());
  restored.Join("someone", Instant::From(clock));  // a snapshot replaces whatever was there
  for (const RoomEvent& e : snapshot.events) restored.Apply(e, Instant::From(clock));
  EXPECT_EQ(DigestOf(restored), DigestOf(live));

  // And both go on identically: the same next ticket, the same identities, the same calls.
  for (Room* room : {&live, &restored}) {
    clock.Advance(milliseconds(100));
    room->Tick(Instant::From(clock));
  }
  EXPECT_EQ(live.Join("", Instant::From(clock)).ticket,
            restored.Join("", Instant::From(clock)).ticket);
  ASSERT_GT(live.bypass_issued(), 0u);
  EXPECT_EQ(live.Admit("", Instant::From(clock)).ticket,
            restored.Admit("", Instant::From(clock)).ticket)
      << "no bypass number is issued twice";
  for (int u = 0; u < 50; ++u) {
    const std::string id = "user-" + std::to_string(u);
    EXPECT_EQ(live.Join(id, Instant::From(clock)).ticket,
              restored.Join(id, Instant::From(clock)).ticket)
        << id;
  }
  // The live bypass session of each identity is known again: a second Admit is answered with
  // it on both, and a new one only where none lives.
  for (int u = 0; u < 50; ++u) {
    const std::string id = "vip-" + std::to_string(u);
    EXPECT_EQ(live.Admit(id, Instant::From(clock)).ticket,
              restored.Admit(id, Instant::From(clock)).ticket)
        << id;
  }
}

TEST(RoomEvents, SnapshotThenLaterEventsRebuildTheState) {
  util::FakeClock clock;
  Recorder recorder;
  Room live("r", TestPolicy(), 9, clock.Now());
  Live(live, clock, 11);
  live.Snapshot(recorder, Instant::From(clock));
  live.SetEventSink(&recorder);
  Live(live, clock, 12);

  Room restored("r", TestPolicy(), 9, clock.Now());
  for (const RoomEvent& e : recorder.events) restored.Apply(e, Instant::From(clock));
  EXPECT_EQ(DigestOf(restored), DigestOf(live));
}

TEST(RoomEvents, SessionIdleThroughTheDowntimeExpiresOnTheFirstTick) {
  util::FakeClock clock;
  Recorder recorder;
  Policy p = TestPolicy();
  Room live("r", p, 9, clock.Now());
  live.SetEventSink(&recorder);
  const std::uint64_t idle = live.Join("", Instant::From(clock)).ticket;
  const std::uint64_t busy = live.Join("", Instant::From(clock)).ticket;
  clock.Advance(seconds(5));
  ASSERT_TRUE(live.Heartbeat(busy, Instant::From(clock)));

  clock.Advance(seconds(4));  // down for 4 s: `idle` is now 9 s idle, `busy` 4 s
  Room restored("r", p, 9, clock.Now());
  for (const RoomEvent& e : recorder.events) restored.Apply(e, Instant::From(clock));
  ASSERT_NE(restored.FindSession(idle), nullptr);
  restored.Tick(Instant::From(clock));
  EXPECT_EQ(restored.FindSession(idle), nullptr);
  EXPECT_NE(restored.FindSession(busy), nullptr);
}

TEST(RoomEvents, HeartbeatsAreReportedAtMostOncePerTenthOfTheTimeout) {
  util::FakeClock clock;
  Recorder recorder;
  Room live("r", TestPolicy(), 9, clock.Now());  // timeout 8 s: report every 1 s at most
  const std::uint64_t t = live.Join("", Instant::From(clock)).ticket;
  live.SetEventSink(&recorder);
  for (int i = 0; i < 50; ++i) {
    clock.Advance(milliseconds(100));
    live.Heartbeat(t, Instant::From(clock));
  }
  EXPECT_EQ(recorder.events.size(), 5u);
}

TEST(RoomEvents, OperatorPolicySurvivesUnlessTheFileChanged) {
  util::FakeClock clock;
  Recorder recorder;
  Room live("r", TestPolicy(), 9, clock.Now());
  live.SetEventSink(&recorder);
  Policy changed = TestPolicy();
  changed.admit_rate = 99;
  live.SetPolicy(changed);

  Room same_file("r", TestPolicy(), 9, clock.Now());
  for (const RoomEvent& e : recorder.events) same_file.Apply(e, Instant::From(clock));
  EXPECT_DOUBLE_EQ(same_file.policy().admit_rate, 99);

  Policy edited = TestPolicy();
  edited.admit_rate = 5;
  Room new_file("r", edited, 9, clock.Now());
  for (const RoomEvent& e : recorder.events) new_file.Apply(e, Instant::From(clock));
  EXPECT_DOUBLE_EQ(new_file.policy().admit_rate, 5);
}

TEST(RoomEvents, ReloadKeepsTheOperatorPolicyWhileTheFileIsUnchanged) {
  util::FakeClock clock;
  Room room("r", TestPolicy(), 9, clock.Now());
  Policy operator_policy = TestPolicy();
  operator_policy.admit_rate = 99;
  room.SetPolicy(operator_policy);

  EXPECT_FALSE(room.Reconfigure(TestPolicy()));
  EXPECT_DOUBLE_EQ(room.policy().admit_rate, 99);

  Policy edited = TestPolicy();
  edited.admit_rate = 5;
  EXPECT_TRUE(room.Reconfigure(edited));
  EXPECT_DOUBLE_EQ(room.policy().admit_rate, 5);
  // The same file again changes nothing.
  EXPECT_FALSE(room.Reconfigure(edited));
}

TEST(RoomEvents, OperatorChangeAfterAReloadSurvivesARestartWithThatFile) {
  util::FakeClock clock;
  Recorder recorder;
  Room live("r", TestPolicy(), 9, clock.Now());
  live.SetEventSink(&recorder);
  Policy before_reload = TestPolicy();
  before_reload.admit_rate = 99;
  live.SetPolicy(before_reload);
  Policy edited = TestPolicy();
  edited.admit_rate = 5;
  live.Reconfigure(edited);
  Policy after_reload = edited;
  after_reload.max_active = 7;
  live.SetPolicy(after_reload);

  Room restarted("r", edited, 9, clock.Now());
  for (const RoomEvent& e : recorder.events) restarted.Apply(e, Instant::From(clock));
  EXPECT_EQ(restarted.policy(), after_reload);
  EXPECT_EQ(restarted.policy(), live.policy());
}

TEST(RoomEvents, ABypassSessionAndTheRangeSurviveReplayAndSnapshot) {
  util::FakeClock clock;
  Recorder recorder;
  Room live("r", TestPolicy(), 9, clock.Now());
  live.SetEventSink(&recorder);
  const std::uint64_t kept = live.Admit("vip", Instant::From(clock)).ticket;
  const std::uint64_t left = live.Admit("", Instant::From(clock)).ticket;
  ASSERT_TRUE(live.Leave(left, Instant::From(clock)));

  Room replayed("r", TestPolicy(), 9, clock.Now());
  for (const RoomEvent& e : recorder.events) replayed.Apply(e, Instant::From(clock));
  Recorder snapshot;
  live.Snapshot(snapshot, Instant::From(clock));
  Room from_snapshot("r", TestPolicy(), 9, clock.Now());
  for (const RoomEvent& e : snapshot.events) from_snapshot.Apply(e, Instant::From(clock));

  for (Room* room : {&replayed, &from_snapshot}) {
    EXPECT_EQ(DigestOf(*room), DigestOf(live));
    const Session* s = room->FindSession(kept);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->identity, "vip");
    EXPECT_EQ(room->FindSession(left), nullptr);
    EXPECT_EQ(room->counters().bypass, 2u);
    EXPECT_EQ(room->Admit("", Instant::From(clock)).ticket, kBypassTicketBase + 3);
  }
  // Replaying an admission the snapshot already holds changes nothing.
  from_snapshot.Apply(recorder.events.front(), Instant::From(clock));
  EXPECT_EQ(from_snapshot.counters().bypass, 3u);
}

TEST(RoomEvents, ASnapshotWithoutBypassHasNoBypassRecord) {
  util::FakeClock clock;
  Room live("r", TestPolicy(), 9, clock.Now());
  live.Join("", Instant::From(clock));
  Recorder snapshot;
  live.Snapshot(snapshot, Instant::From(clock));
  for (const RoomEvent& e : snapshot.events) {
    EXPECT_FALSE(std::holds_alternative<BypassCheckpoint>(e))
        << "a room that never admitted that way writes its snapshot as before";
  }
}

TEST(RoomEvents, ApplyReportsNothing) {
  util::FakeClock clock;
  Recorder first;
  Room live("r", TestPolicy(), 9, clock.Now());
  live.SetEventSink(&first);
  live.Join("a", Instant::From(clock));
  Recorder second;
  Room restored("r", TestPolicy(), 9, clock.Now());
  restored.SetEventSink(&second);
  for (const RoomEvent& e : first.events) restored.Apply(e, Instant::From(clock));
  EXPECT_TRUE(second.events.empty());
}

}  // namespace
}  // namespace vwr::core
