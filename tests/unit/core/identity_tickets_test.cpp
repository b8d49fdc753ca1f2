#include "core/identity_tickets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/room.hpp"
#include "unit/core/event_recorder.hpp"
#include "util/base64.hpp"
#include "util/clock.hpp"
#include "util/siphash.hpp"

namespace vwr::core {
namespace {

using Held = IdentityTickets::Held;

// A pseudonym as a node makes them: the base64url text of 16 bytes (here a counter's).
std::string PseudonymOf(std::uint64_t n) {
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
  bytes[15] = 0xA5;
  return util::Base64UrlEncode(bytes);
}

TEST(IdentityTickets, AnIdentityIsFoundByItselfAndByItsTicket) {
  IdentityTickets held;
  const std::string pseudonym = PseudonymOf(7);
  ASSERT_EQ(pseudonym.size(), 22u);
  held.Hold(pseudonym, Held{12, 3});
  held.Hold("alice", Held{13, 4});

  ASSERT_TRUE(held.Find(pseudonym));
  EXPECT_EQ(held.Find(pseudonym)->ticket, 12u);
  EXPECT_EQ(held.Find(pseudonym)->frontier_at_join, 3u);
  EXPECT_EQ(held.Find("alice")->ticket, 13u);
  EXPECT_EQ(held.IdentityOf(12), pseudonym);
  EXPECT_EQ(held.IdentityOf(13), "alice");
  EXPECT_EQ(held.IdentityOf(14), "");
  EXPECT_FALSE(held.Find("bob"));
  EXPECT_FALSE(held.Find(PseudonymOf(8)));
  EXPECT_EQ(held.size(), 2u);
}

TEST(IdentityTickets, EveryTextComesBackExactlyAndNoTwoAreConfused) {
  IdentityTickets held;
  const std::string pseudonym = PseudonymOf(1);
  // The same 22 characters with unused bits set: not a pseudonym's one text, so kept whole.
  std::string almost = pseudonym;
  almost.back() = almost.back() == 'B' ? 'C' : 'B';
  ASSERT_FALSE(util::Base64UrlDecode(almost)) << "the test needs a non-canonical text";
  // The pseudonym's 16 bytes themselves, as a text.
  const std::string raw = *util::Base64UrlDecode(pseudonym);
  const std::vector<std::string> identities = {pseudonym,
                                               almost,
                                               raw,
                                               std::string(22, 'A'),
                                               std::string(256, 'x'),
                                               std::string("nul\0inside", 10),
                                               "AAAAAAAAAAAAAAAAAAAAA=",
                                               "e"};
  for (std::size_t i = 0; i < identities.size(); ++i) held.Hold(identities[i], Held{i + 1, i});
  ASSERT_EQ(held.size(), identities.size()) << "each text is its own identity";
  std::map<std::string, std::uint64_t> visited;
  held.ForEach([&](std::string_view identity, const Held& h) {
    visited.emplace(std::string(identity), h.ticket);
  });
  for (std::size_t i = 0; i < identities.size(); ++i) {
    EXPECT_EQ(held.Find(identities[i])->ticket, i + 1) << i;
    EXPECT_EQ(held.IdentityOf(i + 1), identities[i]) << i;
    EXPECT_EQ(visited[identities[i]], i + 1) << i;
  }
}

TEST(IdentityTickets, ANewTicketLetsTheOldOneGo) {
  IdentityTickets held;
  held.Hold("alice", Held{1, 0});
  held.Hold("alice", Held{5, 2});
  EXPECT_EQ(held.Find("alice")->ticket, 5u);
  EXPECT_EQ(held.Find("alice")->frontier_at_join, 2u);
  EXPECT_EQ(held.IdentityOf(1), "");
  EXPECT_FALSE(held.ForgetTicket(1)) << "the old ticket holds nobody";
  EXPECT_EQ(held.size(), 1u);
  EXPECT_TRUE(held.ForgetTicket(5));
  EXPECT_FALSE(held.Find("alice"));
  EXPECT_EQ(held.size(), 0u);
}

TEST(IdentityTickets, ATicketClaimedTwiceIsTheLaterIdentitysAsAMapOfTicketsWouldBe) {
  // Only a damaged record could say so; the answer is the one two overwritten maps gave.
  IdentityTickets held;
  held.Hold("first", Held{9, 0});
  held.Hold("second", Held{9, 1});
  EXPECT_EQ(held.IdentityOf(9), "second");
  EXPECT_EQ(held.Find("first")->ticket, 9u) << "found by identity still";
  EXPECT_TRUE(held.ForgetTicket(9));
  EXPECT_FALSE(held.Find("second"));
  EXPECT_EQ(held.Find("first")->ticket, 9u);
  EXPECT_FALSE(held.ForgetTicket(9));
  // Its next ticket is found both ways again.
  held.Hold("first", Held{10, 0});
  EXPECT_EQ(held.IdentityOf(10), "first");
  EXPECT_TRUE(held.ForgetTicket(10));
  EXPECT_EQ(held.size(), 0u);
}

TEST(IdentityTickets, ATicketTakenOverStaysSoAsTheTableGrows) {
  IdentityTickets held;
  held.Hold("first", Held{9, 0});
  held.Hold("second", Held{9, 1});
  // Growth rebuilds both indexes many times over.
  for (std::uint64_t n = 100; n < 20'000; ++n) held.Hold(PseudonymOf(n), Held{n, 0});
  EXPECT_EQ(held.IdentityOf(9), "second");
  EXPECT_EQ(held.Find("first")->ticket, 9u);
  // Once "first" holds a ticket of its own, every record is found by its ticket again, through
  // more growth and the shrinking that follows.
  held.Hold("first", Held{20'000, 0});
  for (std::uint64_t n = 20'001; n < 40'000; ++n) held.Hold(PseudonymOf(n), Held{n, 0});
  EXPECT_EQ(held.IdentityOf(9), "second");
  EXPECT_EQ(held.IdentityOf(20'000), "first");
  for (std::uint64_t n = 100; n < 40'000; ++n) {
    if (n != 20'000) {
      ASSERT_EQ(held.IdentityOf(n), PseudonymOf(n)) << n;
    }
  }
  for (std::uint64_t n = 100; n < 39'990; ++n) ASSERT_TRUE(held.ForgetTicket(n)) << n;
  EXPECT_EQ(held.size(), 11u);
  EXPECT_EQ(held.IdentityOf(9), "second");
  EXPECT_EQ(held.Find("second")->ticket, 9u);
  for (std::uint64_t n = 39'990; n < 40'000; ++n) {
    ASSERT_EQ(held.Find(PseudonymOf(n))->ticket, n);
  }
}

TEST(IdentityTickets, ManyIdentitiesGrowAndGiveBackTheTable) {
  constexpr std::uint64_t kCount = 300'000;
  IdentityTickets held;
  for (std::uint64_t n = 1; n <= kCount; ++n) held.Hold(PseudonymOf(n), Held{n, n / 2});
  ASSERT_EQ(held.size(), kCount);
  // 32 bytes a record, two indexes of 5-byte slots at 7/16 to 7/8 full (the vector of
  // records grows by doubling too).
  const double per_identity =
      static_cast<double>(held.AllocatedBytes()) / static_cast<double>(kCount);
  EXPECT_LE(per_identity, 56.0);
  std::cout << "allocated: " << per_identity << " bytes per identity\n";
  for (std::uint64_t n = 1; n <= kCount; n += 997) {
    ASSERT_EQ(held.Find(PseudonymOf(n))->ticket, n);
    ASSERT_EQ(held.IdentityOf(n), PseudonymOf(n));
  }
  // The line moves on: the first nine tenths are called and let go, in order.
  const std::size_t full = held.AllocatedBytes();
  for (std::uint64_t n = 1; n <= kCount / 10 * 9; ++n) ASSERT_TRUE(held.ForgetTicket(n)) << n;
  EXPECT_EQ(held.size(), kCount / 10);
  EXPECT_LT(held.AllocatedBytes(), full / 3) << "most of the table is given back";
  for (std::uint64_t n = 1; n <= kCount; n += 991) {
    const bool kept = n > kCount / 10 * 9;
    EXPECT_EQ(held.Find(PseudonymOf(n)).has_value(), kept) << n;
    EXPECT_EQ(held.IdentityOf(n), kept ? PseudonymOf(n) : "") << n;
  }
  for (std::uint64_t n = kCount / 10 * 9 + 1; n <= kCount; ++n) ASSERT_TRUE(held.ForgetTicket(n));
  EXPECT_EQ(held.size(), 0u);
  EXPECT_EQ(held.AllocatedBytes(), 0u);
}

TEST(IdentityTickets, RemovalsDoNotWearOutTheTable) {
  // A line of a thousand that keeps moving: each join lets the oldest go. Removal markers must
  // not pile up (every probe would walk them) nor make the table grow.
  IdentityTickets held(util::SipHashKey{1, 2});
  constexpr std::uint64_t kLive = 1000;
  std::size_t settled = 0;  // once the line has turned over twice
  std::size_t largest = 0;
  for (std::uint64_t n = 1; n <= 200'000; ++n) {
    held.Hold("user-" + std::to_string(n), Held{n, 0});
    if (n > kLive) {
      ASSERT_TRUE(held.ForgetTicket(n - kLive));
    }
    if (n == 2 * kLive) settled = held.AllocatedBytes();
    largest = std::max(largest, held.AllocatedBytes());
  }
  EXPECT_EQ(held.size(), kLive);
  for (std::uint64_t n = 200'000 - kLive + 1; n <= 200'000; ++n) {
    ASSERT_EQ(held.Find("user-" + std::to_string(n))->ticket, n);
  }
  EXPECT_FALSE(held.Find("user-1"));
  EXPECT_LE(largest, settled * 2) << "the table stays the size of the live line";
  EXPECT_LE(held.LongestProbe(), 64u);
}

// Identities whose hash under `key` lands on home slot 0 of a table of `slots` slots.
std::vector<std::string> SharingAHomeSlot(const util::SipHashKey& key, std::size_t count,
                                          std::size_t slots) {
  std::vector<std::string> found;
  for (std::uint64_t n = 0; found.size() < count; ++n) {
    std::string identity = "attacker-" + std::to_string(n);
    if ((util::SipHash24(key, identity) & (slots - 1)) == 0) found.push_back(std::move(identity));
  }
  return found;
}

TEST(IdentityTickets, IdentitiesChosenToCollideAreKeptApart) {
  // Someone who knew the key could make every identity probe the same slots: slower, but never
  // confused, since every lookup compares the whole identity.
  const util::SipHashKey known{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  const std::vector<std::string> colliding = SharingAHomeSlot(known, 500, 1024);
  IdentityTickets held(known);
  for (std::size_t i = 0; i < colliding.size(); ++i) held.Hold(colliding[i], Held{i + 1, 0});
  EXPECT_GE(held.LongestProbe(), colliding.size()) << "they do collide under the known key";
  for (std::size_t i = 0; i < colliding.size(); ++i) {
    ASSERT_EQ(held.Find(colliding[i])->ticket, i + 1);
    ASSERT_EQ(held.IdentityOf(i + 1), colliding[i]);
  }
  // Let every other one go: the rest are still found past the holes.
  for (std::size_t i = 0; i < colliding.size(); i += 2) ASSERT_TRUE(held.ForgetTicket(i + 1));
  for (std::size_t i = 0; i < colliding.size(); ++i) {
    EXPECT_EQ(held.Find(colliding[i]).has_value(), i % 2 == 1) << i;
  }
}

TEST(IdentityTickets, WithoutTheKeyChosenIdentitiesSpreadOut) {
  // The same attack against a table keyed at random (as every room's is): the identities that
  // collide under a key the attacker picked spread like any others.
  const util::SipHashKey guessed{0, 0};
  const std::vector<std::string> colliding = SharingAHomeSlot(guessed, 500, 1024);
  IdentityTickets held;
  for (std::size_t i = 0; i < colliding.size(); ++i) held.Hold(colliding[i], Held{i + 1, 0});
  EXPECT_LE(held.LongestProbe(), 64u);
}

TEST(IdentityTickets, ClearForgetsEveryone) {
  IdentityTickets held;
  for (std::uint64_t n = 1; n <= 100; ++n) held.Hold(PseudonymOf(n), Held{n, 0});
  held.Hold("alice", Held{101, 0});
  held.Clear();
  EXPECT_EQ(held.size(), 0u);
  EXPECT_FALSE(held.Find(PseudonymOf(1)));
  EXPECT_FALSE(held.Find("alice"));
  EXPECT_EQ(held.IdentityOf(101), "");
  held.Hold("alice", Held{102, 0});
  EXPECT_EQ(held.IdentityOf(102), "alice");
}

TEST(IdentityTickets, ReserveKeepsWhatIsHeld) {
  IdentityTickets held;
  for (std::uint64_t n = 1; n <= 1000; ++n) held.Hold(PseudonymOf(n), Held{n, 0});
  held.Reserve(100'000);
  for (std::uint64_t n = 1; n <= 1000; ++n) ASSERT_EQ(held.Find(PseudonymOf(n))->ticket, n);
  for (std::uint64_t n = 1001; n <= 100'000; ++n) held.Hold(PseudonymOf(n), Held{n, 0});
  EXPECT_EQ(held.IdentityOf(100'000), PseudonymOf(100'000));
}

// The room: what identities hold survives a snapshot and a replay of the events, byte for byte.
using test_support::Recorder;

Policy KeepsEveryoneWaiting() {
  Policy p;
  p.max_active = 1;
  p.admit_rate = 0.001;
  p.burst = 1;
  return p;
}

TEST(IdentityTickets, ARestoredRoomKnowsEveryIdentityAgain) {
  util::FakeClock clock;
  Recorder journal;
  Room live("r", KeepsEveryoneWaiting(), 1, clock.Now());
  live.SetEventSink(&journal);
  std::vector<std::string> identities;
  for (std::uint64_t n = 1; n <= 2000; ++n) {
    identities.push_back(n % 3 == 0 ? "user-" + std::to_string(n) : PseudonymOf(n));
  }
  std::map<std::string, std::uint64_t> tickets;
  for (const std::string& identity : identities) {
    tickets[identity] = live.Join(identity, Instant::From(clock)).ticket;
  }
  // Some leave the line: they hold nothing after a restart either.
  for (std::size_t i = 0; i < identities.size(); i += 5) {
    ASSERT_TRUE(live.LeaveIdentity(identities[i], Instant::From(clock)));
  }
  Recorder snapshot;
  live.Snapshot(snapshot, Instant::From(clock));

  for (const std::vector<RoomEvent>* events : {&journal.events, &snapshot.events}) {
    Room restored("r", KeepsEveryoneWaiting(), 1, clock.Now());
    for (const RoomEvent& e : *events) restored.Apply(e, Instant::From(clock));
    for (std::size_t i = 0; i < identities.size(); ++i) {
      const TicketOutcome again = restored.Join(identities[i], Instant::From(clock));
      if (i % 5 == 0) {
        EXPECT_GT(again.ticket, live.last_issued()) << "a new place for " << identities[i];
      } else {
        EXPECT_EQ(again.status, TicketStatus::kWaiting);
        EXPECT_EQ(again.ticket, tickets[identities[i]]) << identities[i];
        EXPECT_EQ(again.frontier_at_join, 1u) << "the first join took the only slot";
      }
    }
  }
}

}  // namespace
}  // namespace vwr::core
