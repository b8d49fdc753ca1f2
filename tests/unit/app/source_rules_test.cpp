// The rules of docs/architecture.md ("Threads") that a reviewer cannot be trusted to catch every
// time, checked over the whole source tree:
//   - only util/clock reads time: everything else takes a util::Clock&, so that every
//     time-dependent behaviour runs on a FakeClock in its tests; and only app/, where the
//     process starts, picks the real one (util::SystemClock::Instance());
//   - nothing sleeps: a thread waits for an event (a timer, a condition, a future, a blocking
//     call), never for a while in a loop.
// A new direct clock read or sleep anywhere under src/ fails this test, with its file and line.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace vwr::app {
namespace {

struct Rule {
  const char* what;
  std::regex pattern;
};

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = {
      // std::chrono::steady_clock::now(), system_clock::now(), and any alias of them
      // (Clock::now(), clock_type::now()).
      {"reads the clock (take a util::Clock&)", std::regex(R"(::now\s*\()")},
      {"reads the clock (take a util::Clock&)",
       std::regex(R"(\b(clock_gettime|gettimeofday|timespec_get|ftime)\s*\()")},
      {"reads the clock (take a util::Clock&)",
       // (not an accessor declared `clock() const`)
       std::regex(
           R"((^|[^\w.>])(std::|::)?(time|clock)\s*\(\s*(nullptr|NULL|0|&\w+)?\s*\)(?!\s*(const|noexcept|override)\b))")},
      {"sleeps (wait for an event instead)",
       std::regex(R"(\b(sleep_for|sleep_until|usleep|nanosleep|clock_nanosleep)\b)")},
      {"sleeps (wait for an event instead)", std::regex(R"((^|[^\w.>])(::)?sleep\s*\()")},
  };
  return rules;
}

// util::SystemClock::Instance(): choosing the real clock instead of being given one.
const std::regex& ChoosesTheClock() {
  static const std::regex pattern(R"(\bSystemClock::Instance\s*\()");
  return pattern;
}

// What the rules say about `text` (a file's contents), as "line N: what: code"; comments do
// not count. `may_choose_clock`: the file is where the process starts (app/).
std::vector<std::string> Violations(const std::string& text, bool may_choose_clock = false) {
  std::vector<std::string> found;
  std::istringstream in(text);
  std::string line;
  bool in_block_comment = false;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string code;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (in_block_comment) {
        if (line.compare(i, 2, "*/") == 0) {
          in_block_comment = false;
          ++i;
        }
      } else if (line.compare(i, 2, "/*") == 0) {
        in_block_comment = true;
        ++i;
      } else if (line.compare(i, 2, "//") == 0 && (i == 0 || line[i - 1] != ':')) {
        break;  // a line comment ("redis://" in a string is not one)
      } else {
        code += line[i];
      }
    }
    for (const Rule& rule : Rules()) {
      if (std::regex_search(code, rule.pattern)) {
        found.push_back("line " + std::to_string(number) + ": " + rule.what + ": " + line);
        break;
      }
    }
    if (!may_choose_clock && std::regex_search(code, ChoosesTheClock())) {
      found.push_back("line " + std::to_string(number) +
                      ": picks the real clock (take a util::Clock&; app/ chooses): " + line);
    }
  }
  return found;
}

TEST(SourceRules, TheCheckFindsEveryFormOfClockReadAndSleep) {
  for (const char* read : {
           "auto t = std::chrono::steady_clock::now();",
           "const auto now = std::chrono::system_clock::now();",
           "pending->deadline = Clock::now() + timeout;",
           "auto x = boost::asio::steady_timer::clock_type::now ();",
           "clock_gettime(CLOCK_MONOTONIC, &ts);",
           "::gettimeofday(&tv, nullptr);",
           "const std::time_t t = std::time(nullptr);",
           "const auto t = time(NULL);",
           "if (::time(&now) < 0) return;",
           "std::this_thread::sleep_for(std::chrono::milliseconds(10));",
           "std::this_thread::sleep_until(deadline);",
           "usleep(1000);",
           "::nanosleep(&ts, nullptr);",
           "sleep(1);",
       }) {
    EXPECT_EQ(Violations(read).size(), 1u) << "not caught: " << read;
  }
  for (const char* fine : {
           "const util::TimePoint now = clock_.Now();",
           "const util::Clock& clock() const { return clock_; }",
           "const auto wall = clock.WallNow();",
           "timer.expires_after(std::chrono::milliseconds(100));",
           "local function admit_now() end",
           "cv.wait_for(lock, interval, [&] { return stopping_; });",
           "fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time));",
           "// never std::this_thread::sleep_for here",
           "x = 1; /* Clock::now() */ y = 2;",
           "url = \"redis://host\"; // sleep(1)",
           "const auto lifetime = room.TokenLifetime();",
           "config.session_timeout(),",
       }) {
    EXPECT_TRUE(Violations(fine).empty()) << "flagged: " << fine;
  }
  EXPECT_EQ(Violations("/* a comment\n   over lines with sleep(1)\n*/ usleep(5);").size(), 1u);
  // Choosing the real clock: only where the process starts.
  const char* chooses = "log_(util::SystemClock::Instance(), 5),";
  EXPECT_EQ(Violations(chooses).size(), 1u);
  EXPECT_TRUE(Violations(chooses, /*may_choose_clock=*/true).empty());
}

TEST(SourceRules, NothingOutsideUtilClockReadsTheClockOrSleeps) {
  const std::filesystem::path src = VWR_SOURCE_DIR;
  // util/clock is the one reader of time; everything else is given a util::Clock.
  const std::filesystem::path allowed[] = {src / "util" / "clock.cpp", src / "util" / "clock.hpp"};
  std::vector<std::string> violations;
  int scanned = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp" && ext != ".h")) continue;
    if (std::find(std::begin(allowed), std::end(allowed), entry.path()) != std::end(allowed)) {
      continue;
    }
    ++scanned;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool in_app = *std::filesystem::relative(entry.path(), src).begin() == "app";
    for (const std::string& v : Violations(text, in_app)) {
      violations.push_back(std::filesystem::relative(entry.path(), src).string() + " " + v);
    }
  }
  EXPECT_GT(scanned, 100) << "src/ not found at " << src;
  std::string report;
  for (const std::string& v : violations) report += "\n  src/" + v;
  EXPECT_TRUE(violations.empty()) << "only util/clock reads time, and nothing sleeps:" << report;
}

}  // namespace
}  // namespace vwr::app
