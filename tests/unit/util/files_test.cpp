#include "util/files.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

namespace vwr::util {
namespace {

using ::testing::HasSubstr;

// Sets the process umask for its lifetime.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// A file with `contents` and exactly `mode`.
void Plant(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  std::ofstream(path) << contents;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

// Opens `path` for reading; closed by the caller.
int OpenForReading(const std::filesystem::path& path) {
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

constexpr uid_t kNobody = 65534;

class FilesTest : public ::testing::Test {
 protected:
  FilesTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("vwr-files-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~FilesTest() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(FilesTest, WriteAllWritesEveryByte) {
  const std::filesystem::path file = dir_ / "data";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  const std::string data(1 << 20, 'x');
  EXPECT_TRUE(WriteAll(fd, data));
  ::close(fd);
  EXPECT_EQ(std::filesystem::file_size(file), data.size());

  EXPECT_FALSE(WriteAll(-1, "x"));
  EXPECT_EQ(errno, EBADF);
}

TEST_F(FilesTest, SyncDirectorySyncsADirectoryAndSaysWhenItCannot) {
  EXPECT_TRUE(SyncDirectory(dir_));
  EXPECT_TRUE(SyncDirectory(""));  // the current directory
  EXPECT_FALSE(SyncDirectory(dir_ / "missing"));
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(FilesTest, CreatePrivateDirectoriesMakesEveryLevelWithMode0700) {
  const std::filesystem::path deep = dir_ / "a" / "b" / "c";
  EXPECT_EQ(CreatePrivateDirectories(deep), 0);
  EXPECT_EQ(CreatePrivateDirectories(deep), 0) << "an existing directory is fine";
  for (const auto& level : {dir_ / "a", dir_ / "a" / "b", deep}) {
    struct stat st;
    ASSERT_EQ(::stat(level.c_str(), &st), 0) << level;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u) << level;
  }
}

TEST_F(FilesTest, CreatePrivateDirectoriesNamesWhatIsInTheWay) {
  std::ofstream(dir_ / "file") << "x";
  std::filesystem::path failed;
  EXPECT_EQ(CreatePrivateDirectories(dir_ / "file", &failed), ENOTDIR);
  EXPECT_EQ(failed, dir_ / "file");
  failed.clear();
  EXPECT_EQ(CreatePrivateDirectories(dir_ / "file" / "below", &failed), ENOTDIR);
  EXPECT_FALSE(failed.empty());
}

TEST_F(FilesTest, CreatePrivateDirectoriesGivesMode0700WhateverTheUmask) {
  for (const mode_t mask : {mode_t{0}, mode_t{0277}, mode_t{0777}}) {
    const std::filesystem::path top = dir_ / ("umask" + std::to_string(mask));
    {
      ScopedUmask umask(mask);
      ASSERT_EQ(CreatePrivateDirectories(top / "a"), 0);
    }
    EXPECT_EQ(ModeOf(top), 0700u) << "umask " << std::oct << mask;
    EXPECT_EQ(ModeOf(top / "a"), 0700u) << "umask " << std::oct << mask;
  }
}

TEST_F(FilesTest, CreateFileGivesExactlyItsModeWhateverTheUmask) {
  int n = 0;
  for (const mode_t mask : {mode_t{0}, mode_t{0277}, mode_t{0777}}) {
    for (const mode_t mode : {mode_t{0600}, mode_t{0640}}) {
      const std::filesystem::path file = dir_ / ("file" + std::to_string(n++));
      ScopedUmask umask(mask);
      const Fd fd = CreateFile(file, mode);
      ASSERT_TRUE(fd.valid()) << std::strerror(errno);
      EXPECT_TRUE(WriteAll(fd.get(), "x"));
      EXPECT_EQ(ModeOf(file), mode) << "umask " << std::oct << mask;
    }
  }
}

TEST_F(FilesTest, CreateFileMakesOnlyANewFileAndFollowsNoLink) {
  const std::filesystem::path file = dir_ / "file";
  Plant(file, "kept", 0644);
  EXPECT_FALSE(CreateFile(file, 0600).valid());
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(ModeOf(file), 0644u) << "left as it was";

  // A link planted where a file is to be made: neither followed nor its target changed.
  const std::filesystem::path link = dir_ / "link";
  const std::filesystem::path target = dir_ / "target";
  std::filesystem::create_symlink(target, link);
  EXPECT_FALSE(CreateFile(link, 0600).valid());
  EXPECT_EQ(errno, EEXIST);
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(FilesTest, OpenOrCreateFileMakesAPrivateFileOrOpensTheOneThere) {
  const std::filesystem::path file = dir_ / "segment";
  {
    ScopedUmask umask(0);
    const Fd fd = OpenOrCreateFile(file, 0600, O_WRONLY | O_APPEND);
    ASSERT_TRUE(fd.valid());
    EXPECT_TRUE(WriteAll(fd.get(), "one"));
  }
  EXPECT_EQ(ModeOf(file), 0600u);
  {
    const Fd fd = OpenOrCreateFile(file, 0600, O_WRONLY | O_APPEND);
    ASSERT_TRUE(fd.valid());
    EXPECT_TRUE(WriteAll(fd.get(), "two"));
  }
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  EXPECT_EQ(text.str(), "onetwo") << "appended to, not replaced";
}

TEST_F(FilesTest, CheckPrivateFileTakesOnlyWhatNobodyElseCanWriteOrReadASecret) {
  struct Case {
    mode_t mode;
    bool secret_ok;
    bool data_ok;
  };
  for (const Case c :
       {Case{0600, true, true}, Case{0400, true, true}, Case{0640, false, true},
        Case{0604, false, true}, Case{0644, false, true}, Case{0610, false, true},
        Case{0620, false, false}, Case{0602, false, false}, Case{0666, false, false}}) {
    const std::filesystem::path file = dir_ / "file";
    Plant(file, "x", c.mode);
    const Fd fd(OpenForReading(file));
    ASSERT_TRUE(fd.valid());
    const auto secret = CheckPrivateFile(fd.get(), file, FileSecrecy::kSecret);
    const auto data = CheckPrivateFile(fd.get(), file, FileSecrecy::kData);
    EXPECT_EQ(!secret.has_value(), c.secret_ok) << std::oct << c.mode;
    EXPECT_EQ(!data.has_value(), c.data_ok) << std::oct << c.mode;
    // Named, with the mode and the command that mends it.
    if (secret) {
      EXPECT_THAT(*secret, HasSubstr(file.string() + ": "));
      EXPECT_THAT(*secret, HasSubstr("chmod 600 " + file.string()));
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(c.mode));
      EXPECT_THAT(*secret, HasSubstr(mode));
      EXPECT_THAT(*secret, HasSubstr((c.mode & 022) != 0 ? "can write" : "can read"));
    }
    if (data) {
      EXPECT_THAT(*data, HasSubstr("chmod go-w " + file.string()));
    }
  }
}

TEST_F(FilesTest, CheckPrivateFileRefusesWhatIsNotARegularFile) {
  const Fd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(CheckPrivateFile(fd.get(), dir_, FileSecrecy::kData),
            dir_.string() + ": not a regular file");
}

TEST_F(FilesTest, CheckPrivateFileRefusesAnotherUsersFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  const std::filesystem::path file = dir_ / "file";
  Plant(file, "x", 0600);
  ASSERT_EQ(::chown(file.c_str(), kNobody, kNobody), 0);
  const Fd fd(OpenForReading(file));
  ASSERT_TRUE(fd.valid());
  for (const FileSecrecy secrecy : {FileSecrecy::kSecret, FileSecrecy::kData}) {
    const auto problem = CheckPrivateFile(fd.get(), file, secrecy);
    ASSERT_TRUE(problem.has_value());
    EXPECT_THAT(*problem, HasSubstr("owned by uid 65534"));
    EXPECT_THAT(*problem, HasSubstr("chown 0 " + file.string()));
  }
}

TEST_F(FilesTest, ASecretRootOwnsMayBeReadByItsGroupButNotByOthers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs a file root owns and another user to check it";
  const std::filesystem::path shared = dir_ / "shared";
  const std::filesystem::path open = dir_ / "open";
  Plant(shared, "x", 0640);
  Plant(open, "x", 0644);
  const Fd shared_fd(OpenForReading(shared));
  const Fd open_fd(OpenForReading(open));
  ASSERT_TRUE(shared_fd.valid() && open_fd.valid());
  // Root's own secret (vwr runs as root) is private to root alone.
  EXPECT_TRUE(CheckPrivateFile(shared_fd.get(), shared, FileSecrecy::kSecret).has_value());
  // vwr running as another user: root's key, shared with vwr's group, is taken.
  ASSERT_EQ(::seteuid(kNobody), 0);
  const auto shared_problem = CheckPrivateFile(shared_fd.get(), shared, FileSecrecy::kSecret);
  const auto open_problem = CheckPrivateFile(open_fd.get(), open, FileSecrecy::kSecret);
  ASSERT_EQ(::seteuid(0), 0);
  EXPECT_EQ(shared_problem, std::nullopt);
  ASSERT_TRUE(open_problem.has_value());
  EXPECT_THAT(*open_problem, HasSubstr("can read"));
}

TEST_F(FilesTest, CheckPrivateDirectoryRefusesADirectoryOthersCanWrite) {
  const std::filesystem::path sub = dir_ / "sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  for (const mode_t mode : {mode_t{0700}, mode_t{0750}, mode_t{0755}, mode_t{0500}}) {
    ASSERT_EQ(::chmod(sub.c_str(), mode), 0);
    EXPECT_EQ(CheckPrivateDirectory(sub), std::nullopt) << std::oct << mode;
  }
  for (const mode_t mode : {mode_t{0770}, mode_t{0702}, mode_t{0777}, mode_t{01777}}) {
    ASSERT_EQ(::chmod(sub.c_str(), mode), 0);
    const auto problem = CheckPrivateDirectory(sub);
    ASSERT_TRUE(problem.has_value()) << std::oct << mode;
    EXPECT_THAT(*problem, HasSubstr(sub.string() + ": a directory its group or others can write"));
    EXPECT_THAT(*problem, HasSubstr("chmod 700 " + sub.string()));
  }
  ASSERT_EQ(::chmod(sub.c_str(), 0700), 0);

  bool missing = false;
  EXPECT_EQ(CheckPrivateDirectory(dir_ / "none", &missing), std::nullopt);
  EXPECT_TRUE(missing);
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(CheckPrivateDirectory(dir_ / "file", &missing),
            (dir_ / "file").string() + ": not a directory");
  EXPECT_FALSE(missing);

  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(sub.c_str(), kNobody, kNobody), 0);
    const auto problem = CheckPrivateDirectory(sub);
    ASSERT_TRUE(problem.has_value());
    EXPECT_THAT(*problem, HasSubstr("a directory owned by uid 65534"));
    EXPECT_THAT(*problem, HasSubstr("chown 0 " + sub.string()));
  }
}

TEST_F(FilesTest, OpenPrivateFileOpensOnlyWhatMayBeTrusted) {
  const std::filesystem::path sub = dir_ / "sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  const std::filesystem::path file = sub / "key";
  Plant(file, "secret", 0600);
  {
    PrivateFile opened = OpenPrivateFile(file, FileSecrecy::kSecret);
    ASSERT_TRUE(opened.fd.valid()) << opened.refused;
    char buffer[16];
    EXPECT_EQ(::read(opened.fd.get(), buffer, sizeof(buffer)), 6);
  }
  // None there: the caller may make it.
  PrivateFile none = OpenPrivateFile(sub / "none", FileSecrecy::kSecret);
  EXPECT_FALSE(none.fd.valid());
  EXPECT_EQ(none.error, ENOENT);
  EXPECT_EQ(none.refused, "");

  // Exposed.
  ASSERT_EQ(::chmod(file.c_str(), 0666), 0);
  PrivateFile exposed = OpenPrivateFile(file, FileSecrecy::kSecret);
  EXPECT_FALSE(exposed.fd.valid());
  EXPECT_THAT(exposed.refused, HasSubstr("chmod 600 " + file.string()));
  EXPECT_FALSE(exposed.not_regular);
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);

  // In a directory others can write: neither the file there nor one to make there.
  ASSERT_EQ(::chmod(sub.c_str(), 0777), 0);
  for (const auto& path : {file, sub / "none"}) {
    PrivateFile refused = OpenPrivateFile(path, FileSecrecy::kData);
    EXPECT_FALSE(refused.fd.valid()) << path;
    EXPECT_EQ(refused.error, 0) << path;
    EXPECT_THAT(refused.refused, HasSubstr(path.string() + ": in " + sub.string() +
                                           ", a directory its group or others can write"))
        << path;
    EXPECT_THAT(refused.refused, HasSubstr("chmod 700 " + sub.string())) << path;
  }
  ASSERT_EQ(::chmod(sub.c_str(), 0700), 0);

  // A FIFO put in its place does not hang the reader; a directory is not a file either.
  const std::filesystem::path fifo = sub / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& path : {fifo, sub}) {
    PrivateFile odd = OpenPrivateFile(path, FileSecrecy::kData);
    EXPECT_FALSE(odd.fd.valid());
    EXPECT_TRUE(odd.not_regular) << path;
    EXPECT_EQ(odd.refused, path.string() + ": not a regular file");
  }

  // A bare file name is checked in the current directory.
  PrivateFile relative = OpenPrivateFile("vwr-files-test-none", FileSecrecy::kData);
  EXPECT_TRUE(relative.error == ENOENT || !relative.refused.empty());
}

// ---- LockExclusive: the key directory's lock, waited for without polling ----

TEST_F(FilesTest, LockExclusiveTakesAFreeLockAndTimesOutOnABusyOne) {
  const std::filesystem::path path = dir_ / ".lock";
  const Fd holder = OpenOrCreateFile(path, 0600, O_RDWR);
  ASSERT_TRUE(holder.valid());
  EXPECT_EQ(LockExclusive(holder.get(), std::chrono::milliseconds(100)), 0);
  // Another open of the same file (another process, as far as flock is concerned) waits.
  Fd other = OpenOrCreateFile(path, 0600, O_RDWR);
  ASSERT_TRUE(other.valid());
  EXPECT_EQ(LockExclusive(other.get(), std::chrono::milliseconds(50)), EWOULDBLOCK);
}

TEST_F(FilesTest, LockExclusiveTakesTheLockAsSoonAsItsHolderLetsGo) {
  const std::filesystem::path path = dir_ / ".lock";
  auto holder = std::make_unique<Fd>(OpenOrCreateFile(path, 0600, O_RDWR));
  ASSERT_EQ(LockExclusive(holder->get(), std::chrono::milliseconds(100)), 0);
  const Fd waiter = OpenOrCreateFile(path, 0600, O_RDWR);
  auto locked = std::async(std::launch::async,
                           [&] { return LockExclusive(waiter.get(), std::chrono::seconds(20)); });
  EXPECT_EQ(locked.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "took a lock someone else holds";
  holder.reset();  // closing lets go of it
  ASSERT_EQ(locked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(locked.get(), 0);
}

TEST_F(FilesTest, LockExclusiveKeepsNothingOnceAWaiterThatGaveUpIsClosed) {
  const std::filesystem::path path = dir_ / ".lock";
  auto holder = std::make_unique<Fd>(OpenOrCreateFile(path, 0600, O_RDWR));
  ASSERT_EQ(LockExclusive(holder->get(), std::chrono::milliseconds(100)), 0);
  {
    const Fd gave_up = OpenOrCreateFile(path, 0600, O_RDWR);
    ASSERT_EQ(LockExclusive(gave_up.get(), std::chrono::milliseconds(20)), EWOULDBLOCK);
  }  // closed: its helper may still take the lock, and must let go of it at once
  holder.reset();
  const Fd next = OpenOrCreateFile(path, 0600, O_RDWR);
  EXPECT_EQ(LockExclusive(next.get(), std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace vwr::util
