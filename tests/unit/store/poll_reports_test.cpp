// PollReports: what a Redis node reports with its tick of the polls it answered from its cache.
#include "store/poll_reports.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace vwr::store {
namespace {

using std::chrono::milliseconds;

const util::TimePoint kNow{std::chrono::hours(1)};

// The reports of one Take as ticket -> ms until due, checking each ticket comes once.
std::map<std::uint64_t, std::int64_t> Taken(PollReports& reports, std::size_t most = 1 << 30,
                                            util::TimePoint now = kNow) {
  std::vector<std::string> args;
  reports.Take(now, most, args);
  EXPECT_EQ(args.size() % 2, 0u);
  std::map<std::uint64_t, std::int64_t> out;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const bool fresh = out.emplace(std::stoull(args[i]), std::stoll(args[i + 1])).second;
    EXPECT_TRUE(fresh) << "ticket " << args[i] << " reported twice";
  }
  return out;
}

TEST(PollReports, SeveralPollsOfATicketAreOneReportDueAtTheLatest) {
  PollReports reports;
  reports.Note(7, kNow + milliseconds(3000));
  reports.Note(7, kNow + milliseconds(9000));
  reports.Note(7, kNow + milliseconds(5000));  // an earlier due never shortens it
  reports.Note(8, kNow - milliseconds(100));   // overdue already: reported as 0
  EXPECT_EQ(reports.pending(), 2u);
  const auto taken = Taken(reports);
  EXPECT_EQ(taken, (std::map<std::uint64_t, std::int64_t>{{7, 9000}, {8, 0}}));
  EXPECT_EQ(reports.pending(), 0u);
  EXPECT_TRUE(Taken(reports).empty()) << "a report is taken once";
}

TEST(PollReports, TicketZeroAndLargeNumbersAreReportedLikeAnyOther) {
  PollReports reports;
  reports.Note(0, kNow + milliseconds(10));
  reports.Note(UINT64_MAX - 1, kNow + milliseconds(20));
  reports.Note(UINT64_MAX, kNow + milliseconds(30));  // no ticket has this number: ignored
  EXPECT_EQ(Taken(reports), (std::map<std::uint64_t, std::int64_t>{{0, 10}, {UINT64_MAX - 1, 20}}));
}

TEST(PollReports, AHundredThousandTicketsGrowTheTablesAndComeBackExactly) {
  PollReports reports;
  constexpr std::uint64_t kTickets = 100000;
  for (int round = 0; round < 3; ++round) {  // tables kept from tick to tick
    for (std::uint64_t t = 1; t <= kTickets; ++t) {
      reports.Note(t, kNow + milliseconds(static_cast<std::int64_t>(t % 1000)));
    }
    for (std::uint64_t t = 1; t <= kTickets; t += 2) reports.Note(t, kNow);  // duplicates
    const auto taken = Taken(reports);
    ASSERT_EQ(taken.size(), kTickets);
    for (std::uint64_t t = 1; t <= kTickets; ++t) {
      ASSERT_EQ(taken.at(t), static_cast<std::int64_t>(t % 1000)) << "ticket " << t;
    }
  }
}

TEST(PollReports, ATakeStoppedMidwayKeepsTheRestForTheNextOneWithTheirDues) {
  PollReports reports;
  for (std::uint64_t t = 1; t <= 1000; ++t) reports.Note(t, kNow + milliseconds(1000 + t));
  const auto first = Taken(reports, 300);
  ASSERT_EQ(first.size(), 300u);
  EXPECT_EQ(reports.pending(), 700u);
  // The ones still waiting to be reported are polled again: their due moves on.
  for (std::uint64_t t = 1; t <= 1000; ++t) {
    if (!first.contains(t)) reports.Note(t, kNow + milliseconds(5000));
  }
  EXPECT_EQ(reports.pending(), 700u);
  std::map<std::uint64_t, std::int64_t> all = first;
  for (const std::size_t expected : {300u, 300u, 100u}) {
    const auto part = Taken(reports, 300);
    EXPECT_EQ(part.size(), expected);
    for (const auto& [ticket, ms] : part) {
      EXPECT_FALSE(first.contains(ticket)) << "ticket " << ticket << " taken twice";
      EXPECT_EQ(ms, 5000) << "ticket " << ticket;
      all.emplace(ticket, ms);
    }
  }
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(reports.pending(), 0u);
  for (const auto& [ticket, ms] : first) EXPECT_EQ(ms, static_cast<std::int64_t>(1000 + ticket));
}

TEST(PollReports, AFullShardDropsAndCountsWhatIsBeyondIt) {
  PollReports reports;
  std::vector<std::uint64_t> same_shard;
  for (std::uint64_t t = 1; same_shard.size() < PollReports::kMaxPerShard + 5; ++t) {
    if (PollReports::ShardOf(t) == 3) same_shard.push_back(t);
  }
  for (const std::uint64_t t : same_shard) reports.Note(t, kNow);
  EXPECT_EQ(reports.dropped(), 5u);
  EXPECT_EQ(reports.pending(), PollReports::kMaxPerShard);
  // A ticket already noted is still updated when its shard is full.
  reports.Note(same_shard.front(), kNow + milliseconds(777));
  EXPECT_EQ(reports.dropped(), 5u);
  const auto taken = Taken(reports);
  EXPECT_EQ(taken.size(), PollReports::kMaxPerShard);
  EXPECT_EQ(taken.at(same_shard.front()), 777);
  EXPECT_FALSE(taken.contains(same_shard.back()));
}

TEST(PollReports, WorkersNotingWhileTheTickTakesLoseNoTicket) {
  PollReports reports;
  constexpr std::uint64_t kTickets = 20000;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&reports, w] {
      for (std::uint64_t t = 1; t <= kTickets; ++t) {
        reports.Note(t, kNow + milliseconds(w));  // every worker polls every ticket
      }
    });
  }
  std::map<std::uint64_t, std::int64_t> seen;
  std::vector<std::string> args;
  for (int i = 0; i < 50; ++i) {
    args.clear();
    reports.Take(kNow, 1000, args);
    for (std::size_t k = 0; k + 1 < args.size(); k += 2) seen[std::stoull(args[k])] = 1;
  }
  for (std::thread& t : workers) t.join();
  for (const auto& [ticket, ms] : Taken(reports)) seen[ticket] = ms;
  EXPECT_EQ(seen.size(), kTickets) << "every polled ticket was reported at least once";
  EXPECT_EQ(reports.dropped(), 0u);
}

}  // namespace
}  // namespace vwr::store
