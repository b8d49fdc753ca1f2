#include "guard/guard_lists.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "support/redis_server.hpp"
#include "util/clock.hpp"

namespace vwr::guard {
namespace {

TEST(GuardListsCodec, RoundTripsEveryKindOfEntry) {
  const guard::GuardChange changes[] = {
      {"sale", guard::GuardList::kBlock, {true, "203.0.113.7", 1767225660, "auto"}, false},
      {"sale", guard::GuardList::kDeny, {true, "2001:db8::/32", 0, "admin"}, false},
      {"r-2", guard::GuardList::kAllow, {false, "user \"quoted\"\twith tab", 0, "admin"}, false},
      {"r-2", guard::GuardList::kUnblock, {false, "x", 0, "admin"}, false},
  };
  for (const guard::GuardChange& change : changes) {
    const auto [field, value] = EncodeGuardEntry(change);
    const std::optional<guard::GuardChange> back = DecodeGuardEntry(field, value);
    ASSERT_TRUE(back) << field;
    EXPECT_EQ(back->room, change.room);
    EXPECT_EQ(back->list, change.list);
    EXPECT_EQ(back->entry, change.entry);
    EXPECT_FALSE(back->removed);
  }
}

TEST(GuardListsCodec, RefusesWhatIsNotAnEntry) {
  const std::string good_value = R"({"expires":0,"source":"admin"})";
  EXPECT_FALSE(DecodeGuardEntry("sale\ndeny\nip", good_value));           // too few parts
  EXPECT_FALSE(DecodeGuardEntry("sale\nnope\nip\n1.2.3.4", good_value));  // no such list
  EXPECT_FALSE(DecodeGuardEntry("sale\ndeny\nhost\n1.2.3.4", good_value));
  EXPECT_FALSE(DecodeGuardEntry("sale\ndeny\nip\nnot-an-ip", good_value));
  EXPECT_FALSE(DecodeGuardEntry("\ndeny\nip\n1.2.3.4", good_value));
  EXPECT_FALSE(DecodeGuardEntry("sale\ndeny\nip\n1.2.3.4", "{"));
  EXPECT_FALSE(DecodeGuardEntry("sale\ndeny\nip\n1.2.3.4", R"({"expires":"soon","source":"x"})"));
  EXPECT_FALSE(DecodeGuardEntry("sale\ndeny\nip\n1.2.3.4", R"({"expires":0})"));
  EXPECT_TRUE(DecodeGuardEntry("sale\ndeny\nip\n1.2.3.4", good_value));
}

// ---- Flush: what an admin change waits for before its answer ----

using redis::testing::ClientHarness;
using redis::testing::OptionsFor;
using redis::testing::RedisServer;
using redis::testing::RunCommand;

// Flush's answer, or nothing when it did not come within 10 s.
std::optional<bool> Flushed(GuardLists& lists) {
  auto promise = std::make_shared<std::promise<bool>>();
  auto future = promise->get_future();
  lists.Flush([promise](bool ok) { promise->set_value(ok); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The node's control thread, on which the embedded lists write their file.
class ControlThread {
 public:
  ControlThread() : thread_([this] { ioc_.run(); }) {}
  ~ControlThread() {
    work_.reset();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      ioc_.get_executor()};
  std::thread thread_;
};

class GuardListsFlushTest : public ::testing::Test {
 protected:
  GuardListsFlushTest() {
    guard_.Configure({{"sale", guard::GuardSettings{}}});
    dir_ = std::filesystem::temp_directory_path() /
           ("vwr-guard-lists-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~GuardListsFlushTest() override { std::filesystem::remove_all(dir_); }

  void Listen(const std::shared_ptr<GuardLists>& lists) {
    guard_.SetListener([lists](const guard::GuardChange& change) { lists->OnChange(change); });
  }
  bool Deny(std::string identity) {
    return guard_.Add("sale", guard::GuardList::kDeny,
                      guard::GuardEntry{false, std::move(identity), 0, "admin"});
  }

  util::FakeClock clock_;
  guard::AbuseGuard guard_{clock_};
  std::filesystem::path dir_;
  ControlThread control_;
};

TEST_F(GuardListsFlushTest, EmbeddedWritesTheFileBeforeAnsweringWithoutATick) {
  const std::string file = (dir_ / "guard-lists.json").string();
  auto lists = GuardLists::Embedded(guard_, clock_, file, control_.executor());
  Listen(lists);
  EXPECT_EQ(Flushed(*lists), true) << "nothing changed: nothing to write";
  EXPECT_FALSE(std::filesystem::exists(file));

  ASSERT_TRUE(Deny("mallory"));
  EXPECT_FALSE(std::filesystem::exists(file)) << "a change alone waits for the tick";
  EXPECT_EQ(Flushed(*lists), true);
  EXPECT_NE(Slurp(file).find("mallory"), std::string::npos);

  // Read back by a fresh node.
  guard::AbuseGuard restarted(clock_);
  restarted.Configure({{"sale", guard::GuardSettings{}}});
  EXPECT_TRUE(GuardLists::Embedded(restarted, clock_, file, control_.executor())->Load());
  const std::vector<guard::GuardEntry> denied = restarted.List("sale", guard::GuardList::kDeny);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].value, "mallory");
}

TEST_F(GuardListsFlushTest, EmbeddedRefusesAFileOthersCouldHaveWritten) {
  const std::filesystem::path file = dir_ / "guard-lists.json";
  // An allow-list entry anyone could have planted: it would let its author past the queue.
  const auto [field, value] =
      EncodeGuardEntry({"sale", guard::GuardList::kAllow, {false, "mallory", 0, "admin"}, false});
  std::ofstream(file) << boost::json::serialize(boost::json::array{boost::json::string(field),
                                                                   boost::json::string(value)})
                      << "\n";
  auto load = [&] {
    guard::AbuseGuard restarted(clock_);
    restarted.Configure({{"sale", guard::GuardSettings{}}});
    const bool loaded =
        GuardLists::Embedded(restarted, clock_, file.string(), control_.executor())->Load();
    return std::make_pair(loaded, restarted.List("sale", guard::GuardList::kAllow).size());
  };
  std::filesystem::permissions(
      file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  EXPECT_EQ(load(), std::make_pair(true, std::size_t{1})) << "readable by others is fine";
  std::filesystem::permissions(file, std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  EXPECT_EQ(load(), std::make_pair(false, std::size_t{0}));
  std::filesystem::permissions(file, std::filesystem::perms::others_write,
                               std::filesystem::perm_options::remove);
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  EXPECT_EQ(load(), std::make_pair(false, std::size_t{0})) << "in a directory anyone can write";
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
    EXPECT_EQ(load(), std::make_pair(false, std::size_t{0})) << "another user's";
  }
}

TEST_F(GuardListsFlushTest, EmbeddedAnswersFalseWhenTheFileCannotBeWritten) {
  auto lists = GuardLists::Embedded(guard_, clock_, (dir_ / "gone" / "guard-lists.json").string(),
                                    control_.executor());
  Listen(lists);
  ASSERT_TRUE(Deny("mallory"));
  EXPECT_EQ(Flushed(*lists), false);
  // Still pending: once the directory exists, the next tick (or flush) writes it.
  std::filesystem::create_directories(dir_ / "gone");
  lists->Round();
  EXPECT_NE(Slurp((dir_ / "gone" / "guard-lists.json").string()).find("mallory"),
            std::string::npos);
}

// An admin change on the embedded store: the file is written on the control thread, never on
// the thread that asked (a worker that also serves polls), and the answer comes only once the
// entry is in the file.
TEST_F(GuardListsFlushTest, EmbeddedWritesOnTheControlThreadAndAnswersOnlyOnceWritten) {
  const std::string file = (dir_ / "guard-lists.json").string();
  boost::asio::io_context control;  // the control thread, busy for now
  auto lists = GuardLists::Embedded(guard_, clock_, file, control.get_executor());
  Listen(lists);
  ASSERT_TRUE(Deny("mallory"));

  struct Answer {
    bool ok = false;
    std::thread::id thread;
    bool written = false;  // the entry was in the file when the answer came
  };
  auto promise = std::make_shared<std::promise<Answer>>();
  auto future = promise->get_future();
  lists->Flush([promise, file](bool ok) {
    promise->set_value(
        Answer{ok, std::this_thread::get_id(), Slurp(file).find("mallory") != std::string::npos});
  });
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "answered before the control thread ran";
  EXPECT_FALSE(std::filesystem::exists(file)) << "written on the caller's thread";

  std::thread control_thread([&] { control.run(); });
  const std::thread::id control_id = control_thread.get_id();
  const bool answered = future.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  control_thread.join();
  ASSERT_TRUE(answered);
  const Answer answer = future.get();
  EXPECT_TRUE(answer.ok);
  EXPECT_EQ(answer.thread, control_id);
  EXPECT_TRUE(answer.written) << "answered before the entry was in the file";
}

// The lists kept in the hash "vwr:guard" of a real Redis.
class GuardListsOnRedisTest : public GuardListsFlushTest {
 protected:
  void SetUp() override {
    // Connected before the lists are made: a write before that fails, as it should.
    ASSERT_TRUE(redis::testing::Eventually([&] {
      auto pong = redis_.Run({"PING"});
      return pong && !pong->is_error();
    })) << "the client never connected";
    lists_ = GuardLists::Shared(guard_, clock_, redis_.client(), "vwr:guard");
    Listen(lists_);
  }

  std::string Redis(std::vector<std::string> command) {
    return RunCommand(server_.port(), std::move(command));
  }
  // A key of another type: HSET on it fails, as a write to a lost Redis would.
  void BreakTheHash() { Redis({"SET", "vwr:guard", "not a hash"}); }
  void MendTheHash() { Redis({"DEL", "vwr:guard"}); }

  RedisServer server_;
  ClientHarness redis_{OptionsFor(server_)};
  std::shared_ptr<GuardLists> lists_;
};

TEST_F(GuardListsOnRedisTest, AnswersOnceTheWritesSentBeforeItAreStored) {
  EXPECT_EQ(Flushed(*lists_), true) << "nothing sent: nothing to wait for";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Deny("user-" + std::to_string(i)));
  EXPECT_EQ(Flushed(*lists_), true);
  // Every write sent before the flush is in Redis when it answers: no waiting here.
  EXPECT_EQ(Redis({"HLEN", "vwr:guard"}), "20");

  ASSERT_TRUE(guard_.Remove("sale", guard::GuardList::kDeny, false, "user-0"));
  EXPECT_EQ(Flushed(*lists_), true);
  EXPECT_EQ(Redis({"HLEN", "vwr:guard"}), "19");
}

// A node that starts reads the shared lists once its client has connected, without polling.
TEST_F(GuardListsOnRedisTest, LoadWaitsForTheConnectionAndReadsTheSharedLists) {
  ASSERT_TRUE(Deny("mallory"));
  ASSERT_EQ(Flushed(*lists_), true);

  ClientHarness starting(OptionsFor(server_), /*start=*/false);
  guard::AbuseGuard restarted(clock_);
  restarted.Configure({{"sale", guard::GuardSettings{}}});
  auto lists = GuardLists::Shared(restarted, clock_, starting.client(), "vwr:guard");
  starting.client().Start();  // connecting while Load waits
  EXPECT_TRUE(lists->Load());
  const std::vector<guard::GuardEntry> denied = restarted.List("sale", guard::GuardList::kDeny);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].value, "mallory");
}

TEST_F(GuardListsOnRedisTest, AnswersFalseWhenAWriteFails) {
  BreakTheHash();
  ASSERT_TRUE(Deny("mallory"));
  EXPECT_EQ(Flushed(*lists_), false);
  MendTheHash();
  ASSERT_TRUE(Deny("eve"));
  EXPECT_EQ(Flushed(*lists_), true) << "the failed write was sent again and is recorded now";
  EXPECT_EQ(Redis({"HLEN", "vwr:guard"}), "2") << "mallory and eve";
}

// A read on its way while this node removes an entry still holds the entry: its answer must not
// bring the entry back (an admin's removal that the node would then ignore for a second).
TEST_F(GuardListsOnRedisTest, AReadSentBeforeARemovalDoesNotBringTheEntryBack) {
  ASSERT_TRUE(Deny("mallory"));
  ASSERT_EQ(Flushed(*lists_), true);
  // Redis holds every command for a second: the read goes out first, the removal behind it, and
  // Redis answers the read with the entry still in the hash.
  Redis({"CLIENT", "PAUSE", "1000", "ALL"});
  clock_.Advance(std::chrono::seconds(2));
  lists_->Round();
  ASSERT_TRUE(guard_.Remove("sale", guard::GuardList::kDeny, false, "mallory"));
  ASSERT_EQ(Flushed(*lists_), true) << "the removal is answered, and the read before it";
  EXPECT_TRUE(guard_.List("sale", guard::GuardList::kDeny).empty())
      << "the older read brought the removed entry back";
  EXPECT_EQ(Redis({"HLEN", "vwr:guard"}), "0");

  // What other nodes do still comes through the reads: an entry another node removes, even
  // before any read of this node has seen it.
  ASSERT_TRUE(Deny("eve"));
  ASSERT_EQ(Flushed(*lists_), true);
  Redis({"DEL", "vwr:guard"});
  EXPECT_TRUE(redis::testing::Eventually([&] {
    clock_.Advance(std::chrono::seconds(2));
    lists_->Round();
    return guard_.List("sale", guard::GuardList::kDeny).empty();
  })) << "another node's removal never reached this node";
}

TEST_F(GuardListsOnRedisTest, ReportsAFailureThatCameBeforeTheFlushWasAsked) {
  BreakTheHash();
  ASSERT_TRUE(Deny("mallory"));
  ASSERT_TRUE(redis::testing::Eventually([&] { return lists_->writes_pending() == 0; }));
  EXPECT_EQ(Flushed(*lists_), false) << "the write failed before the flush: still not recorded";
  EXPECT_EQ(Flushed(*lists_), false) << "every flush says so while it is not recorded";

  // Once Redis takes writes again, the next round sends it again without any flush.
  MendTheHash();
  clock_.Advance(std::chrono::seconds(2));
  lists_->Round();
  EXPECT_TRUE(redis::testing::Eventually([&] { return Redis({"HLEN", "vwr:guard"}) == "1"; }));
  EXPECT_EQ(Flushed(*lists_), true);
}

TEST_F(GuardListsOnRedisTest, AnswersFalseToEveryFlushAskedBeforeAFailedWriteIsRecorded) {
  BreakTheHash();
  // Two admin changes at once: each answer waits for its own flush, and neither may say
  // "recorded", whichever flush the failures reach first.
  ASSERT_TRUE(Deny("mallory"));
  ASSERT_TRUE(Deny("eve"));
  auto first = std::make_shared<std::promise<bool>>();
  auto second = std::make_shared<std::promise<bool>>();
  lists_->Flush([first](bool ok) { first->set_value(ok); });
  lists_->Flush([second](bool ok) { second->set_value(ok); });
  auto first_answer = first->get_future();
  auto second_answer = second->get_future();
  ASSERT_EQ(first_answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_EQ(second_answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(first_answer.get());
  EXPECT_FALSE(second_answer.get());
}

}  // namespace
}  // namespace vwr::guard
