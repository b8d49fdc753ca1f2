#include "token/key_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace vwr::token {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kT0 = 1'800'000'000;
constexpr std::int64_t kLifetime = 600;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Writes a file as vwr would: readable and writable by its owner only.
void WriteText(const fs::path& path, std::string_view contents) {
  std::ofstream(path, std::ios::trunc) << contents;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

mode_t Mode(const fs::path& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::set<std::string> Files(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

std::string PemName(std::string_view kid) { return "key-" + std::string(kid) + ".pem"; }

class KeyDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vwr_key_dir_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ / "a" / "keys";
  }
  void TearDown() override { fs::remove_all(root_); }

  KeyDirectory Open() {
    auto dir = KeyDirectory::Open(dir_.string());
    EXPECT_TRUE(dir.has_value()) << dir.error();
    return std::move(*dir);
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(KeyDirTest, CreatesTheFirstKeyPrivately) {
  KeyDirectory dir = Open();
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_FALSE(dir.PermissionWarning().has_value());
  EXPECT_FALSE(dir.Load().has_value()) << "no keys yet";

  auto first = dir.LoadOrCreate(kT0, kLifetime);
  ASSERT_TRUE(first.has_value()) << first.error();
  EXPECT_TRUE(first->created);
  const KeySet& keys = first->keys;
  ASSERT_EQ(keys.keys.size(), 1u);
  const KeyRecord& active = keys.active();
  EXPECT_EQ(active.kid, JwkThumbprint(active.key));
  EXPECT_EQ(active.created_unix, kT0);
  EXPECT_FALSE(active.retired_unix.has_value());
  EXPECT_EQ(keys.active_private.public_key(), active.key);
  EXPECT_EQ(keys.token_lifetime_max_s, kLifetime);

  EXPECT_EQ(Files(dir_), (std::set<std::string>{".lock", "manifest.json", PemName(active.kid)}));
  EXPECT_EQ(Mode(dir_ / PemName(active.kid)), 0600u);
  EXPECT_EQ(Mode(dir_ / "manifest.json"), 0600u);
  EXPECT_TRUE(ReadText(dir_ / PemName(active.kid)).starts_with("-----BEGIN PRIVATE KEY-----"));

  // Opened again (another process, a restart): the same key.
  auto again = Open().LoadOrCreate(kT0 + 100, kLifetime);
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->keys.active().kid, active.kid);
  EXPECT_EQ(again->keys.active_private.public_key(), active.key);
}

TEST_F(KeyDirTest, WarnsAboutADirectoryOthersCanRead) {
  KeyDirectory dir = Open();
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  auto warning = dir.PermissionWarning();
  ASSERT_TRUE(warning.has_value());
  EXPECT_NE(warning->find("0750"), std::string::npos) << *warning;
}

TEST_F(KeyDirTest, ADirectoryOthersCanWriteIsRefused) {
  fs::create_directories(dir_);
  for (const fs::perms others : {fs::perms::group_write, fs::perms::others_write}) {
    fs::permissions(dir_, fs::perms::owner_all | others);
    auto dir = KeyDirectory::Open(dir_.string());
    ASSERT_FALSE(dir.has_value());
    EXPECT_NE(dir.error().find(dir_.string() + ": a directory its group or others can write"),
              std::string::npos)
        << dir.error();
    EXPECT_NE(dir.error().find("chmod 700 " + dir_.string()), std::string::npos) << dir.error();
  }
  EXPECT_TRUE(fs::is_empty(dir_)) << "no key is made in it";
}

TEST_F(KeyDirTest, KeysOthersCouldChangeOrReadAreRefused) {
  KeyDirectory dir = Open();
  const std::string kid = dir.LoadOrCreate(kT0, kLifetime)->keys.active().kid;
  const fs::path manifest = dir_ / "manifest.json";
  const fs::path pem = dir_ / PemName(kid);
  auto refused = [&](const fs::path& file, std::string_view fix) {
    auto loaded = dir.Load();
    ASSERT_FALSE(loaded.has_value()) << file;
    EXPECT_EQ(loaded.error().find(file.string() + ": "), 0u) << loaded.error();
    EXPECT_NE(loaded.error().find(std::string(fix) + " " + file.string()), std::string::npos)
        << loaded.error();
    // Nor may a rotation go on from it.
    EXPECT_FALSE(dir.Rotate(kT0 + 1, kLifetime).has_value());
  };
  // The manifest holds public keys: others may read it, but not write it.
  fs::permissions(manifest, fs::perms::others_write, fs::perm_options::add);
  refused(manifest, "chmod go-w");
  fs::permissions(manifest, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read);
  ASSERT_TRUE(dir.Load().has_value());
  // The private key: neither.
  fs::permissions(pem, fs::perms::group_read, fs::perm_options::add);
  refused(pem, "chmod 600");
  fs::permissions(pem, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(dir.Load().has_value());
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(pem.c_str(), 65534, 65534), 0);
    refused(pem, "chown 0");
    ASSERT_EQ(::chown(pem.c_str(), 0, 0), 0);
  }
  auto back = dir.Load();
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back->active().kid, kid);
}

TEST_F(KeyDirTest, RotationRetiresTheOldKeyAndDeletesItsPrivateKey) {
  KeyDirectory dir = Open();
  const std::string first = dir.LoadOrCreate(kT0, kLifetime)->keys.active().kid;
  const auto stamp = dir.Stamp();
  ASSERT_TRUE(stamp.has_value());

  auto rotated = dir.Rotate(kT0 + 50, kLifetime);
  ASSERT_TRUE(rotated.has_value()) << rotated.error();
  ASSERT_TRUE(rotated->created.has_value());
  EXPECT_EQ(rotated->retired, first);
  EXPECT_NE(*rotated->created, first);
  ASSERT_EQ(rotated->keys.keys.size(), 2u);
  EXPECT_EQ(rotated->keys.active().kid, *rotated->created);
  EXPECT_EQ(rotated->keys.keys[1].kid, first);
  EXPECT_EQ(rotated->keys.keys[1].retired_unix, kT0 + 50);
  EXPECT_NE(dir.Stamp(), stamp);

  // Only the active key's private key is on disk.
  EXPECT_EQ(Files(dir_),
            (std::set<std::string>{".lock", "manifest.json", PemName(*rotated->created)}));
  auto loaded = dir.Load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ(loaded->active().kid, *rotated->created);
  EXPECT_EQ(loaded->keys.size(), 2u);
  EXPECT_EQ(loaded->keys[1].key, rotated->keys.keys[1].key);
}

TEST_F(KeyDirTest, RotationWhenDueHappensOnce) {
  KeyDirectory dir = Open();
  const std::string first = dir.LoadOrCreate(kT0, kLifetime)->keys.active().kid;
  auto early = dir.Rotate(kT0 + 99, kLifetime, 100);
  ASSERT_TRUE(early.has_value());
  EXPECT_FALSE(early->created.has_value());
  EXPECT_EQ(early->keys.active().kid, first);

  auto due = dir.Rotate(kT0 + 100, kLifetime, 100);
  ASSERT_TRUE(due.has_value());
  ASSERT_TRUE(due->created.has_value());
  // A second node due at the same moment finds the fresh key and leaves it.
  auto second = Open().Rotate(kT0 + 100, kLifetime, 100);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->created.has_value());
  EXPECT_EQ(second->keys.active().kid, *due->created);
  EXPECT_EQ(second->keys.keys.size(), 2u);
}

TEST_F(KeyDirTest, RetiredKeysArePrunedAfterTheLongestLifetimeAndTheMargin) {
  KeyDirectory dir = Open();
  const std::string first = dir.LoadOrCreate(kT0, kLifetime)->keys.active().kid;
  ASSERT_TRUE(dir.Rotate(kT0 + 10, kLifetime).has_value());
  const std::int64_t not_after = kT0 + 10 + kLifetime + kRetiredKeyMargin.count();

  auto kept = dir.Tidy(not_after - 1, kLifetime);
  ASSERT_TRUE(kept.has_value()) << kept.error();
  EXPECT_TRUE(kept->pruned.empty());
  EXPECT_EQ(kept->keys.keys.size(), 2u);

  auto pruned = dir.Tidy(not_after, kLifetime);
  ASSERT_TRUE(pruned.has_value()) << pruned.error();
  EXPECT_EQ(pruned->pruned, std::vector<std::string>{first});
  EXPECT_EQ(pruned->keys.keys.size(), 1u);
  EXPECT_EQ(dir.Load()->keys.size(), 1u);
}

TEST_F(KeyDirTest, TheLongestLifetimeAnyProcessDeclaredWins) {
  KeyDirectory dir = Open();
  ASSERT_TRUE(dir.LoadOrCreate(kT0, 3600).has_value());
  // A CLI run with a shorter configuration neither lowers it nor prunes by its own.
  auto cli = Open().Rotate(kT0 + 10, 60);
  ASSERT_TRUE(cli.has_value());
  EXPECT_EQ(cli->keys.token_lifetime_max_s, 3600);
  auto tidy = Open().Tidy(kT0 + 10 + 60 + kRetiredKeyMargin.count(), 60);
  ASSERT_TRUE(tidy.has_value());
  EXPECT_TRUE(tidy->pruned.empty()) << "kept for 3600 s, not 60";
  EXPECT_EQ(tidy->keys.keys.size(), 2u);
  // A longer one raises it, in the file.
  auto longer = Open().LoadOrCreate(kT0 + 20, 7200);
  ASSERT_TRUE(longer.has_value());
  EXPECT_EQ(longer->keys.token_lifetime_max_s, 7200);
  EXPECT_EQ(dir.Load()->token_lifetime_max_s, 7200);
  EXPECT_NE(ReadText(dir_ / "manifest.json").find(R"("token_lifetime_max":7200)"),
            std::string::npos);
}

TEST_F(KeyDirTest, TidyRemovesLeftoversOfInterruptedWrites) {
  KeyDirectory dir = Open();
  const std::string kid = dir.LoadOrCreate(kT0, kLifetime)->keys.active().kid;
  WriteText(dir_ / ".tmp-0123456789abcdef", "half a key");
  WriteText(dir_ / PemName("stray"), "an old key");
  WriteText(dir_ / "README", "the operator's");
  ASSERT_TRUE(dir.Tidy(kT0, kLifetime).has_value());
  EXPECT_EQ(Files(dir_), (std::set<std::string>{".lock", "manifest.json", "README", PemName(kid)}));
}

TEST_F(KeyDirTest, BrokenFilesGiveClearErrorsAndAreNeverOverwritten) {
  KeyDirectory dir = Open();
  const KeySet keys = dir.LoadOrCreate(kT0, kLifetime)->keys;
  const std::string kid = keys.active().kid;
  const fs::path manifest = dir_ / "manifest.json";
  const std::string good = ReadText(manifest);

  auto error_of = [&] {
    auto loaded = dir.Load();
    EXPECT_FALSE(loaded.has_value());
    // Neither creating nor rotating may replace what the operator must look at.
    EXPECT_FALSE(Open().LoadOrCreate(kT0, kLifetime).has_value());
    EXPECT_FALSE(Open().Rotate(kT0, kLifetime).has_value());
    return loaded ? std::string() : loaded.error();
  };
  auto expect_error = [&](std::string_view file, std::string_view what) {
    const std::string error = error_of();
    EXPECT_NE(error.find(std::string(file)), std::string::npos) << error;
    EXPECT_NE(error.find(std::string(what)), std::string::npos) << error;
  };

  WriteText(manifest, "{not json");
  expect_error("manifest.json", "not valid JSON");
  EXPECT_EQ(ReadText(manifest), "{not json");
  WriteText(manifest, R"({"format":2,"keys":[]})");
  expect_error("manifest.json", "format");
  WriteText(manifest, R"({"format":1,"keys":[]})");
  expect_error("manifest.json", "keys");
  std::string other_kid = good;
  other_kid.replace(other_kid.find(kid), kid.size(), std::string(kid.size(), 'A'));
  WriteText(manifest, other_kid);
  expect_error("manifest.json", "thumbprint");
  std::string retired = good;
  retired.replace(retired.find(R"("created_at")"), 0, R"("retired_at":1,)");
  WriteText(manifest, retired);
  expect_error("manifest.json", "exactly one key must be active");
  WriteText(manifest, good);

  const fs::path pem = dir_ / PemName(kid);
  const std::string good_pem = ReadText(pem);
  WriteText(pem, "garbage");
  expect_error(PemName(kid), "no PEM private key");
  WriteText(pem, EcPrivateKey::Generate().ToPem());
  expect_error(PemName(kid), "another key");
  fs::remove(pem);
  expect_error(PemName(kid), "No such file");
  WriteText(pem, good_pem);
  auto back = dir.Load();
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back->active().kid, kid);
}

TEST_F(KeyDirTest, APathThatIsAFileIsAnError) {
  fs::create_directories(root_);
  WriteText(root_ / "file", "x");
  auto dir = KeyDirectory::Open((root_ / "file").string());
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error().find("not a directory"), std::string::npos) << dir.error();
  EXPECT_FALSE(KeyDirectory::Open("").has_value());
}

TEST_F(KeyDirTest, ThreadsCreatingAtOnceAgreeOnOneKey) {
  constexpr int kThreads = 8;
  std::vector<std::string> kids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto dir = KeyDirectory::Open(dir_.string());
      if (!dir) return;
      auto keys = dir->LoadOrCreate(kT0, kLifetime);
      if (keys) kids[i] = keys->keys.active().kid;
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& kid : kids) EXPECT_EQ(kid, kids[0]);
  EXPECT_FALSE(kids[0].empty());
  EXPECT_EQ(Open().Load()->keys.size(), 1u);
}

// Processes (not threads: what nodes sharing a volume are) rotating at the same time: every
// rotation happens, one after the other, and no key is lost.
TEST_F(KeyDirTest, ProcessesRotatingAtOnceLoseNoKey) {
  ASSERT_TRUE(Open().LoadOrCreate(kT0, kLifetime).has_value());
  constexpr int kProcesses = 4;
  constexpr int kRotations = 5;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failures = 0;
      for (int r = 0; r < kRotations; ++r) {
        auto dir = KeyDirectory::Open(dir_.string());
        if (!dir || !dir->Rotate(kT0 + 1, kLifetime)) ++failures;
      }
      ::_exit(failures);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto keys = Open().Load();
  ASSERT_TRUE(keys.has_value()) << keys.error();
  EXPECT_EQ(keys->keys.size(), 1u + kProcesses * kRotations);
  std::set<std::string> kids;
  for (const KeyRecord& k : keys->keys) kids.insert(k.kid);
  EXPECT_EQ(kids.size(), keys->keys.size());
  // One private key file: the active key's.
  EXPECT_EQ(Files(dir_).size(), 3u);
}

}  // namespace
}  // namespace vwr::token
