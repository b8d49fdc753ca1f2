// The Store / RoomState contract, run on both implementations: the embedded store (with its
// journal, so that every answer waits for durability as in production) and the Redis store on a
// real redis-server. Whatever the API relies on must hold on both.
//
// Both run on real time (the Redis store's clock is Redis's TIME), so the tests use short
// session and claim times and wait for conditions, ticking as the server's control loop would.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "store/embedded_store.hpp"
#include "store/redis_store.hpp"
#include "support/redis_server.hpp"
#include "util/clock.hpp"

namespace vwr::store {
namespace {

using core::TicketStatus;
using std::chrono::milliseconds;
using std::chrono::seconds;

enum class Kind { kEmbedded, kRedis };

std::string KindName(const testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::kEmbedded ? "Embedded" : "Redis";
}

void PrintTo(Kind kind, std::ostream* os) {
  *os << (kind == Kind::kEmbedded ? "embedded" : "redis");
}

// Plenty of budget, two places, quick polls: each test narrows what it needs.
core::Policy BasePolicy() {
  core::Policy p;
  p.max_active = 2;
  p.admit_rate = 1000;
  p.burst = 100;
  p.session_timeout = seconds(60);
  p.claim_grace = seconds(60);
  return p;
}

template <typename T>
T Await(std::future<boost::system::result<T>>& future) {
  if (future.wait_for(seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the store did not answer within 10 s";
    return T{};
  }
  boost::system::result<T> r = future.get();
  if (!r) {
    ADD_FAILURE() << "the store failed: " << r.error().message();
    return T{};
  }
  return *r;
}

class RoomStateContract : public testing::TestWithParam<Kind> {
 protected:
  void TearDown() override {
    if (store_) store_->Close();
    store_.reset();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  // Opens the store under test with `rooms` and waits until it serves them.
  void Open(const std::vector<RoomSpec>& rooms) {
    rooms_ = rooms;
    if (GetParam() == Kind::kEmbedded) {
      char dir_template[] = "/tmp/vwr-contract-XXXXXX";
      dir_ = ::mkdtemp(dir_template);
      EmbeddedOptions options;
      options.dir = dir_;
      options.fsync = FsyncMode::kNever;
      auto opened = EmbeddedStore::Open(rooms, util::SystemClock::Instance(), options);
      ASSERT_TRUE(opened) << opened.error().message();
      store_ = std::move(*opened);
    } else {
      redis_ = std::make_unique<redis::testing::RedisServer>();
      ASSERT_TRUE(redis_->running());
      RedisStoreOptions options;
      options.client = redis::testing::OptionsFor(*redis_);
      options.node_id = "contract-node";
      options.lease = milliseconds(1000);
      options.end_all_batch = 2;  // LeaveAll takes several batches with a few sessions
      options.abandon_sweep_batch = abandon_sweep_batch_;
      store_ = std::make_unique<RedisStore>(rooms, util::SystemClock::Instance(), options);
    }
    ASSERT_TRUE(TickUntil([&] { return store_->Ready(); })) << "the store never became ready";
  }

  void Open(const core::Policy& policy) { Open({{"r", policy}}); }

  // Redis only: another node serving the same rooms on the same Redis, as a second `vwr`
  // process would, once it is ready (it ticks only when told to).
  std::unique_ptr<RedisStore> OpenNode(const std::string& node_id,
                                       redis::ClientOptions client = {}) {
    RedisStoreOptions options;
    options.client = client.seeds.empty() ? redis::testing::OptionsFor(*redis_) : client;
    options.node_id = node_id;
    options.lease = milliseconds(1000);
    auto node = std::make_unique<RedisStore>(rooms_, util::SystemClock::Instance(), options);
    const bool ready = redis::testing::Eventually([&] {
      node->Tick();
      std::this_thread::sleep_for(milliseconds(10));
      return node->Ready();
    });
    EXPECT_TRUE(ready) << node_id << " never became ready";
    return node;
  }

  // Ticks `node` once and waits for that tick's answer: its figures name the lease holder only
  // once a tick has answered, and `condition` must hold after it.
  static bool AfterOneTick(Store& node, const std::function<bool()>& condition) {
    node.Tick();
    return redis::testing::Eventually(condition, seconds(2));
  }

  RoomState& Room(std::string_view id = "r") {
    RoomState* room = store_->Find(id);
    EXPECT_NE(room, nullptr) << id;
    return *room;
  }

  // Ticks every 10 ms, as the control loop does every 100 ms, until `condition` holds.
  bool TickUntil(const std::function<bool()>& condition, milliseconds timeout = seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      store_->Tick();
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }

  // The figures once a tick has read the counters of every change made so far: a tick posted
  // after the changes completed, seen through the counter it must bring.
  RoomFigures FiguresWhen(const std::function<bool(const RoomFigures&)>& condition) {
    RoomFigures f;
    EXPECT_TRUE(TickUntil([&] {
      f = Room().Figures();
      return condition(f);
    })) << "figures never met the condition";
    return f;
  }

  TicketAnswer Join(std::string identity = "", std::string_view room = "r") {
    std::promise<boost::system::result<TicketAnswer>> done;
    auto future = done.get_future();
    Room(room).Join(std::move(identity), [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  // A poll as the API makes it: from the published figures when the ticket is simply waiting,
  // else from the store (which may claim it).
  TicketAnswer Status(const TicketAnswer& ticket) {
    TicketAnswer cached;
    if (Room().StatusCached(ticket.ticket, ticket.frontier_at_join, cached)) return cached;
    std::promise<boost::system::result<TicketAnswer>> done;
    auto future = done.get_future();
    Room().Status(ticket.ticket, ticket.frontier_at_join,
                  [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  TicketAnswer Admit(std::string identity = "") {
    std::promise<boost::system::result<TicketAnswer>> done;
    auto future = done.get_future();
    Room().Admit(std::move(identity), [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  bool ConsumeOnce(const std::string& key, milliseconds keep, std::string_view room = "r") {
    std::promise<boost::system::result<bool>> done;
    auto future = done.get_future();
    Room(room).ConsumeOnce(key, keep, [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  bool Heartbeat(std::uint64_t ticket) {
    std::promise<boost::system::result<bool>> done;
    auto future = done.get_future();
    Room().Heartbeat(ticket, [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  bool Leave(std::uint64_t ticket) {
    std::promise<boost::system::result<bool>> done;
    auto future = done.get_future();
    Room().Leave(ticket, [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  std::uint64_t LeaveAll() {
    std::promise<boost::system::result<std::uint64_t>> done;
    auto future = done.get_future();
    Room().LeaveAll([&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  bool Withdraw(std::uint64_t ticket) {
    std::promise<boost::system::result<bool>> done;
    auto future = done.get_future();
    Room().Withdraw(ticket, [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  bool Draw(std::uint64_t first, std::vector<std::uint64_t> order) {
    std::promise<boost::system::result<bool>> done;
    auto future = done.get_future();
    Room().Draw(first, std::move(order), [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }

  static bool LeaveIdentity(RoomState& room, std::string identity) {
    std::promise<boost::system::result<bool>> done;
    auto future = done.get_future();
    room.LeaveIdentity(std::move(identity), [&done](auto r) { done.set_value(std::move(r)); });
    return Await(future);
  }
  bool LeaveIdentity(std::string identity) { return LeaveIdentity(Room(), std::move(identity)); }

  void SetPolicy(const core::Policy& policy, std::string_view room = "r") {
    std::promise<boost::system::result<void>> done;
    auto future = done.get_future();
    Room(room).SetPolicy(policy, [&done](auto r) { done.set_value(std::move(r)); });
    ASSERT_EQ(future.wait_for(seconds(10)), std::future_status::ready);
    const boost::system::result<void> r = future.get();
    ASSERT_TRUE(r) << r.error().message();
  }

  // Polls until the ticket is admitted (or anything but waiting), ticking meanwhile.
  TicketAnswer AwaitDecided(const TicketAnswer& ticket) {
    TicketAnswer a;
    const bool decided = TickUntil([&] {
      a = Status(ticket);
      return a.status != TicketStatus::kWaiting;
    });
    EXPECT_TRUE(decided) << "ticket " << ticket.ticket << " stayed waiting";
    return a;
  }

  // Abandonment: polls `present` (each waiting one) until `condition` holds, ticking meanwhile;
  // checks on the way that no position grows and records who is let in, in order.
  bool PollUntil(const std::vector<TicketAnswer>& present, const std::function<bool()>& condition,
                 milliseconds timeout = seconds(10)) {
    return TickUntil(
        [&] {
          for (const TicketAnswer& t : present) {
            if (std::find(admitted_.begin(), admitted_.end(), t.ticket) != admitted_.end()) {
              continue;
            }
            const TicketAnswer a = Status(t);
            if (a.status == TicketStatus::kWaiting) {
              auto [it, first] = positions_.try_emplace(t.ticket, a.position);
              EXPECT_LE(a.position, it->second) << "the position of " << t.ticket << " grew";
              it->second = a.position;
            } else if (a.status == TicketStatus::kAdmitted) {
              admitted_.push_back(t.ticket);
            }
          }
          return condition();
        },
        timeout);
  }
  // Lets `present` in one at a time: `inside` leaves, the next is admitted (polling all).
  void DrainInOrder(std::uint64_t inside, const std::vector<TicketAnswer>& present) {
    for (std::size_t i = 0; i < present.size(); ++i) {
      ASSERT_TRUE(Leave(inside));
      const std::size_t before = admitted_.size();
      ASSERT_TRUE(PollUntil(present, [&] { return admitted_.size() > before; }))
          << "nobody was let in after " << inside << " left";
      EXPECT_EQ(admitted_.size(), before + 1) << "more than max_active (1) let in";
      inside = admitted_.back();
    }
  }

  std::uint32_t abandon_sweep_batch_ = 10000;
  std::map<std::uint64_t, std::uint64_t> positions_;
  std::vector<std::uint64_t> admitted_;
  std::unique_ptr<redis::testing::RedisServer> redis_;
  std::vector<RoomSpec> rooms_;
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(RoomStateContract, JoinsAreAdmittedThenNumberedInArrivalOrder) {
  Open(BasePolicy());
  EXPECT_NE(Room().incarnation(), 0u);
  for (std::uint64_t n = 1; n <= 2; ++n) {
    const TicketAnswer a = Join();
    EXPECT_EQ(a.status, TicketStatus::kAdmitted);
    EXPECT_EQ(a.ticket, n);
    EXPECT_EQ(a.frontier_at_join, n) << "admitted at once: nobody was ahead";
    EXPECT_EQ(a.position, 0u);
    EXPECT_GT(a.admitted_unix, 1'600'000'000);
  }
  for (std::uint64_t i = 1; i <= 3; ++i) {
    const TicketAnswer w = Join();
    EXPECT_EQ(w.status, TicketStatus::kWaiting);
    EXPECT_EQ(w.ticket, 2 + i);
    EXPECT_EQ(w.frontier_at_join, 2u);
    EXPECT_EQ(w.position, i);
    EXPECT_EQ(w.queue_size, i);
    EXPECT_EQ(w.eta_seconds, 1) << "the configured rate estimates the wait from the start";
  }
  // This node's own changes show in its figures at once.
  const RoomFigures f = Room().Figures();
  EXPECT_EQ(f.last_issued, 5u);
  EXPECT_EQ(f.frontier, 2u);
  EXPECT_EQ(f.queue_size, 3u);
  EXPECT_EQ(f.active, 2);
  EXPECT_EQ(f.called_unclaimed, 0);
}

TEST_P(RoomStateContract, AWaitCarriesItsRangeAndSaysWhetherSessionsWereSeenToEnd) {
  Open(BasePolicy());
  const TicketAnswer first = Join();
  ASSERT_EQ(first.status, TicketStatus::kAdmitted);
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  const TicketAnswer joined = Join();
  ASSERT_EQ(joined.status, TicketStatus::kWaiting);
  auto in_order = [](const TicketAnswer& a) {
    return a.eta_seconds && a.eta_low_seconds && a.eta_high_seconds &&
           *a.eta_low_seconds <= *a.eta_seconds && *a.eta_seconds <= *a.eta_high_seconds;
  };
  EXPECT_TRUE(in_order(joined)) << "a join that waits is told its wait and range";
  EXPECT_EQ(joined.eta_basis, core::WaitBasis::kPolicy) << "no session has ended yet";
  TicketAnswer cached;
  ASSERT_TRUE(Room().StatusCached(joined.ticket, joined.frontier_at_join, cached));
  EXPECT_TRUE(in_order(cached)) << "a cached poll too";
  EXPECT_EQ(cached.eta_basis, core::WaitBasis::kPolicy);
  RoomFigures f = Room().Figures();
  ASSERT_TRUE(f.newcomer_eta_seconds && f.newcomer_eta_low_seconds && f.newcomer_eta_high_seconds);
  EXPECT_LE(*f.newcomer_eta_low_seconds, *f.newcomer_eta_seconds);
  EXPECT_LE(*f.newcomer_eta_seconds, *f.newcomer_eta_high_seconds);

  // A session ends: the next ticks learn from it (on a shared store, every node does, from the
  // figures its own tick brings back).
  ASSERT_TRUE(Leave(first.ticket));
  f = FiguresWhen([](const RoomFigures& g) {
    return g.counters.leaves == 1 && g.newcomer_eta_basis == core::WaitBasis::kObserved;
  });
  EXPECT_TRUE(f.newcomer_eta_seconds.has_value());
  const TicketAnswer later = Join();
  ASSERT_EQ(later.status, TicketStatus::kWaiting);
  EXPECT_TRUE(in_order(later));
  EXPECT_EQ(later.eta_basis, core::WaitBasis::kObserved);

  core::Policy pause = BasePolicy();
  pause.mode = core::Mode::kPause;
  SetPolicy(pause);
  ASSERT_TRUE(Room().StatusCached(later.ticket, later.frontier_at_join, cached));
  EXPECT_FALSE(cached.eta_seconds || cached.eta_low_seconds || cached.eta_high_seconds)
      << "nobody can tell while paused";
}

TEST_P(RoomStateContract, WaitingStatusGivesThePlaceAndAnIdentityKeepsItsTicket) {
  Open(BasePolicy());
  const TicketAnswer holder = Join("holder");
  Join();
  const TicketAnswer u1 = Join("user-1");
  const TicketAnswer u2 = Join("user-2");
  ASSERT_EQ(u1.status, TicketStatus::kWaiting);

  const TicketAnswer again = Join("user-1");
  EXPECT_EQ(again.status, TicketStatus::kWaiting);
  EXPECT_EQ(again.ticket, u1.ticket);
  EXPECT_EQ(again.frontier_at_join, u1.frontier_at_join);
  EXPECT_EQ(again.position, 1u);
  EXPECT_EQ(again.queue_size, 2u) << "a repeated join does not lengthen the line";

  const TicketAnswer held = Join("holder");
  EXPECT_EQ(held.status, TicketStatus::kAdmitted);
  EXPECT_EQ(held.ticket, holder.ticket);
  EXPECT_EQ(held.admitted_unix, holder.admitted_unix) << "the same session";
  EXPECT_EQ(held.identity, "holder");

  const TicketAnswer polled = Status(u2);
  EXPECT_EQ(polled.status, TicketStatus::kWaiting);
  EXPECT_EQ(polled.ticket, u2.ticket);
  EXPECT_EQ(polled.frontier_at_join, u2.frontier_at_join);
  EXPECT_EQ(polled.position, 2u);
  EXPECT_EQ(polled.queue_size, 2u);

  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.joins == 4; });
  EXPECT_EQ(f.counters.rejoins, 2u);
  EXPECT_EQ(f.counters.admissions, 2u);
  EXPECT_EQ(f.counters.immediate, 2u);
}

TEST_P(RoomStateContract, AFreedPlaceIsClaimedExactlyOnceByConcurrentPolls) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  const TicketAnswer first = Join("first");
  const TicketAnswer next = Join("next");
  ASSERT_EQ(next.status, TicketStatus::kWaiting);
  EXPECT_EQ(Status(next).status, TicketStatus::kWaiting);

  EXPECT_TRUE(Leave(first.ticket));
  EXPECT_FALSE(Leave(first.ticket)) << "the session has ended already";
  EXPECT_EQ(Room().Figures().active, 0);
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().called_unclaimed == 1; }));

  // Eight polls of the called ticket at once: each is admitted, to one and the same session.
  std::vector<std::future<TicketAnswer>> polls;
  for (int i = 0; i < 8; ++i) {
    polls.push_back(std::async(std::launch::async, [&] { return Status(next); }));
  }
  std::vector<TicketAnswer> answers;
  for (auto& poll : polls) answers.push_back(poll.get());
  for (const TicketAnswer& a : answers) {
    EXPECT_EQ(a.status, TicketStatus::kAdmitted);
    EXPECT_EQ(a.ticket, next.ticket);
    EXPECT_EQ(a.admitted_unix, answers.front().admitted_unix);
    EXPECT_EQ(a.identity, "next");
  }
  const RoomFigures now = Room().Figures();
  EXPECT_EQ(now.active, 1);
  EXPECT_EQ(now.called_unclaimed, 0);
  // Every claim completed before this tick: a second session would show in its count.
  const RoomFigures f =
      FiguresWhen([](const RoomFigures& g) { return g.counters.admissions >= 2; });
  EXPECT_EQ(f.counters.admissions, 2u);
  EXPECT_EQ(f.counters.leaves, 1u);
  EXPECT_EQ(f.active, 1);
}

TEST_P(RoomStateContract, ABurstOfJoinsSentAtOnceIsAnsweredOnceEachInTheOrderOfTheLine) {
  // A flash crowd: joins sent without waiting for each other's answers (the Redis store sends
  // those that arrive while earlier ones are on their way together, as one script). Each is
  // answered once, with its own ticket; the line has no gap and no place twice; an identity
  // that comes twice in the burst holds one place.
  core::Policy p = BasePolicy();
  p.max_active = 3;
  p.burst = 3;
  Open(p);
  constexpr int kJoins = 700;  // more than one script takes at once
  std::vector<std::promise<boost::system::result<TicketAnswer>>> done(kJoins);
  std::vector<std::future<boost::system::result<TicketAnswer>>> answers;
  std::atomic<int> calls{0};
  for (auto& d : done) answers.push_back(d.get_future());
  std::vector<std::thread> senders;
  for (int part = 0; part < 4; ++part) {
    senders.emplace_back([&, part] {
      for (int i = part; i < kJoins; i += 4) {
        // Joins 600..699 name the identities of joins 500..599 again.
        const std::string identity =
            i >= 500 ? "user-" + std::to_string(i >= 600 ? i - 100 : i) : std::string();
        Room().Join(identity, [&, i](boost::system::result<TicketAnswer> r) {
          calls.fetch_add(1);
          done[static_cast<std::size_t>(i)].set_value(std::move(r));
        });
      }
    });
  }
  for (std::thread& t : senders) t.join();
  std::vector<TicketAnswer> got;
  for (auto& a : answers) got.push_back(Await(a));
  EXPECT_EQ(calls.load(), kJoins) << "every join is answered exactly once";
  std::map<std::uint64_t, int> holders;  // ticket -> joins answered with it
  int admitted = 0;
  for (const TicketAnswer& a : got) {
    ASSERT_TRUE(a.status == TicketStatus::kAdmitted || a.status == TicketStatus::kWaiting)
        << static_cast<int>(a.status);
    ++holders[a.ticket];
    if (a.status == TicketStatus::kAdmitted) ++admitted;
  }
  EXPECT_EQ(admitted, 3);
  ASSERT_EQ(holders.size(), 600u) << "700 joins, 100 of them by an identity already in line";
  EXPECT_EQ(holders.rbegin()->first - holders.begin()->first, 599u) << "no gap in the line";
  for (int i = 500; i < 600; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)].ticket,
              got[static_cast<std::size_t>(i + 100)].ticket)
        << "user-" << i << " holds one place";
  }
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.joins >= 600; });
  EXPECT_EQ(f.counters.joins, 600u);
  EXPECT_EQ(f.counters.rejoins, 100u);
  EXPECT_EQ(f.queue_size, 597u);
}

TEST_P(RoomStateContract, LeaveIdentityEndsTheIdentitysSessionOrGivesBackItsPlace) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  const TicketAnswer alice = Join("alice");
  const TicketAnswer bob = Join("bob");
  const TicketAnswer carl = Join("carl");
  ASSERT_EQ(alice.status, TicketStatus::kAdmitted);
  ASSERT_EQ(bob.status, TicketStatus::kWaiting);
  ASSERT_EQ(Room().Figures().queue_size, 2u);

  // A waiting place is given back: out of the line at once, and bob holds nothing any more.
  EXPECT_TRUE(LeaveIdentity("bob"));
  EXPECT_EQ(Room().Figures().queue_size, 1u) << "it no longer counts in the line";
  EXPECT_FALSE(LeaveIdentity("bob")) << "given back already";
  EXPECT_FALSE(LeaveIdentity("nobody"));
  EXPECT_FALSE(LeaveIdentity(""));

  EXPECT_TRUE(LeaveIdentity("alice"));
  EXPECT_TRUE(Room().SessionEnded(alice.ticket)) << "its tokens are refused at once";
  EXPECT_EQ(Room().Figures().active, 0) << "its slot is free at once";
  EXPECT_FALSE(LeaveIdentity("alice")) << "ended already";
  // The freed slot goes to carl: bob's place is passed over, never called.
  EXPECT_EQ(AwaitDecided(carl).status, TicketStatus::kAdmitted);
  EXPECT_EQ(Status(bob).status, TicketStatus::kExpired);

  const TicketAnswer dave = Admit("dave");
  ASSERT_EQ(dave.status, TicketStatus::kAdmitted);
  EXPECT_FALSE(LeaveIdentity("dave")) << "a bypass session is not a place in line";
  EXPECT_FALSE(Room().SessionEnded(dave.ticket));

  if (GetParam() == Kind::kRedis) {
    // On a node that has never seen carl: his session ends there, and here at the next tick.
    std::unique_ptr<RedisStore> other = OpenNode("contract-node-2");
    EXPECT_TRUE(LeaveIdentity(*other->Find("r"), "carl"));
    EXPECT_TRUE(other->Find("r")->SessionEnded(carl.ticket));
    EXPECT_TRUE(TickUntil([&] { return Room().SessionEnded(carl.ticket); }));
    other->Close();
  } else {
    EXPECT_TRUE(LeaveIdentity("carl"));
  }
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.leaves == 2; });
  EXPECT_EQ(f.active, 1) << "dave's bypass session lives on";
  EXPECT_EQ(f.counters.withdrawn, 1u);
  EXPECT_EQ(f.counters.no_shows, 0u);
}

// An operator's "end all sessions": every session ends (from the line and bypass alike, more
// than one Redis batch), the line and its called tickets stay, and the slots go to the line.
TEST_P(RoomStateContract, LeaveAllEndsEverySessionAndTheLineTakesTheSlots) {
  core::Policy p = BasePolicy();
  p.max_active = 3;
  Open(p);
  const TicketAnswer a = Join();
  const TicketAnswer b = Join();
  const TicketAnswer c = Join();
  const TicketAnswer bypass = Admit("pass-holder");
  const TicketAnswer waiting = Join();
  ASSERT_EQ(c.status, TicketStatus::kAdmitted);
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);

  EXPECT_EQ(LeaveAll(), 4u);
  for (const TicketAnswer& s : {a, b, c, bypass}) {
    EXPECT_TRUE(Room().SessionEnded(s.ticket)) << "session " << s.ticket;
    EXPECT_FALSE(Heartbeat(s.ticket)) << "session " << s.ticket;
  }
  EXPECT_EQ(Room().Figures().active, 0);
  EXPECT_EQ(LeaveAll(), 0u) << "nothing left to end";

  // The one who waited is called into a freed slot; its session is not ended.
  const TicketAnswer in = AwaitDecided(waiting);
  EXPECT_EQ(in.status, TicketStatus::kAdmitted);
  EXPECT_FALSE(Room().SessionEnded(in.ticket));
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.leaves == 4; });
  EXPECT_EQ(f.active, 1);
  EXPECT_EQ(f.queue_size, 0u);
}

TEST_P(RoomStateContract, AWithdrawnPlaceLeavesTheLineAndTakesNoSlot) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  p.claim_grace = seconds(30);
  Open(p);
  const TicketAnswer holder = Join();
  const TicketAnswer gone = Join();
  const TicketAnswer called = Join();
  const TicketAnswer next = Join();
  ASSERT_EQ(next.status, TicketStatus::kWaiting);
  EXPECT_TRUE(Withdraw(gone.ticket));
  EXPECT_FALSE(Withdraw(gone.ticket)) << "once";
  EXPECT_FALSE(Withdraw(holder.ticket)) << "a session is left, not given back";
  EXPECT_EQ(Room().Figures().queue_size, 2u);
  TicketAnswer cached;
  // Its holder is told at once that the place is gone: a poll (or a re-join with the ticket)
  // must not show it still waiting, as the published figures alone would.
  EXPECT_FALSE(Room().StatusCached(gone.ticket, gone.frontier_at_join, cached));
  EXPECT_EQ(Status(gone).status, TicketStatus::kExpired);
  ASSERT_TRUE(Room().StatusCached(next.ticket, next.frontier_at_join, cached));
  EXPECT_EQ(cached.queue_size, 2u) << "the polls' answers leave it out too";
  // The slot the holder frees passes `gone` over and calls `called`.
  EXPECT_TRUE(Leave(holder.ticket));
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().called_unclaimed == 1; }));
  EXPECT_EQ(Status(gone).status, TicketStatus::kExpired);
  // A called place given back returns its slot at once, not after claim_grace (30 s).
  EXPECT_TRUE(Withdraw(called.ticket));
  EXPECT_EQ(AwaitDecided(next).status, TicketStatus::kAdmitted);
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.withdrawn == 2; });
  EXPECT_EQ(f.counters.no_shows, 0u);
  EXPECT_EQ(f.queue_size, 0u);
}

TEST_P(RoomStateContract, AdmitHoldsOneBypassSessionPerIdentityAtATime) {
  core::Policy p = BasePolicy();
  p.max_active = 3;
  Open(p);
  // One entry pass replayed (its key is the identity): one session, however many joins.
  const TicketAnswer first = Admit("pass:a");
  ASSERT_EQ(first.status, TicketStatus::kAdmitted);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Admit("pass:a").ticket, first.ticket) << i;
  EXPECT_NE(Admit("pass:b").ticket, first.ticket);
  if (GetParam() == Kind::kRedis) {
    // Another node knows the identity's session too: the rule holds cluster-wide.
    std::unique_ptr<RedisStore> other = OpenNode("contract-node-2");
    std::promise<boost::system::result<TicketAnswer>> done;
    auto future = done.get_future();
    other->Find("r")->Admit("pass:a", [&done](auto r) { done.set_value(std::move(r)); });
    EXPECT_EQ(Await(future).ticket, first.ticket);
    other->Close();
  }
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.bypass >= 2; });
  EXPECT_EQ(f.counters.bypass, 2u);
  EXPECT_EQ(f.active, 2);
  // Ended, the identity may be admitted again: a new session, again one at a time.
  EXPECT_TRUE(Leave(first.ticket));
  const TicketAnswer next = Admit("pass:a");
  EXPECT_NE(next.ticket, first.ticket);
  EXPECT_EQ(Admit("pass:a").ticket, next.ticket);
}

TEST_P(RoomStateContract, HeartbeatKeepsASessionAndKnowsAnEndedOne) {
  Open(BasePolicy());
  const TicketAnswer a = Join();
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  EXPECT_TRUE(Heartbeat(a.ticket));
  EXPECT_FALSE(Heartbeat(a.ticket + 100)) << "no such session";
  EXPECT_TRUE(Leave(a.ticket));
  EXPECT_FALSE(Heartbeat(a.ticket));
  EXPECT_EQ(Status(a).status, TicketStatus::kExpired) << "a polled ended session is expired";
  EXPECT_EQ(Join().ticket, a.ticket + 1);
}

TEST_P(RoomStateContract, AnIdleSessionEndsAfterSessionTimeout) {
  core::Policy p = BasePolicy();
  p.session_timeout = seconds(1);
  Open(p);
  const auto start = std::chrono::steady_clock::now();
  const TicketAnswer a = Join();
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().active == 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(900));
  EXPECT_FALSE(Heartbeat(a.ticket));
  EXPECT_EQ(Status(a).status, TicketStatus::kExpired);
  EXPECT_EQ(Room().Figures().counters.expired_sessions, 1u);
}

TEST_P(RoomStateContract, ASessionEndsAtSessionMaxHoweverActive) {
  // The cap counts from admission, on both stores; heartbeats do not move it.
  core::Policy p = BasePolicy();
  p.session_timeout = seconds(60);
  p.session_max = seconds(1);
  Open(p);
  const auto start = std::chrono::steady_clock::now();
  const TicketAnswer a = Join();
  const TicketAnswer bypass = Admit("regular");
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  ASSERT_EQ(bypass.status, TicketStatus::kAdmitted);
  ASSERT_TRUE(TickUntil([&] {
    Heartbeat(a.ticket);
    Heartbeat(bypass.ticket);
    return Room().Figures().active == 0;
  }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(900));
  EXPECT_FALSE(Heartbeat(a.ticket));
  EXPECT_EQ(Status(a).status, TicketStatus::kExpired);
  EXPECT_TRUE(Room().SessionEnded(a.ticket) ||
              TickUntil([&] { return Room().SessionEnded(a.ticket); }));
  EXPECT_EQ(FiguresWhen([](const RoomFigures& f) {
              return f.counters.expired_sessions == 2;
            }).counters.expired_sessions,
            2u);
}

TEST_P(RoomStateContract, SessionMaxIsChangedAtRunTimeAndEndsSessionsAlreadyInside) {
  core::Policy p = BasePolicy();
  p.session_timeout = seconds(60);
  Open(p);
  const TicketAnswer a = Join();
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  core::Policy capped = Room().policy();
  capped.session_max = seconds(1);
  capped.session_timeout = seconds(30);
  std::promise<boost::system::result<void>> set;
  Room().SetPolicy(capped, [&set](auto r) { set.set_value(std::move(r)); });
  ASSERT_TRUE(set.get_future().get());
  ASSERT_TRUE(TickUntil([&] { return Room().policy().session_max == seconds(1); }));
  EXPECT_EQ(Room().policy().session_timeout, seconds(30));
  ASSERT_TRUE(TickUntil([&] {
    Heartbeat(a.ticket);
    return Room().Figures().active == 0;
  }));
  EXPECT_EQ(Status(a).status, TicketStatus::kExpired);
}

TEST_P(RoomStateContract, AnUnclaimedCallExpiresAndItsPlaceGoesToTheNext) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  p.claim_grace = seconds(1);
  Open(p);
  const TicketAnswer holder = Join();
  const TicketAnswer absent = Join("absent");
  const TicketAnswer next = Join();
  ASSERT_EQ(next.status, TicketStatus::kWaiting);
  EXPECT_TRUE(Leave(holder.ticket));
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().called_unclaimed == 1; }));
  const auto called = std::chrono::steady_clock::now();

  const TicketAnswer admitted = AwaitDecided(next);
  EXPECT_EQ(admitted.status, TicketStatus::kAdmitted);
  // Not before the absent one's claim_grace (1 s from its call, seen here a little later).
  EXPECT_GE(std::chrono::steady_clock::now() - called, milliseconds(500));
  EXPECT_EQ(Status(absent).status, TicketStatus::kExpired);
  EXPECT_EQ(Status(absent).status, TicketStatus::kExpired) << "a no-show cannot come back";
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.no_shows > 0; });
  EXPECT_EQ(f.counters.no_shows, 1u);
  EXPECT_EQ(f.active, 1);
  // The no-show's userId is free again: it joins at the back.
  const TicketAnswer back = Join("absent");
  EXPECT_EQ(back.ticket, next.ticket + 1);
}

TEST_P(RoomStateContract, PolicyModesPauseRejectPassthroughAndQueueLimit) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  p.queue_limit = 2;
  Open(p);
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  const TicketAnswer waiting = Join();
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);
  Join();
  const TicketAnswer full = Join();
  EXPECT_EQ(full.status, TicketStatus::kFull);
  EXPECT_EQ(full.ticket, 0u);
  EXPECT_EQ(full.queue_size, 2u);

  core::Policy reject = p;
  reject.mode = core::Mode::kReject;
  SetPolicy(reject);
  EXPECT_EQ(Room().policy().mode, core::Mode::kReject);
  EXPECT_EQ(Status(waiting).status, TicketStatus::kRejected);
  const TicketAnswer refused = Join();
  EXPECT_EQ(refused.status, TicketStatus::kRejected);
  EXPECT_EQ(refused.ticket, 0u);

  core::Policy pause = p;
  pause.mode = core::Mode::kPause;
  pause.queue_limit = 0;
  SetPolicy(pause);
  const TicketAnswer paused = Join();
  EXPECT_EQ(paused.status, TicketStatus::kWaiting);
  EXPECT_FALSE(paused.eta_seconds.has_value()) << "nobody can tell while paused";

  // Passthrough lets everyone in at once, those waiting from before first.
  core::Policy open = pause;
  open.mode = core::Mode::kPassthrough;
  SetPolicy(open);
  for (int i = 0; i < 3; ++i) {
    const TicketAnswer a = Join();
    EXPECT_EQ(a.status, TicketStatus::kAdmitted) << "beyond max_active, without a tick";
  }
  const TicketAnswer let_in = Status(waiting);
  EXPECT_EQ(let_in.status, TicketStatus::kAdmitted) << "called by the first passthrough join";
  EXPECT_EQ(Room().Figures().queue_size, 0u);

  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.full > 0; });
  EXPECT_EQ(f.counters.full, 1u);
  EXPECT_EQ(f.counters.rejected, 1u);
}

TEST_P(RoomStateContract, RaisingMaxActiveCallsTheLineAndANewRateRestartsTheEstimate) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  p.admit_rate = 50;
  Open(p);
  Join();
  const TicketAnswer waiting = Join();
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);
  EXPECT_DOUBLE_EQ(Room().Figures().advance_rate, 50);

  core::Policy wider = p;
  wider.max_active = 3;
  wider.admit_rate = 5;
  SetPolicy(wider);
  EXPECT_EQ(Room().policy().max_active, 3);
  EXPECT_DOUBLE_EQ(Room().Figures().advance_rate, 5) << "the estimate restarts from the new rate";
  EXPECT_EQ(AwaitDecided(waiting).status, TicketStatus::kAdmitted);
  EXPECT_EQ(Join().status, TicketStatus::kAdmitted) << "the third place is free";
  EXPECT_EQ(Join().status, TicketStatus::kWaiting);
}

TEST_P(RoomStateContract, ReconfigureKeepsStateAndOperatorPoliciesUntilTheFileChanges) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open({{"a", p}, {"b", p}});
  Join("", "b");
  const TicketAnswer waiting = Join("", "b");
  ASSERT_EQ(waiting.ticket, 2u);

  ReconfigureReport report = store_->Reconfigure({{"a", p}});
  EXPECT_EQ(report.removed, std::vector<std::string>{"b"});
  EXPECT_EQ(store_->Find("b"), nullptr);
  report = store_->Reconfigure({{"a", p}, {"b", p}});
  EXPECT_EQ(report.added, std::vector<std::string>{"b"});
  ASSERT_TRUE(TickUntil([&] { return store_->Ready(); }));
  EXPECT_EQ(Join("", "b").ticket, 3u) << "no ticket number is issued twice";

  core::Policy op = p;
  op.max_active = 9;
  SetPolicy(op, "a");
  report = store_->Reconfigure({{"a", p}, {"b", p}});
  EXPECT_TRUE(report.policy_changed.empty()) << "the file did not change";
  Join("", "a");  // answered after the reconfiguration's own round trip, on the Redis store
  EXPECT_EQ(Room("a").policy().max_active, 9) << "the file did not change: the operator's stays";

  core::Policy edited = p;
  edited.max_active = 5;
  edited.admit_rate = 7;
  report = store_->Reconfigure({{"a", edited}, {"b", p}});
  EXPECT_EQ(report.policy_changed, std::vector<std::string>{"a"});
  Join("", "a");
  EXPECT_EQ(Room("a").policy().max_active, 5) << "an edited file wins";
  EXPECT_DOUBLE_EQ(Room("a").Figures().advance_rate, 7) << "its rate restarts the estimate";
}

TEST_P(RoomStateContract, AdmitLetsInAtOnceWhenTheRoomIsFullClosedOrHasALine) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  p.queue_limit = 1;
  Open(p);
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  const TicketAnswer waiting = Join("alice");
  ASSERT_EQ(waiting.status, TicketStatus::kWaiting);
  ASSERT_EQ(Join().status, TicketStatus::kFull);

  const TicketAnswer vip = Admit("vip");
  EXPECT_EQ(vip.status, TicketStatus::kAdmitted);
  EXPECT_EQ(vip.ticket, core::kBypassTicketBase + 1) << "the first of the bypass range";
  EXPECT_EQ(vip.frontier_at_join, vip.ticket) << "nobody ahead: initialPosition 0";
  EXPECT_EQ(vip.position, 0u);
  EXPECT_EQ(vip.identity, "vip");
  EXPECT_GT(vip.admitted_unix, 1'600'000'000);

  core::Policy closed = p;
  closed.mode = core::Mode::kReject;
  SetPolicy(closed);
  ASSERT_EQ(Join().status, TicketStatus::kRejected);
  const TicketAnswer in_closed = Admit();
  EXPECT_EQ(in_closed.status, TicketStatus::kAdmitted) << "a closed room too";
  EXPECT_EQ(in_closed.ticket, vip.ticket + 1);

  core::Policy paused = p;
  paused.mode = core::Mode::kPause;
  SetPolicy(paused);
  EXPECT_EQ(Admit("alice").status, TicketStatus::kAdmitted) << "a paused one too";

  // The line is as it was, and alice keeps her place in it.
  const TicketAnswer again = Join("alice");
  EXPECT_EQ(again.status, TicketStatus::kWaiting);
  EXPECT_EQ(again.ticket, waiting.ticket);
  const RoomFigures f = Room().Figures();
  EXPECT_EQ(f.last_issued, 2u);
  EXPECT_EQ(f.frontier, 1u);
  EXPECT_EQ(f.queue_size, 1u);
  EXPECT_EQ(f.active, 4) << "bypass sessions count in active";

  const RoomFigures counted =
      FiguresWhen([](const RoomFigures& g) { return g.counters.bypass == 3; });
  EXPECT_EQ(counted.counters.admissions, 1u) << "bypass admissions are counted apart";
  EXPECT_EQ(counted.counters.immediate, 1u);
  EXPECT_EQ(counted.counters.joins, 2u);
}

TEST_P(RoomStateContract, ABypassSessionHeartbeatsPollsAndLeavesLikeAnyOther) {
  Open(BasePolicy());
  const TicketAnswer a = Admit("vip");
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  EXPECT_TRUE(Heartbeat(a.ticket));
  EXPECT_FALSE(Heartbeat(a.ticket + 1)) << "not issued yet";
  const TicketAnswer polled = Status(a);
  EXPECT_EQ(polled.status, TicketStatus::kAdmitted);
  EXPECT_EQ(polled.ticket, a.ticket);
  EXPECT_EQ(polled.admitted_unix, a.admitted_unix) << "the same session";
  EXPECT_EQ(polled.identity, "vip");
  EXPECT_EQ(Room().Figures().active, 1);

  EXPECT_TRUE(Leave(a.ticket));
  EXPECT_FALSE(Leave(a.ticket)) << "the session has ended already";
  EXPECT_FALSE(Heartbeat(a.ticket));
  EXPECT_EQ(Status(a).status, TicketStatus::kExpired);
  EXPECT_EQ(Room().Figures().active, 0);
  EXPECT_EQ(Admit().ticket, a.ticket + 1) << "a bypass number is never reused";
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.bypass == 2; });
  EXPECT_EQ(f.counters.leaves, 1u);
  EXPECT_EQ(f.counters.admissions, 0u);
}

TEST_P(RoomStateContract, AnIdleBypassSessionEndsAfterSessionTimeout) {
  core::Policy p = BasePolicy();
  p.session_timeout = seconds(1);
  Open(p);
  const auto start = std::chrono::steady_clock::now();
  const TicketAnswer a = Admit();
  ASSERT_EQ(a.status, TicketStatus::kAdmitted);
  EXPECT_FALSE(Room().SessionEnded(a.ticket));
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().active == 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(900));
  EXPECT_TRUE(Room().SessionEnded(a.ticket)) << "this node ended it";
  EXPECT_FALSE(Heartbeat(a.ticket));
  EXPECT_EQ(Status(a).status, TicketStatus::kExpired);
  const RoomFigures f =
      FiguresWhen([](const RoomFigures& g) { return g.counters.expired_sessions == 1; });
  EXPECT_EQ(f.counters.bypass, 1u);
}

// Every way a session ends is measured from its admission into the store's session lengths,
// which the figures carry (on Redis, cluster-wide, once a tick has read them).
TEST_P(RoomStateContract, EverySessionThatEndsIsMeasuredFromItsAdmission) {
  core::Policy p = BasePolicy();
  p.max_active = 10;
  p.session_timeout = seconds(1);
  const auto started = std::chrono::steady_clock::now();
  Open(p);
  const TicketAnswer left = Join();
  const TicketAnswer idle = Join();
  const TicketAnswer checked_out = Join("carl");
  const TicketAnswer pass = Admit("vip");
  const TicketAnswer ended = Admit("");
  for (const TicketAnswer* t : {&left, &idle, &checked_out, &pass, &ended}) {
    ASSERT_EQ(t->status, TicketStatus::kAdmitted);
  }
  EXPECT_TRUE(Leave(left.ticket));
  EXPECT_TRUE(LeaveIdentity("carl"));
  // `idle` idles out at the tick past its timeout; the others are kept alive meanwhile.
  ASSERT_TRUE(TickUntil([&] {
    Heartbeat(pass.ticket);
    Heartbeat(ended.ticket);
    return Room().SessionEnded(idle.ticket);
  }));
  EXPECT_EQ(LeaveAll(), 2u) << "an operator ends the rest";
  const RoomFigures f = FiguresWhen([](const RoomFigures& figures) {
    return figures.counters.leaves + figures.counters.expired_sessions == 5;
  });
  const auto elapsed_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
  const core::SessionLengths& lengths = f.counters.session_lengths;
  EXPECT_EQ(lengths.count(), 5u) << "every way out is measured, once";
  EXPECT_EQ(f.counters.expired_sessions, 1u);
  ASSERT_LT(elapsed_ms, 10'000) << "all within the first bucket";
  EXPECT_EQ(lengths.buckets[0], 5u);
  // The idle one lasted its timeout at least, and none lasted longer than the test.
  EXPECT_GE(lengths.sum_ms, 1'000u);
  EXPECT_LE(lengths.sum_ms, static_cast<std::uint64_t>(5 * elapsed_ms));
}

TEST_P(RoomStateContract, SessionEndedIsFalseWhileASessionLivesAndTrueOnceItLeaves) {
  Open(BasePolicy());
  const TicketAnswer line = Join();
  const TicketAnswer bypass = Admit();
  ASSERT_EQ(line.status, TicketStatus::kAdmitted);
  // Ticks (which read what other nodes ended, on Redis) change nothing about live sessions.
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().counters.bypass == 1; }));
  EXPECT_FALSE(Room().SessionEnded(line.ticket));
  EXPECT_FALSE(Room().SessionEnded(bypass.ticket));
  ASSERT_TRUE(Leave(line.ticket));
  ASSERT_TRUE(Leave(bypass.ticket));
  EXPECT_TRUE(Room().SessionEnded(line.ticket)) << "at once, on the node that ended it";
  EXPECT_TRUE(Room().SessionEnded(bypass.ticket));
  const TicketAnswer other = Join();
  EXPECT_FALSE(Room().SessionEnded(other.ticket)) << "other sessions live on";
  EXPECT_TRUE(Room().SessionEnded(0)) << "ticket 0 (a fail_open token's) names no session";
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().counters.leaves == 2; }));
  EXPECT_TRUE(Room().SessionEnded(line.ticket)) << "and stays ended";
}

// Every node refuses a session ended on another within its next tick, a node started later
// learns of the recent ends, and so does one that could not reach Redis when they happened.
TEST_P(RoomStateContract, ASessionEndedOnOneNodeReadsAsEndedOnEveryNode) {
  if (GetParam() == Kind::kEmbedded) GTEST_SKIP() << "one node holds the embedded store";
  core::Policy p = BasePolicy();
  p.max_active = 10;
  p.session_timeout = seconds(2);
  Open(p);
  // A node whose connections the test can refuse: its own Redis user.
  ASSERT_EQ(redis_->Run({"ACL", "SETUSER", "other", "on", ">secret", "~*", "&*", "+@all"}), "OK");
  redis::ClientOptions refusable = redis::testing::OptionsFor(*redis_);
  refusable.username = "other";
  refusable.password = "secret";
  std::unique_ptr<RedisStore> other = OpenNode("contract-node-2", refusable);
  RoomState& there = *other->Find("r");
  ASSERT_TRUE(AfterOneTick(*other, [&] { return !there.Figures().tick_holder.empty(); }));

  const TicketAnswer left = Join();
  const TicketAnswer bypass = Admit();
  const TicketAnswer idle = Admit();
  ASSERT_TRUE(AfterOneTick(*other, [&] { return there.Figures().active == 3; }));
  EXPECT_FALSE(there.SessionEnded(left.ticket));
  EXPECT_FALSE(there.SessionEnded(bypass.ticket));

  // A leave here reads as ended there after its next tick.
  ASSERT_TRUE(Leave(left.ticket));
  EXPECT_TRUE(AfterOneTick(*other, [&] { return there.SessionEnded(left.ticket); }))
      << "another node learns of a leave at its next tick";
  EXPECT_FALSE(there.SessionEnded(bypass.ticket));

  // Idleness, found by this node's tick (it holds the lease), the same; heartbeats keep the
  // bypass session alive meanwhile.
  ASSERT_TRUE(TickUntil([&] {
    Heartbeat(bypass.ticket);
    return Room().SessionEnded(idle.ticket);
  }));
  EXPECT_TRUE(AfterOneTick(*other, [&] { return there.SessionEnded(idle.ticket); }))
      << "another node learns of an idle expiry at its next tick";
  EXPECT_FALSE(there.SessionEnded(bypass.ticket));

  // A node started now learns of what ended before it started.
  std::unique_ptr<RedisStore> later = OpenNode("contract-node-3");
  RoomState& late = *later->Find("r");
  EXPECT_TRUE(AfterOneTick(*later, [&] {
    return late.SessionEnded(left.ticket) && late.SessionEnded(idle.ticket);
  })) << "a node that starts reads back the recent ends";
  EXPECT_FALSE(late.SessionEnded(bypass.ticket));
  later->Close();

  // The other node loses Redis; the bypass session ends meanwhile.
  ASSERT_EQ(redis_->Run({"ACL", "SETUSER", "other", "off"}), "OK");
  redis_->Run({"CLIENT", "KILL", "USER", "other"});
  ASSERT_TRUE(redis::testing::Eventually([&] { return !other->Ready(); }));
  ASSERT_TRUE(Leave(bypass.ticket));
  EXPECT_FALSE(redis::testing::Eventually(
      [&] {
        other->Tick();
        std::this_thread::sleep_for(milliseconds(10));
        return there.SessionEnded(bypass.ticket);
      },
      milliseconds(300)))
      << "cut off, it cannot know";
  ASSERT_EQ(redis_->Run({"ACL", "SETUSER", "other", "on"}), "OK");
  EXPECT_TRUE(redis::testing::Eventually([&] {
    other->Tick();
    std::this_thread::sleep_for(milliseconds(10));
    return there.SessionEnded(bypass.ticket);
  })) << "a node that was cut off learns of what ended meanwhile once it reconnects";
  other->Close();
}

// A node is ready (/readyz) only once it knows what other nodes ended: a token of a session that
// left through another node must not verify here in the node's first instants.
TEST_P(RoomStateContract, ANodeIsReadyOnlyAfterItsFirstTickHasAnswered) {
  if (GetParam() == Kind::kEmbedded) GTEST_SKIP() << "one node holds the embedded store";
  Open(BasePolicy());
  const TicketAnswer left = Join();
  ASSERT_TRUE(Leave(left.ticket));

  RedisStoreOptions options;
  options.client = redis::testing::OptionsFor(*redis_);
  options.node_id = "contract-node-late";
  options.lease = milliseconds(1000);
  RedisStore late(rooms_, util::SystemClock::Instance(), options);
  RoomState& room = *late.Find("r");
  ASSERT_TRUE(redis::testing::Eventually([&] { return late.client().connected(); }));
  late.Tick();  // the first tick adopts the room, and only that
  ASSERT_TRUE(redis::testing::Eventually([&] { return room.incarnation() != 0; }));
  EXPECT_FALSE(late.Ready()) << "adopted, but it has not read the ends yet";
  EXPECT_FALSE(room.SessionEnded(left.ticket));
  late.Tick();
  EXPECT_TRUE(redis::testing::Eventually([&] { return late.Ready(); }));
  EXPECT_TRUE(room.SessionEnded(left.ticket)) << "ready means it knows";
  late.Close();
}

TEST_P(RoomStateContract, ARoomThatBeginsAnewForgetsTheEndsOfItsFormerLife) {
  if (GetParam() == Kind::kEmbedded) GTEST_SKIP() << "the embedded room's life is its directory's";
  Open(BasePolicy());
  const TicketAnswer a = Admit();
  ASSERT_TRUE(Leave(a.ticket));
  ASSERT_TRUE(Room().SessionEnded(a.ticket));
  const std::uint64_t incarnation = Room().incarnation();
  // Redis loses the room; the next adoption (a reload here) finds it new.
  ASSERT_EQ(redis_->Run({"FLUSHALL"}), "OK");
  store_->Reconfigure(rooms_);
  ASSERT_TRUE(TickUntil([&] { return Room().incarnation() != incarnation; }));
  const TicketAnswer again = Admit();
  EXPECT_EQ(again.ticket, a.ticket) << "the new life numbers from the start";
  EXPECT_FALSE(Room().SessionEnded(again.ticket)) << "not the session that ended before";
}

// A one-time key (a proof-of-work challenge) is taken once per room while it is remembered,
// and forgotten after its time. Real time: the keep is short and the forgetting awaited.
TEST_P(RoomStateContract, AOneTimeKeyIsTakenOncePerRoomUntilForgotten) {
  Open({{"r", BasePolicy()}, {"s", BasePolicy()}});
  EXPECT_TRUE(ConsumeOnce("challenge-1", seconds(30)));
  EXPECT_FALSE(ConsumeOnce("challenge-1", seconds(30))) << "taken already";
  EXPECT_TRUE(ConsumeOnce("challenge-2", seconds(30))) << "another key";
  EXPECT_TRUE(ConsumeOnce("challenge-1", seconds(30), "s")) << "another room's keys are its own";
  EXPECT_TRUE(ConsumeOnce("brief", milliseconds(200)));
  EXPECT_FALSE(ConsumeOnce("brief", milliseconds(200)));
  // Forgotten once its time is over (Redis: the key's PX; embedded: the next taking prunes).
  EXPECT_TRUE(redis::testing::Eventually([&] { return ConsumeOnce("brief", milliseconds(200)); },
                                         seconds(5)));
  EXPECT_FALSE(ConsumeOnce("challenge-1", seconds(30))) << "the long-lived key is still held";
}

// Redis: a key taken through one node is refused through every other.
TEST_P(RoomStateContract, AOneTimeKeyTakenOnOneNodeIsRefusedOnAnother) {
  if (GetParam() == Kind::kEmbedded) GTEST_SKIP() << "one node holds the embedded store";
  Open(BasePolicy());
  std::unique_ptr<RedisStore> other = OpenNode("other-node");
  EXPECT_TRUE(ConsumeOnce("shared", seconds(30)));
  std::promise<boost::system::result<bool>> done;
  auto future = done.get_future();
  other->Find("r")->ConsumeOnce("shared", seconds(30),
                                [&done](auto r) { done.set_value(std::move(r)); });
  EXPECT_FALSE(Await(future));
  other->Close();
}

// Abandonment. Polls are quick (pollAfterMs 200 ms, 220 ms with jitter) and two of them abandon:
// a ticket silent for about 0.54 s leaves the line.
core::Policy AbandonPolicy(std::uint32_t after_polls = 2) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  p.poll_min = milliseconds(200);
  p.poll_max = milliseconds(200);
  p.abandon_after_polls = after_polls;
  return p;
}

TEST_P(RoomStateContract, ASilentTicketLeavesTheLineAndIsPassedWithoutASlot) {
  Open(AbandonPolicy());
  const TicketAnswer holder = Join();
  ASSERT_EQ(holder.status, TicketStatus::kAdmitted);
  const TicketAnswer a = Join(), silent = Join(), c = Join();
  ASSERT_EQ(c.status, TicketStatus::kWaiting);
  EXPECT_EQ(Room().Figures().queue_size, 3u);
  // `silent` never polls: after two intervals it is out of the line's size, in the figures and
  // in every poll's answer; the positions of the others stay what they were.
  ASSERT_TRUE(PollUntil({a, c}, [&] { return Room().Figures().queue_size == 2; }))
      << "the silent ticket stayed in the line";
  EXPECT_EQ(Status(c).queue_size, 2u);
  EXPECT_EQ(Status(c).position, 3u) << "places are numbers: a position never grows";
  // The frontier passes it without a call: the slot `a` frees goes to `c`.
  DrainInOrder(holder.ticket, {a, c});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{a.ticket, c.ticket})) << "FIFO";
  EXPECT_EQ(Status(silent).status, TicketStatus::kExpired);
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.abandoned == 1; });
  EXPECT_EQ(f.counters.no_shows, 0u) << "it never held a call";
  EXPECT_EQ(f.queue_size, 0u);
}

TEST_P(RoomStateContract, AnObserversReadIsNotAPoll) {
  Open(AbandonPolicy());
  const TicketAnswer holder = Join();
  ASSERT_EQ(holder.status, TicketStatus::kAdmitted);
  const TicketAnswer a = Join(), silent = Join();
  ASSERT_EQ(silent.status, TicketStatus::kWaiting);
  // The traffic analysis reads what `silent` is told, again and again: that keeps no place.
  ASSERT_TRUE(PollUntil({a}, [&] {
    TicketAnswer told;
    if (Room().PeekWaiting(silent.ticket, told)) {
      EXPECT_EQ(told.position, 2u);
    }
    return Room().Figures().queue_size == 1;
  })) << "reading the silent ticket's answer kept it in line";
}

TEST_P(RoomStateContract, ATicketThatPollsAgainBeforeItsTurnKeepsItsPlace) {
  Open(AbandonPolicy());
  const TicketAnswer holder = Join();
  const TicketAnswer a = Join(), away = Join(), c = Join();
  ASSERT_TRUE(PollUntil({a, c}, [&] { return Room().Figures().queue_size == 2; }));
  const TicketAnswer back = Status(away);
  EXPECT_EQ(back.status, TicketStatus::kWaiting);
  EXPECT_EQ(back.position, 2u) << "its own place";
  ASSERT_TRUE(PollUntil({a, away, c}, [&] { return Room().Figures().queue_size == 3; }))
      << "it was not counted again";
  DrainInOrder(holder.ticket, {a, away, c});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{a.ticket, away.ticket, c.ticket}));
  EXPECT_EQ(FiguresWhen([](const RoomFigures& g) {
              return g.counters.admissions == 4;
            }).counters.abandoned,
            0u);
}

// Attack: a client that polls only every N-1 intervals keeps its place, and no better one.
TEST_P(RoomStateContract, PollingJustOftenEnoughKeepsThePlaceButGainsNothing) {
  Open(AbandonPolicy(3));  // silent for 3 x 220 ms + 100 ms abandons
  const TicketAnswer holder = Join();
  const TicketAnswer a = Join(), sparse = Join(), c = Join();
  auto next_poll = std::chrono::steady_clock::now();
  auto poll_sparse = [&] {
    if (std::chrono::steady_clock::now() < next_poll) return;
    const TicketAnswer s = Status(sparse);
    if (s.status == TicketStatus::kWaiting) {
      EXPECT_EQ(s.position, sparse.ticket - Room().Figures().frontier) << "its own place";
      EXPECT_LE(s.position, sparse.position);
    } else if (s.status == TicketStatus::kAdmitted &&
               std::find(admitted_.begin(), admitted_.end(), sparse.ticket) == admitted_.end()) {
      admitted_.push_back(sparse.ticket);
    }
    next_poll = std::chrono::steady_clock::now() + milliseconds(2 * 200);  // 2 intervals
  };
  const auto until = std::chrono::steady_clock::now() + seconds(3);
  ASSERT_TRUE(PollUntil({a, c}, [&] {
    poll_sparse();
    return std::chrono::steady_clock::now() >= until;
  }));
  EXPECT_EQ(Room().Figures().queue_size, 3u) << "nobody was silent long enough";
  std::uint64_t inside = holder.ticket;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Leave(inside));
    const std::size_t before = admitted_.size();
    ASSERT_TRUE(PollUntil({a, c}, [&] {
      poll_sparse();
      return admitted_.size() > before;
    }));
    inside = admitted_.back();
  }
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{a.ticket, sparse.ticket, c.ticket}));
}

// Attack: a ticket passed as abandoned, replayed (polled, or its identity joining again), does not
// get its place back: it goes to the end of the line.
TEST_P(RoomStateContract, AnAbandonedTicketPassedAndReplayedGoesToTheBack) {
  Open(AbandonPolicy());
  const TicketAnswer holder = Join();
  const TicketAnswer gone = Join("someone"), b = Join(), c = Join();
  ASSERT_TRUE(PollUntil({b, c}, [&] { return Room().Figures().queue_size == 2; }));
  ASSERT_TRUE(Leave(holder.ticket));
  ASSERT_TRUE(PollUntil({b, c}, [&] { return admitted_.size() == 1; }));
  EXPECT_EQ(admitted_.front(), b.ticket);
  EXPECT_EQ(Status(gone).status, TicketStatus::kExpired);
  const TicketAnswer again = Join("someone");
  EXPECT_EQ(again.status, TicketStatus::kWaiting);
  EXPECT_GT(again.ticket, c.ticket) << "behind everyone in line";
  EXPECT_GT(again.position, Status(c).position);
}

// Attack: a flood of joins that never poll is marked in bounded batches, one per tick.
TEST_P(RoomStateContract, AFloodOfSilentJoinsIsMarkedInBoundedBatches) {
  if (GetParam() == Kind::kEmbedded) {
    GTEST_SKIP() << "the embedded room's bound (core::Room::kSweepBudget) is tested on a fake "
                    "clock in abandonment_test";
  }
  abandon_sweep_batch_ = 50;
  Open(AbandonPolicy());
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(Join().status, TicketStatus::kWaiting);
  // No tick meanwhile: all 200 become overdue together (0.54 s), then each tick marks 50.
  std::this_thread::sleep_for(milliseconds(800));
  for (std::uint64_t left : {150u, 100u, 50u, 0u}) {
    EXPECT_TRUE(AfterOneTick(*store_, [&] { return Room().Figures().queue_size == left; }))
        << "expected " << left << " left after one more tick, have " << Room().Figures().queue_size;
  }
}

TEST_P(RoomStateContract, AbandonAfterPollsIsChangedAtRunTimeAndZeroTurnsItOff) {
  Open(AbandonPolicy(0));
  ASSERT_EQ(Join().status, TicketStatus::kAdmitted);
  // `silent` is behind `present`: one marked right behind the frontier is passed at once.
  const TicketAnswer present = Join(), silent = Join();
  const auto until = std::chrono::steady_clock::now() + seconds(2);
  ASSERT_TRUE(PollUntil({present}, [&] { return std::chrono::steady_clock::now() >= until; }));
  EXPECT_EQ(Room().Figures().queue_size, 2u) << "off: nobody is abandoned";
  core::Policy on = AbandonPolicy(2);
  SetPolicy(on);
  EXPECT_EQ(Room().policy().abandon_after_polls, 2u);
  ASSERT_TRUE(PollUntil({present}, [&] { return Room().Figures().queue_size == 1; }))
      << "switched on: the silent ticket leaves after its allowance";
  EXPECT_EQ(Status(silent).status, TicketStatus::kWaiting) << "and comes back when it polls";
  ASSERT_TRUE(PollUntil({present, silent}, [&] { return Room().Figures().queue_size == 2; }));
}

// The opening draw: the line counts places, and the tickets of the draw stand where it put them.
TEST_P(RoomStateContract, AdmissionsFollowTheDrawnOrderAndPositionsNeverGrow) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  const TicketAnswer holder = Join();
  ASSERT_EQ(holder.status, TicketStatus::kAdmitted);
  std::vector<TicketAnswer> line;
  for (int i = 0; i < 5; ++i) line.push_back(Join());
  ASSERT_EQ(line.back().status, TicketStatus::kWaiting);
  const std::vector<std::uint64_t> order{5, 3, 6, 2, 4};
  ASSERT_TRUE(Draw(2, order));
  // Every poll from now on (cached or not) gives the drawn place less the frontier (1).
  for (std::size_t i = 0; i < order.size(); ++i) {
    const TicketAnswer a = Status(line[order[i] - 2]);
    EXPECT_EQ(a.status, TicketStatus::kWaiting);
    EXPECT_EQ(a.position, i + 1) << "ticket " << order[i] << " is drawn at place " << i + 2;
  }
  EXPECT_EQ(Room().Figures().queue_size, 5u);
  DrainInOrder(holder.ticket, line);
  EXPECT_EQ(admitted_, order) << "called in the drawn order, not by number";
  const RoomFigures f =
      FiguresWhen([](const RoomFigures& g) { return g.counters.admissions == 6; });
  EXPECT_EQ(f.counters.no_shows, 0u);
  EXPECT_EQ(f.queue_size, 0u);
  // Behind the draw the line is in arrival order again, and a newcomer's position counts places.
  ASSERT_TRUE(Leave(admitted_.back()));
  const TicketAnswer inside = Join();
  const TicketAnswer after = Join();
  EXPECT_EQ(after.status, TicketStatus::kWaiting);
  EXPECT_EQ(Status(after).position, 1u);
  EXPECT_EQ(inside.status, TicketStatus::kAdmitted);
}

// Attack: an order that is not a permutation of waiting tickets (a ticket twice, one outside the
// range, one not issued, one already called) must not reorder the line or take anyone's place.
TEST_P(RoomStateContract, AForgedDrawIsRefusedAndChangesNothing) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  const TicketAnswer holder = Join();
  std::vector<TicketAnswer> line;
  for (int i = 0; i < 4; ++i) line.push_back(Join());  // tickets 2..5
  EXPECT_FALSE(Draw(2, {5, 5, 3, 2})) << "a ticket twice (and one left out)";
  EXPECT_FALSE(Draw(2, {2, 3, 4, 9})) << "a ticket outside first..last";
  EXPECT_FALSE(Draw(2, {2, 3, 4, 5, 6, 7})) << "tickets not issued";
  EXPECT_FALSE(Draw(1, {5, 4, 3, 2, 1})) << "a ticket already called (admitted)";
  EXPECT_FALSE(Draw(0, {1})) << "no ticket 0";
  EXPECT_FALSE(Draw(2, {})) << "an empty draw";
  for (const TicketAnswer& t : line) {
    EXPECT_EQ(Status(t).position, t.ticket - 1) << "ticket " << t.ticket << " kept its place";
  }
  // A true draw is taken; a second one while it is in use is not.
  ASSERT_TRUE(Draw(3, {5, 3, 4}));
  EXPECT_FALSE(Draw(3, {3, 4, 5})) << "one draw at a time";
  DrainInOrder(holder.ticket, line);
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{2, 5, 3, 4}));
}

// One draw at a time: a second waits until every place of the first is settled, its last call
// claimed included (its calls are placed by the first draw).
TEST_P(RoomStateContract, ASecondDrawWaitsUntilTheFirstIsSettled) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  const TicketAnswer holder = Join();
  const TicketAnswer drawn = Join();  // 2
  ASSERT_TRUE(Draw(2, {2}));
  ASSERT_TRUE(Leave(holder.ticket));
  ASSERT_TRUE(TickUntil([&] { return Room().Figures().called_unclaimed == 1; }));
  const TicketAnswer next = Join();  // 3: the call of 2 holds the only slot
  ASSERT_EQ(next.status, TicketStatus::kWaiting);
  EXPECT_FALSE(Draw(3, {3})) << "the call of the first draw is not claimed yet";
  EXPECT_EQ(Status(drawn).status, TicketStatus::kAdmitted);
  // (The embedded room drops settled calls at its tick.)
  EXPECT_TRUE(TickUntil([&] { return Draw(3, {3}); })) << "the first draw is settled";
}

TEST_P(RoomStateContract, ATicketGivenBackInTheDrawnRangeIsPassedOver) {
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  const TicketAnswer holder = Join();
  std::vector<TicketAnswer> line;
  for (int i = 0; i < 4; ++i) line.push_back(Join());  // tickets 2..5
  // Given back before the draw (the draw may still name it) and after it.
  EXPECT_TRUE(Withdraw(3));
  ASSERT_TRUE(Draw(2, {4, 3, 5, 2}));
  EXPECT_TRUE(Withdraw(5));
  EXPECT_FALSE(Withdraw(5)) << "once";
  TicketAnswer cached;
  for (std::uint64_t gone : {3u, 5u}) {
    EXPECT_FALSE(Room().StatusCached(gone, line[gone - 2].frontier_at_join, cached));
    EXPECT_EQ(Status(line[gone - 2]).status, TicketStatus::kExpired) << gone;
  }
  EXPECT_EQ(Room().Figures().queue_size, 2u);
  EXPECT_EQ(Status(line[2]).position, 1u) << "ticket 4 is drawn first";
  EXPECT_EQ(Status(line[0]).position, 4u) << "ticket 2 is drawn last: places count, not people";
  DrainInOrder(holder.ticket, {line[0], line[2]});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{4, 2}));
  const RoomFigures f =
      FiguresWhen([](const RoomFigures& g) { return g.counters.admissions == 3; });
  EXPECT_EQ(f.counters.withdrawn, 2u);
  EXPECT_EQ(f.counters.no_shows, 0u) << "a place given back takes no call";
  EXPECT_EQ(f.queue_size, 0u);
}

TEST_P(RoomStateContract, ASilentTicketInTheDrawnRangeIsPassedAfterAFreshAllowance) {
  Open(AbandonPolicy());
  const TicketAnswer holder = Join();
  const TicketAnswer a = Join(), silent = Join(), c = Join();  // 2, 3, 4
  ASSERT_EQ(c.status, TicketStatus::kWaiting);
  ASSERT_TRUE(Draw(2, {4, 3, 2}));
  ASSERT_TRUE(PollUntil({a, c}, [&] { return Room().Figures().queue_size == 2; }))
      << "the silent ticket stayed in the line";
  EXPECT_EQ(Status(a).position, 3u) << "its drawn place";
  DrainInOrder(holder.ticket, {a, c});
  EXPECT_EQ(admitted_, (std::vector<std::uint64_t>{c.ticket, a.ticket}));
  EXPECT_EQ(Status(silent).status, TicketStatus::kExpired);
  const RoomFigures f = FiguresWhen([](const RoomFigures& g) { return g.counters.abandoned == 1; });
  EXPECT_EQ(f.counters.no_shows, 0u);
}

TEST_P(RoomStateContract, ADrawMadeOnOneNodeGivesEveryNodeTheDrawnPlaces) {
  if (GetParam() == Kind::kEmbedded) GTEST_SKIP() << "one node";
  core::Policy p = BasePolicy();
  p.max_active = 1;
  Open(p);
  std::unique_ptr<RedisStore> other = OpenNode("other-node");
  const TicketAnswer holder = Join();
  const TicketAnswer b = Join(), c = Join(), d = Join();  // 2, 3, 4
  ASSERT_EQ(d.status, TicketStatus::kWaiting);
  RoomState& there = *other->Find("r");
  auto cached_position = [&there](const TicketAnswer& t) -> std::uint64_t {
    TicketAnswer a;
    return there.StatusCached(t.ticket, t.frontier_at_join, a) ? a.position : 0;
  };
  ASSERT_TRUE(AfterOneTick(*other, [&] { return cached_position(d) == 3; }));
  ASSERT_TRUE(Draw(2, {4, 2, 3}));
  // The other node learns the draw at its next tick and answers its polls from it.
  EXPECT_TRUE(AfterOneTick(*other,
                           [&] {
                             return cached_position(d) == 1 && cached_position(b) == 2 &&
                                    cached_position(c) == 3;
                           }))
      << "positions there: " << cached_position(d) << ", " << cached_position(b) << ", "
      << cached_position(c);
  // The call follows the draw (whichever node holds the lease): ticket 4 is called first, and
  // no node answers it as waiting any more.
  ASSERT_TRUE(Leave(holder.ticket));
  ASSERT_TRUE(TickUntil([&] {
    other->Tick();
    return Room().Figures().called_unclaimed == 1;
  }));
  EXPECT_TRUE(AfterOneTick(*other, [&] {
    TicketAnswer a;
    return !there.StatusCached(d.ticket, d.frontier_at_join, a) && cached_position(b) == 1;
  })) << "ticket 4 is called; ticket 2 is next";
  EXPECT_EQ(AwaitDecided(d).status, TicketStatus::kAdmitted);
  EXPECT_EQ(Status(b).status, TicketStatus::kWaiting);
  EXPECT_EQ(Status(b).position, 1u);
  other->Close();
}

INSTANTIATE_TEST_SUITE_P(BothStores, RoomStateContract,
                         testing::Values(Kind::kEmbedded, Kind::kRedis), KindName);

}  // namespace
}  // namespace vwr::store
