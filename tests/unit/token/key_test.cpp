#include "token/key.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include "util/random.hpp"

namespace vwr::token {
namespace {

namespace fs = std::filesystem;

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vwr_key_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string ReadFile(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }
  // A file as an operator makes a key file: readable and writable by its owner only.
  static void WriteFile(const fs::path& path, std::string_view contents, mode_t mode = 0600) {
    std::ofstream(path, std::ios::trunc) << contents;
    ::chmod(path.c_str(), mode);
  }
  static mode_t Mode(const fs::path& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  fs::path dir_;
};

TEST_F(KeyFileTest, CreatesMissingFileWithMode0600AndHexContent) {
  const fs::path path = dir_ / "key";
  bool created = false;
  const auto key = LoadOrCreateKeyFile(path.string(), &created);
  ASSERT_TRUE(key.has_value()) << key.error().code.message();
  EXPECT_TRUE(created);
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(ReadFile(path), util::HexEncode(key->bytes) + "\n");
  EXPECT_NE(key->bytes, SecretKey{}.bytes);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(KeyFileTest, CreatesMissingParentDirectoriesWithMode0700) {
  const fs::path path = dir_ / "a" / "b" / "key";
  const auto key = LoadOrCreateKeyFile(path.string());
  ASSERT_TRUE(key.has_value()) << key.error().code.message();
  EXPECT_EQ(Mode(dir_ / "a"), 0700u);
  EXPECT_EQ(Mode(dir_ / "a" / "b"), 0700u);
  EXPECT_EQ(Mode(path), 0600u);
}

TEST_F(KeyFileTest, ReloadGivesTheSameKey) {
  const fs::path path = dir_ / "key";
  const auto first = LoadOrCreateKeyFile(path.string());
  ASSERT_TRUE(first.has_value());
  bool created = true;
  const auto second = LoadOrCreateKeyFile(path.string(), &created);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(created);
  EXPECT_EQ(first->bytes, second->bytes);
}

TEST_F(KeyFileTest, AcceptsSurroundingWhitespaceAndUpperCase) {
  const fs::path path = dir_ / "key";
  WriteFile(path, "  \t000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f\r\n\n");
  const auto key = LoadOrCreateKeyFile(path.string());
  ASSERT_TRUE(key.has_value()) << key.error().code.message();
  for (std::size_t i = 0; i < key->bytes.size(); ++i) EXPECT_EQ(key->bytes[i], i);
}

TEST_F(KeyFileTest, CorruptFileIsAnErrorAndIsLeftAlone) {
  const std::string valid(64, 'a');
  for (const std::string& contents :
       {std::string(), std::string("\n"), valid.substr(1), valid + "a", valid.substr(1) + "g",
        valid.substr(0, 32) + " " + valid.substr(32), std::string(5000, 'a')}) {
    const fs::path path = dir_ / "key";
    WriteFile(path, contents);
    bool created = true;
    const auto key = LoadOrCreateKeyFile(path.string(), &created);
    ASSERT_FALSE(key.has_value()) << contents;
    EXPECT_EQ(key.error().code, KeyError::kMalformed);
    EXPECT_FALSE(created);
    EXPECT_EQ(ReadFile(path), contents);
    EXPECT_EQ(DescribeKeyError(path.string(), key.error()),
              "key file \"" + path.string() + "\": key file content is not 64 hex digits");
  }
}

TEST_F(KeyFileTest, DirectoryIsNotAKeyFile) {
  const auto key = LoadOrCreateKeyFile(dir_.string());
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, KeyError::kNotRegularFile);
}

TEST_F(KeyFileTest, UnwritableDirectoryIsAnIoError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const fs::path locked = dir_ / "locked";
  ASSERT_EQ(::mkdir(locked.c_str(), 0500), 0);
  const auto key = LoadOrCreateKeyFile((locked / "key").string());
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, boost::system::errc::permission_denied);
  ::chmod(locked.c_str(), 0700);
}

TEST_F(KeyFileTest, ParentThatIsAFileIsAnIoError) {
  WriteFile(dir_ / "file", "x");
  const auto key = LoadOrCreateKeyFile((dir_ / "file" / "key").string());
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, boost::system::errc::not_a_directory);
  const auto nested = LoadOrCreateKeyFile((dir_ / "file" / "sub" / "key").string());
  ASSERT_FALSE(nested.has_value());
  EXPECT_EQ(nested.error().code, boost::system::errc::not_a_directory);
}

TEST_F(KeyFileTest, AKeyOthersCouldWriteOrReadIsRefusedAndLeftAlone) {
  const fs::path path = dir_ / "key";
  const std::string contents(64, 'a');
  for (const mode_t mode : {mode_t{0666}, mode_t{0620}, mode_t{0644}, mode_t{0640}}) {
    WriteFile(path, contents, mode);
    bool created = true;
    const auto key = LoadOrCreateKeyFile(path.string(), &created);
    ASSERT_FALSE(key.has_value()) << std::oct << mode;
    EXPECT_EQ(key.error().code, KeyError::kUntrusted);
    EXPECT_FALSE(created);
    const std::string message = DescribeKeyError(path.string(), key.error());
    EXPECT_EQ(message.find("key file " + path.string() + ": "), 0u) << message;
    EXPECT_NE(message.find("chmod 600 " + path.string()), std::string::npos) << message;
    EXPECT_EQ(Mode(path), mode) << "left for the operator to look at";
    EXPECT_EQ(ReadFile(path), contents);
  }
}

TEST_F(KeyFileTest, NoKeyIsReadFromOrMadeInADirectoryOthersCanWrite) {
  const fs::path open = dir_ / "open";
  ASSERT_EQ(::mkdir(open.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
  // None there yet: none is made where another user could have put one first.
  const auto fresh = LoadOrCreateKeyFile((open / "key").string());
  ASSERT_FALSE(fresh.has_value());
  EXPECT_EQ(fresh.error().code, KeyError::kUntrusted);
  EXPECT_NE(fresh.error().untrusted.find("chmod 700 " + open.string()), std::string::npos)
      << fresh.error().untrusted;
  EXPECT_FALSE(fs::exists(open / "key"));
  // One there: it could have been swapped.
  WriteFile(open / "key", std::string(64, 'a'));
  const auto there = LoadOrCreateKeyFile((open / "key").string());
  ASSERT_FALSE(there.has_value());
  EXPECT_EQ(there.error().code, KeyError::kUntrusted);
}

TEST_F(KeyFileTest, AKeyAnotherUserOwnsIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  const fs::path path = dir_ / "key";
  WriteFile(path, std::string(64, 'a'));
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  const auto key = LoadOrCreateKeyFile(path.string());
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, KeyError::kUntrusted);
  EXPECT_NE(key.error().untrusted.find("owned by uid 65534"), std::string::npos)
      << key.error().untrusted;
}

TEST_F(KeyFileTest, ConcurrentCreatorsAgreeOnOneKey) {
  for (int round = 0; round < 50; ++round) {
    const fs::path path = dir_ / ("key" + std::to_string(round));
    constexpr int kThreads = 4;
    std::latch start(kThreads);
    boost::system::result<SecretKey, KeyFileError> results[kThreads];
    bool created[kThreads] = {};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        results[i] = LoadOrCreateKeyFile(path.string(), &created[i]);
      });
    }
    for (std::thread& t : threads) t.join();
    int creators = 0;
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(results[i].has_value()) << results[i].error().code.message();
      EXPECT_EQ(results[i]->bytes, results[0]->bytes);
      creators += created[i] ? 1 : 0;
    }
    EXPECT_EQ(creators, 1);
  }
  // Only the key files remain: every loser removed its temporary file.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 50);
}

TEST(DeriveKey, IsHmacOfTheLabelUnderTheMasterKey) {
  SecretKey master;
  util::SecureRandom(master.bytes);
  const SecretKey derived = DeriveKey(master, "vwr.ticket.v1");
  std::array<std::uint8_t, 32> want;
  unsigned int length = 0;
  const std::string_view label = "vwr.ticket.v1";
  HMAC(EVP_sha256(), master.bytes.data(), static_cast<int>(master.bytes.size()),
       reinterpret_cast<const unsigned char*>(label.data()), label.size(), want.data(), &length);
  EXPECT_EQ(derived.bytes, want);
}

TEST(DeriveKey, SeparatesLabelsAndMasters) {
  SecretKey a, b;
  util::SecureRandom(a.bytes);
  util::SecureRandom(b.bytes);
  EXPECT_EQ(DeriveKey(a, "x").bytes, DeriveKey(a, "x").bytes);
  EXPECT_NE(DeriveKey(a, "x").bytes, DeriveKey(a, "y").bytes);
  EXPECT_NE(DeriveKey(a, "x").bytes, DeriveKey(b, "x").bytes);
  EXPECT_NE(DeriveKey(a, "x").bytes, a.bytes);
}

}  // namespace
}  // namespace vwr::token
