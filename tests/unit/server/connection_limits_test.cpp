#include "server/connection_limits.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <utility>
#include <vector>

namespace vwr::server {
namespace {

using Address = ConnectionLimits::Address;
using Verdict = ConnectionLimits::Verdict;

const Address kAlice = boost::asio::ip::make_address("192.0.2.1");
const Address kBob = boost::asio::ip::make_address("2001:db8::2");
const Address kCarol = boost::asio::ip::make_address("192.0.2.3");

TEST(ConnectionLimits, RefusesBeyondThePerAddressLimitAndAdmitsAgainAfterAClose) {
  ConnectionLimits limits(10, 2);
  ConnectionLimits::Slot a1, a2, a3, b1;
  EXPECT_EQ(limits.TryAcquire(kAlice, a1), Verdict::kAccepted);
  EXPECT_EQ(limits.TryAcquire(kAlice, a2), Verdict::kAccepted);
  EXPECT_EQ(limits.TryAcquire(kAlice, a3), Verdict::kTooManyFromAddress);
  EXPECT_FALSE(a3.held());
  EXPECT_EQ(limits.TryAcquire(kBob, b1), Verdict::kAccepted);  // others are not affected
  EXPECT_EQ(limits.open(), 3u);
  EXPECT_EQ(limits.open_from(kAlice), 2u);

  a1 = ConnectionLimits::Slot();  // a connection ends
  EXPECT_EQ(limits.open_from(kAlice), 1u);
  EXPECT_EQ(limits.TryAcquire(kAlice, a3), Verdict::kAccepted);
  EXPECT_TRUE(a3.held());
  EXPECT_EQ(limits.open(), 3u);
}

TEST(ConnectionLimits, RefusesBeyondTheTotalLimit) {
  ConnectionLimits limits(2, 5);
  ConnectionLimits::Slot a, b, c;
  EXPECT_EQ(limits.TryAcquire(kAlice, a), Verdict::kAccepted);
  EXPECT_EQ(limits.TryAcquire(kBob, b), Verdict::kAccepted);
  EXPECT_EQ(limits.TryAcquire(kCarol, c), Verdict::kTooManyConnections);
  EXPECT_EQ(limits.open_from(kCarol), 0u);  // a refusal leaves no trace
  { ConnectionLimits::Slot gone = std::move(b); }
  EXPECT_EQ(limits.TryAcquire(kCarol, c), Verdict::kAccepted);
  EXPECT_EQ(limits.open(), 2u);
}

TEST(ConnectionLimits, ZeroMeansNoLimit) {
  ConnectionLimits limits(0, 0);
  std::vector<ConnectionLimits::Slot> slots(1000);
  for (auto& slot : slots) EXPECT_EQ(limits.TryAcquire(kAlice, slot), Verdict::kAccepted);
  EXPECT_EQ(limits.open(), 1000u);
  slots.clear();
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.open_from(kAlice), 0u);
}

TEST(ConnectionLimits, SlotsMoveAndReleaseExactlyOnce) {
  ConnectionLimits limits(1, 1);
  ConnectionLimits::Slot first;
  ASSERT_EQ(limits.TryAcquire(kAlice, first), Verdict::kAccepted);
  ConnectionLimits::Slot moved(std::move(first));
  EXPECT_FALSE(first.held());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(limits.open(), 1u);
  ConnectionLimits::Slot assigned;
  assigned = std::move(moved);
  EXPECT_EQ(limits.open(), 1u);
  // Acquiring into a slot that holds a place gives that place back (no deadlock, no leak).
  ConnectionLimits other_limits(1, 1);
  ASSERT_EQ(other_limits.TryAcquire(kBob, assigned), Verdict::kAccepted);
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(other_limits.open(), 1u);
  assigned = ConnectionLimits::Slot();
  EXPECT_EQ(other_limits.open(), 0u);
}

TEST(ConnectionLimits, CountsStayExactUnderConcurrentAcceptsAndCloses) {
  // One thread accepts, as the server's acceptor does; the connections end on other threads.
  ConnectionLimits limits(0, 0);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> closers;
  for (int t = 0; t < kThreads; ++t) {
    std::vector<ConnectionLimits::Slot> slots(kPerThread);
    for (auto& slot : slots)
      ASSERT_EQ(limits.TryAcquire(t % 2 ? kAlice : kBob, slot), Verdict::kAccepted);
    closers.emplace_back([s = std::move(slots)]() mutable { s.clear(); });
  }
  for (auto& thread : closers) thread.join();
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.open_from(kAlice), 0u);
  EXPECT_EQ(limits.open_from(kBob), 0u);
}

}  // namespace
}  // namespace vwr::server
