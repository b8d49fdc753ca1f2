#include "store/embedded_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

namespace vwr::store {
namespace {

using std::chrono::milliseconds;

core::Policy TightPolicy() {
  core::Policy p;
  p.max_active = 10;
  p.admit_rate = 100;
  p.burst = 10;
  p.session_timeout = std::chrono::seconds(1);
  return p;
}

TEST(EmbeddedRoom, WaitingStatusComesFromPublishedFigures) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);
  EmbeddedRoom* room = store.Find("r");
  ASSERT_NE(room, nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(room->Join("").status, core::TicketStatus::kAdmitted);
  const TicketAnswer waiting = room->Join("");
  ASSERT_EQ(waiting.status, core::TicketStatus::kWaiting);
  const TicketAnswer polled = room->Status(waiting.ticket, waiting.frontier_at_join);
  EXPECT_EQ(polled.status, core::TicketStatus::kWaiting);
  EXPECT_EQ(polled.position, 1u);
  EXPECT_EQ(polled.queue_size, 1u);
  EXPECT_EQ(polled.eta_seconds, 1);
}

TEST(EmbeddedRoom, TheLockFreePollReadsTheWaitTheModelForesaw) {
  // What a waiting join is told comes from core::Room's model under the room's mutex; a poll of
  // the same place reads the curve the tick published as atomics. They must agree.
  util::FakeClock clock;
  core::Policy p = TightPolicy();
  p.session_timeout = std::chrono::seconds(3);  // nobody heartbeats: sessions end after 3 s
  EmbeddedStore store({{"r", p}}, clock);
  EmbeddedRoom* room = store.Find("r");
  ASSERT_NE(room, nullptr);
  std::vector<TicketAnswer> line;
  for (int i = 0; i < 200; ++i) line.push_back(room->Join(""));
  for (int tick = 0; tick < 100; ++tick) {
    clock.Advance(milliseconds(100));
    store.Tick();
    for (TicketAnswer& t : line) {
      // Waiting users poll until let in; those inside never check in again, so they go idle.
      if (t.status == core::TicketStatus::kWaiting) t = room->Status(t.ticket, t.frontier_at_join);
    }
  }
  ASSERT_GT(room->Figures().counters.expired_sessions, 10u);
  const TicketAnswer joined = room->Join("");
  ASSERT_EQ(joined.status, core::TicketStatus::kWaiting);
  ASSERT_TRUE(joined.eta_seconds.has_value());
  EXPECT_EQ(joined.eta_basis, core::WaitBasis::kObserved);
  TicketAnswer cached;
  ASSERT_TRUE(room->StatusCached(joined.ticket, joined.frontier_at_join, cached));
  EXPECT_EQ(cached.position, joined.position);
  EXPECT_EQ(cached.eta_seconds, joined.eta_seconds);
  EXPECT_EQ(cached.eta_low_seconds, joined.eta_low_seconds);
  EXPECT_EQ(cached.eta_high_seconds, joined.eta_high_seconds);
  EXPECT_EQ(cached.eta_basis, joined.eta_basis);
  // 10 slots turning over every 3 s or so: a few seconds per ten places.
  EXPECT_GT(*cached.eta_seconds, static_cast<std::int64_t>(cached.position) * 3 / 10 / 2);
  EXPECT_LT(*cached.eta_seconds, static_cast<std::int64_t>(cached.position) * 3 / 10 * 2);
  // A newcomer's wait is the same curve read one place further back.
  const RoomFigures f = room->Figures();
  EXPECT_GE(f.newcomer_eta_seconds, cached.eta_seconds);
}

TEST(EmbeddedRoom, UnknownRoomIsNull) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);
  EXPECT_EQ(store.Find("x"), nullptr);
  EXPECT_EQ(store.Rooms().size(), 1u);
}

TEST(EmbeddedStore, ReconfigureAddsRemovesAndChangesPolicies) {
  util::FakeClock clock;
  EmbeddedStore store({{"a", TightPolicy()}, {"b", TightPolicy()}}, clock);
  EmbeddedRoom* a = store.Find("a");
  const std::uint64_t first = a->Join("").ticket;

  core::Policy wider = TightPolicy();
  wider.max_active = 99;
  const ReconfigureReport report = store.Reconfigure({{"c", TightPolicy()}, {"a", wider}});
  EXPECT_EQ(report.added, std::vector<std::string>{"c"});
  EXPECT_EQ(report.removed, std::vector<std::string>{"b"});
  EXPECT_EQ(report.policy_changed, std::vector<std::string>{"a"});
  EXPECT_EQ(store.Find("b"), nullptr);
  ASSERT_NE(store.Find("c"), nullptr);
  EXPECT_EQ(store.Find("a"), a) << "a room kept is the same object";
  EXPECT_EQ(a->policy().max_active, 99);
  ASSERT_EQ(store.Rooms().size(), 2u);
  EXPECT_EQ(store.Rooms()[0]->id(), "c");
  EXPECT_EQ(store.Rooms()[1]->id(), "a");
  EXPECT_EQ(a->Status(first, 0).status, core::TicketStatus::kAdmitted);
}

TEST(EmbeddedStore, ARoomThatComesBackKeepsItsState) {
  util::FakeClock clock;
  EmbeddedStore store({{"a", TightPolicy()}, {"b", TightPolicy()}}, clock);
  EmbeddedRoom* b = store.Find("b");
  for (int i = 0; i < 12; ++i) b->Join("");
  store.Reconfigure({{"a", TightPolicy()}});
  store.Tick();
  const ReconfigureReport back = store.Reconfigure({{"a", TightPolicy()}, {"b", TightPolicy()}});
  EXPECT_EQ(back.added, std::vector<std::string>{"b"});
  ASSERT_EQ(store.Find("b"), b);
  EXPECT_EQ(b->Join("").ticket, 13u) << "no ticket number is issued twice";
}

TEST(EmbeddedStore, UnchangedFileKeepsTheOperatorPolicy) {
  util::FakeClock clock;
  EmbeddedStore store({{"a", TightPolicy()}}, clock);
  core::Policy p = TightPolicy();
  p.admit_rate = 3;
  store.Find("a")->SetPolicy(p);
  const ReconfigureReport report = store.Reconfigure({{"a", TightPolicy()}});
  EXPECT_TRUE(report.policy_changed.empty());
  EXPECT_DOUBLE_EQ(store.Find("a")->policy().admit_rate, 3);
}

// Reloads racing with requests: a room looked up stays usable whatever the reloads do, and a
// room present in every version is always found. (Run under ThreadSanitizer by make test-tsan.)
TEST(EmbeddedStore, ReconfigureWhileServing) {
  util::FakeClock clock;
  EmbeddedStore store({{"stay", TightPolicy()}}, clock);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::uint64_t> lost{0};  // lookups of "stay" that failed
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      while (!stop.load()) {
        EmbeddedRoom* stay = store.Find("stay");
        if (stay == nullptr) {
          lost.fetch_add(1);
          served.fetch_add(1);
          continue;
        }
        const TicketAnswer a = stay->Join("");
        stay->Status(a.ticket, a.frontier_at_join);
        if (EmbeddedRoom* flip = store.Find("flip")) flip->Join("");
        for (RoomState* room : store.Rooms()) (void)room->policy().max_active;
        served.fetch_add(1);
      }
    });
  }
  // Reload while the workers are demonstrably running: each round waits for some requests.
  for (int i = 0; i < 200; ++i) {
    core::Policy p = TightPolicy();
    p.max_active = 10 + i;
    if (i % 2 == 0) {
      store.Reconfigure({{"stay", p}, {"flip", TightPolicy()}});
    } else {
      store.Reconfigure({{"stay", p}});
    }
    store.Tick();
    const std::uint64_t seen = served.load();
    while (served.load() < seen + 3) std::this_thread::yield();
  }
  stop = true;
  for (std::thread& t : workers) t.join();
  EXPECT_GE(served.load(), 600u);
  EXPECT_EQ(lost.load(), 0u);
  EXPECT_EQ(store.Find("stay")->policy().max_active, 209);
}

// Many threads joining, polling and leaving while another ticks: the limits hold throughout and
// every ticket number is issued exactly once. (Run under ThreadSanitizer in the tsan preset.)
TEST(EmbeddedRoom, ConcurrentUseKeepsInvariants) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);
  EmbeddedRoom* room = store.Find("r");
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> max_seen_active{0};
  std::thread ticker([&] {
    while (!stop.load()) {
      clock.Advance(milliseconds(10));
      store.Tick();
      const RoomFigures f = room->Figures();
      std::uint64_t seen = max_seen_active.load();
      const auto now = static_cast<std::uint64_t>(f.active + f.called_unclaimed);
      while (now > seen && !max_seen_active.compare_exchange_weak(seen, now)) {
      }
    }
  });
  constexpr int kThreads = 4;
  constexpr int kJoinsPerThread = 500;
  std::vector<std::vector<std::uint64_t>> issued(kThreads);
  std::vector<std::thread> users;
  for (int t = 0; t < kThreads; ++t) {
    users.emplace_back([&, t] {
      for (int i = 0; i < kJoinsPerThread; ++i) {
        const TicketAnswer a = room->Join("");
        issued[t].push_back(a.ticket);
        const TicketAnswer s = room->Status(a.ticket, a.frontier_at_join);
        if (s.status == core::TicketStatus::kAdmitted) room->Leave(a.ticket);
      }
    });
  }
  for (auto& u : users) u.join();
  stop = true;
  ticker.join();
  std::vector<std::uint64_t> all;
  for (auto& v : issued) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kJoinsPerThread));
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);
  EXPECT_LE(max_seen_active.load(), 10u);
}

TEST(EmbeddedRoom, SessionEndedFollowsTheLiveSessions) {
  util::FakeClock clock;
  EmbeddedStore store({{"r", TightPolicy()}}, clock);  // in memory: no journal to watch
  EmbeddedRoom* room = store.Find("r");
  const TicketAnswer line = room->Join("");
  const TicketAnswer bypass = room->Admit("vip");
  ASSERT_EQ(line.status, core::TicketStatus::kAdmitted);
  ASSERT_EQ(bypass.ticket, core::kBypassTicketBase + 1);
  EXPECT_FALSE(room->SessionEnded(line.ticket));
  EXPECT_FALSE(room->SessionEnded(bypass.ticket));
  // Numbers that name no session: never issued, in line or beyond, or a waiting ticket.
  EXPECT_TRUE(room->SessionEnded(0));
  EXPECT_TRUE(room->SessionEnded(line.ticket + 1));
  EXPECT_TRUE(room->SessionEnded(bypass.ticket + 1));
  EXPECT_TRUE(room->SessionEnded(~std::uint64_t{0}));

  EXPECT_TRUE(room->Leave(bypass.ticket).found);
  EXPECT_TRUE(room->SessionEnded(bypass.ticket));
  EXPECT_FALSE(room->SessionEnded(line.ticket));
  clock.Advance(std::chrono::seconds(2));  // past session_timeout
  store.Tick();
  EXPECT_TRUE(room->SessionEnded(line.ticket)) << "ended by idleness";
  const TicketAnswer claimed = room->Join("");
  ASSERT_EQ(claimed.status, core::TicketStatus::kAdmitted);
  EXPECT_FALSE(room->SessionEnded(claimed.ticket));
}

// /api/v1/verify asks SessionEnded on every request while sessions come and go: it must never
// read a live session as ended, nor an ended one as live. (Run under ThreadSanitizer by make
// test-tsan.)
TEST(EmbeddedRoom, SessionEndedWhileSessionsComeAndGo) {
  util::FakeClock clock;
  core::Policy p = TightPolicy();
  p.max_active = 100'000;
  p.burst = 100'000;
  EmbeddedStore store({{"r", p}}, clock);
  EmbeddedRoom* room = store.Find("r");
  const TicketAnswer kept = room->Admit("kept");
  const TicketAnswer gone = room->Admit("gone");
  ASSERT_TRUE(room->Leave(gone.ticket).found);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> wrong{0};
  std::atomic<std::uint64_t> checks{0};
  std::vector<std::thread> verifiers;
  for (int v = 0; v < 3; ++v) {
    verifiers.emplace_back([&] {
      while (!stop.load()) {
        if (room->SessionEnded(kept.ticket) || !room->SessionEnded(gone.ticket)) wrong++;
        checks++;
      }
    });
  }
  // Thousands of sessions begin and end (the set grows and shrinks, replacing its tables).
  for (int round = 0; round < 20; ++round) {
    std::vector<std::uint64_t> tickets;
    for (int i = 0; i < 500; ++i) {
      tickets.push_back(i % 2 ? room->Admit("").ticket : room->Join("").ticket);
    }
    for (const std::uint64_t t : tickets) ASSERT_FALSE(room->SessionEnded(t));
    for (const std::uint64_t t : tickets) room->Leave(t);
    for (const std::uint64_t t : tickets) ASSERT_TRUE(room->SessionEnded(t));
  }
  const std::uint64_t seen = checks.load();
  while (checks.load() < seen + 100) std::this_thread::yield();
  stop = true;
  for (std::thread& t : verifiers) t.join();
  EXPECT_EQ(wrong.load(), 0u);
}

}  // namespace
}  // namespace vwr::store

namespace vwr::store {
namespace {

namespace fs = std::filesystem;

class DurableStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vwr-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<EmbeddedStore> Open(core::Policy policy = TightPolicy()) {
    EmbeddedOptions o;
    o.dir = dir_.string();
    o.snapshot_interval = std::chrono::hours(1);
    auto store = EmbeddedStore::Open({{"r", policy}}, clock_, o);
    EXPECT_TRUE(store.has_value());
    return store ? std::move(*store) : nullptr;
  }

  util::FakeClock clock_;
  fs::path dir_;
};

TEST_F(DurableStoreTest, StateSurvivesARestart) {
  std::vector<TicketAnswer> waiting;
  std::uint64_t admitted = 0;
  std::uint64_t incarnation = 0;
  {
    auto store = Open();
    EmbeddedRoom* room = store->Find("r");
    incarnation = room->incarnation();
    for (int i = 0; i < 10; ++i) room->Join("");  // fills max_active
    admitted = room->Join("alice").ticket;        // waiting, with an identity
    for (int i = 0; i < 20; ++i) waiting.push_back(room->Join(""));
    room->Leave(1);
    clock_.Advance(milliseconds(100));
    store->Tick();  // calls alice's ticket
    ASSERT_EQ(room->Status(admitted, 0).status, core::TicketStatus::kAdmitted);
    core::Policy p = room->policy();
    p.admit_rate = 7;
    room->SetPolicy(p);
    // No Close(): the journal alone must carry everything (as after a crash), so wait for
    // durability the way the server does before answering.
    std::promise<bool> durable;
    store->AwaitDurable(room->Join("bob").durable_lsn, [&](bool ok) { durable.set_value(ok); });
    ASSERT_TRUE(durable.get_future().get());
  }
  auto store = Open();
  EmbeddedRoom* room = store->Find("r");
  EXPECT_EQ(room->incarnation(), incarnation) << "tickets issued before stay valid";
  EXPECT_DOUBLE_EQ(room->policy().admit_rate, 7);
  const RoomFigures f = room->Figures();
  EXPECT_EQ(f.last_issued, 32u);
  EXPECT_EQ(f.active, 10);
  for (const TicketAnswer& w : waiting) {
    const TicketAnswer now = room->Status(w.ticket, w.frontier_at_join);
    EXPECT_EQ(now.status, core::TicketStatus::kWaiting);
    EXPECT_LE(now.position, w.position) << "no position grows";
  }
  EXPECT_EQ(room->Status(admitted, 0).status, core::TicketStatus::kAdmitted);
  EXPECT_EQ(room->Join("alice").ticket, admitted) << "identities survive";
  EXPECT_EQ(room->Join("").ticket, 33u) << "no ticket number is issued twice";
}

TEST_F(DurableStoreTest, AStateIdOthersCouldHaveWrittenIsRefused) {
  const mode_t old_umask = ::umask(0);
  std::uint64_t incarnation = 0;
  {
    auto store = Open();
    incarnation = store->Find("r")->incarnation();
  }
  ::umask(old_umask);
  const fs::path id = dir_ / "state.id";
  EXPECT_EQ(fs::status(dir_).permissions(), fs::perms::owner_all) << "made 0700 under umask 0";
  EXPECT_EQ(fs::status(id).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  // Someone else could have chosen it (and so which tickets stay valid): refused.
  fs::permissions(id, fs::perms::others_write, fs::perm_options::add);
  EmbeddedOptions o;
  o.dir = dir_.string();
  auto refused = EmbeddedStore::Open({{"r", TightPolicy()}}, clock_, o);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), boost::system::errc::operation_not_permitted);
  fs::permissions(id, fs::perms::others_write, fs::perm_options::remove);
  EXPECT_EQ(Open()->Find("r")->incarnation(), incarnation);
}

TEST_F(DurableStoreTest, BypassSessionsAndTheirRangeSurviveARestart) {
  TicketAnswer kept, left, line;
  {
    auto store = Open();
    EmbeddedRoom* room = store->Find("r");
    line = room->Join("");
    kept = room->Admit("vip");
    left = room->Admit("");
    room->Leave(left.ticket);
    // A crash: the journal alone must carry everything; wait for it as the server does.
    const TicketAnswer last = room->Join("");  // the last record: all before it are durable too
    std::promise<bool> durable;
    store->AwaitDurable(last.durable_lsn, [&](bool ok) { durable.set_value(ok); });
    ASSERT_TRUE(durable.get_future().get());
  }
  auto check = [&](EmbeddedStore& store, const char* how) {
    EmbeddedRoom* room = store.Find("r");
    EXPECT_FALSE(room->SessionEnded(kept.ticket)) << how;
    EXPECT_FALSE(room->SessionEnded(line.ticket)) << how;
    EXPECT_TRUE(room->SessionEnded(left.ticket)) << how;
    const TicketAnswer polled = room->Status(kept.ticket, kept.frontier_at_join);
    EXPECT_EQ(polled.status, core::TicketStatus::kAdmitted) << how;
    EXPECT_EQ(polled.identity, "vip") << how;
    EXPECT_EQ(polled.admitted_unix, kept.admitted_unix) << how;
    EXPECT_EQ(room->Status(left.ticket, 0).status, core::TicketStatus::kExpired) << how;
    const RoomFigures f = room->Figures();
    EXPECT_EQ(f.active, 3) << how;
    EXPECT_EQ(f.counters.bypass, 2u) << how;
    EXPECT_EQ(f.counters.admissions, 2u) << how;
    EXPECT_EQ(f.counters.leaves, 1u) << how;
  };
  {
    auto store = Open();  // from the journal
    check(*store, "replayed from the journal");
    ASSERT_TRUE(store->Snapshot().has_value());
    store->Close();
  }
  {
    auto store = Open();  // from the snapshot
    EXPECT_GE(store->recovery().snapshot_records, 1u);
    check(*store, "restored from a snapshot");
    EmbeddedRoom* room = store->Find("r");
    const TicketAnswer next = room->Admit("");
    EXPECT_EQ(next.ticket, left.ticket + 1) << "no bypass number is issued twice";
    EXPECT_TRUE(room->Leave(kept.ticket).found);
    store->Close();
  }
  auto store = Open();
  EmbeddedRoom* room = store->Find("r");
  EXPECT_TRUE(room->SessionEnded(kept.ticket)) << "its leave survives a restart too";
  EXPECT_FALSE(room->SessionEnded(left.ticket + 1));
  EXPECT_EQ(room->Figures().counters.bypass, 3u);
  // Idle through the downtime and after: it ends at the first tick past its timeout.
  clock_.Advance(std::chrono::seconds(2));
  store->Tick();
  EXPECT_TRUE(room->SessionEnded(left.ticket + 1));
  EXPECT_EQ(room->Figures().active, 0);
}

// The session lengths measured so far are counters like the others: a restart, from the journal
// or from a snapshot followed by more journal, gives them back as they were.
TEST_F(DurableStoreTest, SessionLengthsSurviveARestart) {
  core::SessionLengths before;
  {
    auto store = Open();  // session_timeout 1 s
    EmbeddedRoom* room = store->Find("r");
    const TicketAnswer left = room->Join("");
    const TicketAnswer idle = room->Join("");
    const TicketAnswer pass = room->Admit("vip");
    clock_.Advance(std::chrono::seconds(15));
    ASSERT_TRUE(room->Heartbeat(left.ticket).found);  // the fake clock jumped: keep it alive
    ASSERT_TRUE(room->Leave(left.ticket).found);      // 15 s
    clock_.Advance(milliseconds(100));
    store->Tick();  // idle and pass idled out: 15.1 s each
    ASSERT_TRUE(room->SessionEnded(idle.ticket));
    ASSERT_TRUE(room->SessionEnded(pass.ticket));
    before = room->Figures().counters.session_lengths;
    ASSERT_EQ(before.count(), 3u);
    ASSERT_EQ(before.buckets[1], 3u) << "(10 s, 30 s]";
    ASSERT_EQ(before.sum_ms, 45'200u);
    store->Close();
  }
  {
    auto store = Open();  // from the journal
    EmbeddedRoom* room = store->Find("r");
    EXPECT_EQ(room->Figures().counters.session_lengths, before) << "replayed from the journal";
    ASSERT_TRUE(store->Snapshot().has_value());
    const TicketAnswer later = room->Join("");
    ASSERT_TRUE(room->Leave(later.ticket).found);  // 0 s, after the snapshot
    before.Add(0);
    store->Close();
  }
  auto store = Open();  // from the snapshot, then the journal after it
  EXPECT_GE(store->recovery().snapshot_records, 1u);
  EXPECT_EQ(store->Find("r")->Figures().counters.session_lengths, before);
}

TEST_F(DurableStoreTest, SnapshotAndLaterJournalBothCount) {
  {
    auto store = Open();
    EmbeddedRoom* room = store->Find("r");
    for (int i = 0; i < 15; ++i) room->Join("u" + std::to_string(i));
    ASSERT_TRUE(store->Snapshot().has_value());
    for (int i = 15; i < 30; ++i) room->Join("u" + std::to_string(i));
    store->Close();
  }
  auto store = Open();
  EXPECT_GE(store->recovery().snapshot_records, 1u);
  EmbeddedRoom* room = store->Find("r");
  EXPECT_EQ(room->Figures().last_issued, 30u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(room->Join("u" + std::to_string(i)).ticket, static_cast<std::uint64_t>(i + 1));
  }
}

// A room left out of the configuration at a restart keeps its state on disk, through snapshots,
// so that when it is configured again its tickets are valid and its numbering goes on.
TEST_F(DurableStoreTest, ARoomNotConfiguredAtRestartKeepsItsState) {
  EmbeddedOptions o;
  o.dir = dir_.string();
  o.snapshot_interval = std::chrono::hours(1);
  std::uint64_t incarnation = 0;
  TicketAnswer waiting;
  {
    auto store = EmbeddedStore::Open({{"r", TightPolicy()}, {"gone", TightPolicy()}}, clock_, o);
    ASSERT_TRUE(store.has_value());
    EmbeddedRoom* gone = (*store)->Find("gone");
    incarnation = gone->incarnation();
    for (int i = 0; i < 10; ++i) gone->Join("");
    waiting = gone->Join("w");
    (*store)->Close();
  }
  {
    auto store = Open();  // "r" only; the snapshot at Close must still hold "gone"
    EXPECT_EQ(store->Find("gone"), nullptr);
    ASSERT_TRUE(store->Snapshot().has_value());
    store->Close();
  }
  auto store = EmbeddedStore::Open({{"r", TightPolicy()}, {"gone", TightPolicy()}}, clock_, o);
  ASSERT_TRUE(store.has_value());
  EmbeddedRoom* gone = (*store)->Find("gone");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->incarnation(), incarnation);
  const TicketAnswer now = gone->Status(waiting.ticket, waiting.frontier_at_join);
  EXPECT_EQ(now.status, core::TicketStatus::kWaiting);
  EXPECT_LE(now.position, waiting.position);
  EXPECT_EQ(gone->Join("").ticket, 12u);
}

TEST_F(DurableStoreTest, AReloadedPolicySurvivesARestartWithTheNewFile) {
  core::Policy edited = TightPolicy();
  edited.max_active = 40;
  {
    auto store = Open();
    core::Policy p = TightPolicy();
    p.max_active = 3;
    store->Find("r")->SetPolicy(p);  // an operator's change, then the file is edited
    store->Reconfigure({{"r", edited}});
    EXPECT_EQ(store->Find("r")->policy().max_active, 40);
    // Crash: no Close, no snapshot; what the journal holds must give the same answer.
    std::promise<bool> durable;
    store->AwaitDurable(store->Find("r")->Join("x").durable_lsn,
                        [&](bool ok) { durable.set_value(ok); });
    ASSERT_TRUE(durable.get_future().get());
  }
  EXPECT_EQ(Open(edited)->Find("r")->policy().max_active, 40);
}

TEST_F(DurableStoreTest, AnEditedConfigPolicyWinsOverAnOldRuntimeChange) {
  {
    auto store = Open();
    core::Policy p = store->Find("r")->policy();
    p.max_active = 3;
    store->Find("r")->SetPolicy(p);
    store->Close();
  }
  EXPECT_EQ(Open()->Find("r")->policy().max_active, 3);
  core::Policy edited = TightPolicy();
  edited.max_active = 50;
  EXPECT_EQ(Open(edited)->Find("r")->policy().max_active, 50);
}

TEST_F(DurableStoreTest, AnOperatorsChangeSurvivesTheFileTurningAbandonmentOn) {
  // Written while the file had no abandonment (as every record before the field existed): the
  // record says nothing of it, so the file's new value is no edit of what the operator changed.
  core::Policy before = TightPolicy();
  before.abandon_after_polls = 0;
  {
    auto store = Open(before);
    core::Policy p = before;
    p.max_active = 3;
    store->Find("r")->SetPolicy(p);
    std::promise<bool> durable;
    store->AwaitDurable(store->Find("r")->Join("x").durable_lsn,
                        [&](bool ok) { durable.set_value(ok); });
    ASSERT_TRUE(durable.get_future().get());
  }
  core::Policy now = before;
  now.abandon_after_polls = 5;
  const core::Policy replayed = Open(now)->Find("r")->policy();
  EXPECT_EQ(replayed.max_active, 3) << "the operator's change, replayed from the journal";
  EXPECT_EQ(replayed.abandon_after_polls, 5u) << "the file's abandonment";
  core::Policy edited = now;
  edited.max_active = 50;
  EXPECT_EQ(Open(edited)->Find("r")->policy().max_active, 50) << "an edit of what it changed wins";
}

}  // namespace
}  // namespace vwr::store
