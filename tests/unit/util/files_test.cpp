#include "util/files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vwr::util {
namespace {

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

}  // namespace
}  // namespace vwr::util
