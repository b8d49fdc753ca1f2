#include "store/journal.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

namespace vwr::store {
namespace {
namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vwr-journal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Journal> Open(FsyncMode mode = FsyncMode::kInterval,
                                std::vector<std::string>* seen = nullptr,
                                RecoveryReport* report = nullptr) {
    JournalOptions o;
    o.dir = dir_.string();
    o.fsync = mode;
    auto j = Journal::Open(
        o,
        [&](std::span<const std::uint8_t> p) {
          if (seen) seen->emplace_back(reinterpret_cast<const char*>(p.data()), p.size());
        },
        report);
    EXPECT_TRUE(j.has_value());
    return j ? std::move(*j) : nullptr;
  }

  // Appends and waits until durable.
  static void AppendDurably(Journal& j, std::string_view payload) {
    std::promise<bool> done;
    j.AwaitDurable(j.Append(payload), [&](bool ok) { done.set_value(ok); });
    ASSERT_TRUE(done.get_future().get());
  }

  std::vector<fs::path> Files(std::string_view ext) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ext) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
};

TEST_F(JournalTest, RecordsComeBackInOrderAfterReopen) {
  for (FsyncMode mode : {FsyncMode::kAlways, FsyncMode::kInterval, FsyncMode::kNever}) {
    fs::remove_all(dir_);
    {
      auto j = Open(mode);
      for (int i = 0; i < 100; ++i) AppendDurably(*j, "record-" + std::to_string(i));
    }
    std::vector<std::string> seen;
    RecoveryReport report;
    auto j = Open(mode, &seen, &report);
    ASSERT_EQ(seen.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], "record-" + std::to_string(i));
    EXPECT_FALSE(report.damaged);
    EXPECT_EQ(report.journal_records, 100u);
  }
}

TEST_F(JournalTest, DurableMeansWrittenToTheFile) {
  auto j = Open(FsyncMode::kNever);
  AppendDurably(*j, "hello");
  // Acknowledged: the record is in the file (the OS has it) without any flush or close.
  std::uintmax_t bytes = 0;
  for (const auto& f : Files(".log")) bytes += fs::file_size(f);
  EXPECT_EQ(bytes, 8u + 5u);
  EXPECT_GE(j->durable_lsn(), 1u);
}

TEST_F(JournalTest, TornTailIsCutAndEarlierRecordsKept) {
  {
    auto j = Open();
    for (int i = 0; i < 10; ++i) AppendDurably(*j, std::string(20, static_cast<char>('a' + i)));
    j->Flush();
  }
  const fs::path segment = Files(".log").back();
  const auto size = fs::file_size(segment);
  fs::resize_file(segment, size - 7);  // the last record is torn mid-payload

  std::vector<std::string> seen;
  RecoveryReport report;
  auto j = Open(FsyncMode::kInterval, &seen, &report);
  EXPECT_EQ(seen.size(), 9u);
  EXPECT_TRUE(report.damaged);
  EXPECT_NE(report.damage.find("cut short"), std::string::npos) << report.damage;
  EXPECT_EQ(fs::file_size(segment), 9u * 28u) << "the torn record is cut off the file";
  // New records go on after the kept ones.
  AppendDurably(*j, "after");
  j.reset();
  seen.clear();
  Open(FsyncMode::kInterval, &seen);
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.back(), "after");
}

TEST_F(JournalTest, CorruptRecordIsDetectedAndStateBeforeItKept) {
  {
    auto j = Open();
    for (int i = 0; i < 10; ++i) AppendDurably(*j, "payload-" + std::to_string(i));
    j->Flush();
  }
  const fs::path segment = Files(".log").back();
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4 * 17 + 10);  // inside the 5th record's payload (records are 17 bytes)
    f.put('X');
  }
  std::vector<std::string> seen;
  RecoveryReport report;
  auto j = Open(FsyncMode::kInterval, &seen, &report);
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_TRUE(report.damaged);
  EXPECT_NE(report.damage.find("checksum"), std::string::npos) << report.damage;
}

TEST_F(JournalTest, SnapshotReplacesOlderSegments) {
  auto j = Open();
  for (int i = 0; i < 5; ++i) AppendDurably(*j, "old-" + std::to_string(i));
  auto written = j->WriteSnapshot([](const std::function<void(std::string_view)>& emit) {
    emit("state-a");
    emit("state-b");
  });
  ASSERT_TRUE(written.has_value());
  AppendDurably(*j, "new-0");
  j.reset();
  EXPECT_EQ(Files(".snap").size(), 1u);

  std::vector<std::string> seen;
  RecoveryReport report;
  Open(FsyncMode::kInterval, &seen, &report);
  EXPECT_EQ(seen, (std::vector<std::string>{"state-a", "state-b", "new-0"}));
  EXPECT_EQ(report.snapshot_records, 2u);
}

mode_t ModeOf(const fs::path& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(JournalTest, ItsFilesArePrivateWhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  {
    auto j = Open();
    AppendDurably(*j, "a");
    ASSERT_TRUE(j->WriteSnapshot([](const auto& emit) { emit("state"); }).has_value());
    AppendDurably(*j, "b");
  }
  ::umask(old_umask);
  EXPECT_EQ(ModeOf(dir_), 0700u);
  ASSERT_FALSE(Files(".log").empty());
  for (const fs::path& file : Files(".log")) EXPECT_EQ(ModeOf(file), 0600u) << file;
  ASSERT_EQ(Files(".snap").size(), 1u);
  EXPECT_EQ(ModeOf(Files(".snap")[0]), 0600u);
}

TEST_F(JournalTest, FilesOthersCouldHaveWrittenAreNotReplayed) {
  {
    auto j = Open();
    AppendDurably(*j, "a");
    ASSERT_TRUE(j->WriteSnapshot([](const auto& emit) { emit("state"); }).has_value());
    AppendDurably(*j, "b");
  }
  auto refused = [&](const fs::path& what) {
    JournalOptions o;
    o.dir = dir_.string();
    std::vector<std::string> seen;
    auto j = Journal::Open(
        o, [&](std::span<const std::uint8_t> p) { seen.emplace_back(p.begin(), p.end()); },
        nullptr);
    EXPECT_FALSE(j.has_value()) << what;
    if (!j) {
      EXPECT_EQ(j.error(), boost::system::errc::operation_not_permitted) << what;
    }
    return seen;
  };
  const fs::path snapshot = Files(".snap").at(0);
  const fs::path segment = Files(".log").back();
  fs::permissions(snapshot, fs::perms::others_write, fs::perm_options::add);
  EXPECT_EQ(refused(snapshot), std::vector<std::string>{}) << "nothing replayed";
  fs::permissions(snapshot, fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(segment, fs::perms::group_write, fs::perm_options::add);
  refused(segment);
  fs::permissions(segment, fs::perms::group_write, fs::perm_options::remove);
  fs::permissions(dir_, fs::perms::all);
  EXPECT_EQ(refused(dir_), std::vector<std::string>{});
  fs::permissions(dir_, fs::perms::owner_all);
  // Readable by others is fine (backups, inspection).
  fs::permissions(segment, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  std::vector<std::string> seen;
  Open(FsyncMode::kInterval, &seen);
  EXPECT_EQ(seen, (std::vector<std::string>{"state", "b"}));
}

TEST_F(JournalTest, AwaitingAnAcknowledgedRecordAnswersAtOnce) {
  auto j = Open();
  AppendDurably(*j, "x");
  bool called = false;
  j->AwaitDurable(1, [&](bool ok) { called = ok; });
  EXPECT_TRUE(called);
}

TEST_F(JournalTest, ManyWritersAllAcknowledged) {
  auto j = Open(FsyncMode::kAlways);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) AppendDurably(*j, std::to_string(t) + ":" + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();
  j.reset();
  std::vector<std::string> seen;
  Open(FsyncMode::kAlways, &seen);
  EXPECT_EQ(seen.size(), 800u);
}

}  // namespace
}  // namespace vwr::store
