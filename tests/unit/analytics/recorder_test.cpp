#include "analytics/recorder.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vwr::analytics {
namespace {

TEST(TopSketch, KeepsEveryKeyHeavierThanTotalOverCapacity) {
  TopSketch sketch(8);
  for (int i = 0; i < 1000; ++i) {
    sketch.Add("heavy");                       // 25 %
    sketch.Add("other-" + std::to_string(i));  // each once
    sketch.Add("other-" + std::to_string(i) + "b");
    sketch.Add("other-" + std::to_string(i) + "c");
  }
  EXPECT_EQ(sketch.total(), 4000u);
  bool found = false;
  sketch.ForEach([&](const TopSketch::Entry& e) {
    if (e.key == "heavy") {
      found = true;
      EXPECT_GE(e.count, 1000u);
      EXPECT_LE(e.count - e.error, 1000u);
    }
  });
  EXPECT_TRUE(found);
}

TEST(TopSketch, CutsLongKeys) {
  // A long key is counted under its first kMaxKeyBytes, not dropped: two keys that differ only
  // past the cut are one entry of weight two.
  TopSketch sketch(2);
  sketch.Add(std::string(1000, 'x'));
  sketch.Add(std::string(TopSketch::kMaxKeyBytes, 'x') + "yz");
  EXPECT_EQ(sketch.total(), 2u);
  ASSERT_EQ(sketch.size(), 1u);
  std::vector<std::pair<std::string, std::uint64_t>> entries;
  sketch.ForEach([&](const TopSketch::Entry& e) { entries.emplace_back(e.key, e.count); });
  EXPECT_EQ(entries, (std::vector<std::pair<std::string, std::uint64_t>>{
                         {std::string(TopSketch::kMaxKeyBytes, 'x'), 2}}));
}

TEST(TopSketch, CutsLongKeysBeforeACharacterNotInsideIt) {
  // "/" and then 3-byte Korean syllables (공): the cut at kMaxKeyBytes falls inside one.
  std::string key = "/";
  while (key.size() <= TopSketch::kMaxKeyBytes) key += "\xEA\xB3\xB5";  // 공
  ASSERT_NE(TopSketch::kMaxKeyBytes % 3, 1u);  // the cut is inside a syllable
  TopSketch sketch(2);
  sketch.Add(key);
  std::string kept;
  sketch.ForEach([&](const TopSketch::Entry& e) { kept = std::string(e.key); });
  EXPECT_LE(kept.size(), TopSketch::kMaxKeyBytes);
  EXPECT_EQ((kept.size() - 1) % 3, 0u) << kept.size();
  EXPECT_EQ(ValidUtf8(kept), kept);
  EXPECT_EQ(key.substr(0, kept.size()), kept);
  EXPECT_GE(kept.size(), TopSketch::kMaxKeyBytes - 2);
}

TEST(TopSketch, AKeyOfContinuationBytesOnlyIsCutAfterAtMostThreeStepsBack) {
  // A hostile key that is no UTF-8 at all: the cut looks back over at most three bytes (the
  // longest a character can run past the cut), and output makes it valid (ValidUtf8).
  TopSketch sketch(2);
  sketch.Add(std::string(1000, '\x80'));
  std::string kept;
  sketch.ForEach([&](const TopSketch::Entry& e) { kept = std::string(e.key); });
  EXPECT_EQ(kept, std::string(TopSketch::kMaxKeyBytes - 3, '\x80'));
}

TEST(Visitors, AgentClassesAndAddressPrefixes) {
  EXPECT_EQ(ClassifyAgent("Mozilla/5.0 (Windows NT 10.0) Chrome/120"), AgentClass::kBrowser);
  EXPECT_EQ(ClassifyAgent("Mozilla/5.0 (compatible; Googlebot/2.1)"), AgentClass::kBot);
  EXPECT_EQ(ClassifyAgent("Mozilla/5.0 HeadlessChrome/120"), AgentClass::kBot);
  EXPECT_EQ(ClassifyAgent("curl/8.0"), AgentClass::kBot);
  EXPECT_EQ(ClassifyAgent(""), AgentClass::kBot);
  EXPECT_EQ(ClassifyAgent("ShopApp/3.2 (iOS 17)"), AgentClass::kApp);
  char out[48];
  EXPECT_EQ(std::string(out, IpPrefixOf("198.51.100.23", out)), "198.51.100.0/24");
  EXPECT_EQ(std::string(out, IpPrefixOf("2001:db8:abcd:12::1", out)), "2001:db8:abcd::/48");
  EXPECT_EQ(IpPrefixOf("not an address", out), 0u);
  EXPECT_EQ(ValidUtf8("ok \xED\x95\x9C \xFF"), "ok \xED\x95\x9C \xEF\xBF\xBD");
}

TEST(Recorder, CountsByEndpointAndOutcome) {
  Recorder recorder;
  RoomRecorder& room = recorder.Room("shop");
  EXPECT_EQ(recorder.Find("shop"), &room);
  EXPECT_EQ(recorder.Find("other"), nullptr);
  room.Request({.endpoint = Endpoint::kJoin, .outcome = OutcomeOf(200)});
  room.Request({.endpoint = Endpoint::kStatus, .outcome = OutcomeOf(200)});
  room.Request({.endpoint = Endpoint::kStatus, .outcome = OutcomeOf(503)});
  room.Request(
      {.endpoint = Endpoint::kTracerInput, .outcome = OutcomeOf(200), .tracer_poll = true});
  room.Request({.endpoint = Endpoint::kJoin, .outcome = OutcomeOf(429, true)});
  room.Request({.endpoint = Endpoint::kPages, .outcome = OutcomeOf(404)});
  room.EndedByOperator();
  std::vector<Recorder::Collected> out;
  recorder.Collect(out);
  ASSERT_EQ(out.size(), 1u);
  const Frame& f = out[0].frame;
  EXPECT_EQ(f[field::kRequests], 6u);
  EXPECT_EQ(f[field::kRequestsJoin], 2u);
  EXPECT_EQ(f[field::kRequestsStatus], 2u);
  EXPECT_EQ(f[field::kRequestsTracerInput], 1u);
  EXPECT_EQ(f[field::kRequestsPages], 1u);
  EXPECT_EQ(f[field::kTracerPolls], 1u);
  EXPECT_EQ(f[field::kSuccess], 3u);
  EXPECT_EQ(f[field::kClientError], 1u);
  EXPECT_EQ(f[field::kServerError], 1u);
  EXPECT_EQ(f[field::kBlocked], 1u);
  EXPECT_EQ(f[field::kEndedByOperator], 1u);
  // A second collection holds only what came after the first.
  room.Request({.endpoint = Endpoint::kLeave});
  recorder.Collect(out);
  EXPECT_EQ(out[0].frame[field::kRequests], 1u);
  EXPECT_EQ(out[0].frame[field::kRequestsLeave], 1u);
}

TEST(Recorder, SamplesPollsIntoTheBreakdownsWithTheirWeight) {
  Recorder recorder({.poll_sample = 8});
  const Visitor who{.ip = "192.0.2.1", .user_agent = "curl/8"};
  for (int i = 0; i < 800; ++i) {
    recorder.Room("r").Request({.endpoint = Endpoint::kStatus, .visitor = &who});
  }
  std::vector<Recorder::Collected> out;
  recorder.Collect(out);
  EXPECT_EQ(out[0].frame[field::kSeenIp], 800u);
  EXPECT_EQ(out[0].frame[field::kUaBot], 800u);
  EXPECT_EQ(out[0].tops[static_cast<std::size_t>(Dimension::kIp)].Top(1).at(0).count, 800u);
}

// Many threads record while the pipeline collects: nothing is lost or counted twice, in the
// dedicated shards and in the shared one alike (run under ThreadSanitizer by `make test-tsan`).
TEST(Recorder, LosesNothingWhileCollectingConcurrently) {
  for (std::size_t slots : {std::size_t{16}, std::size_t{1}}) {
    Recorder recorder({.writer_slots = slots, .poll_sample = 1});
    constexpr int kThreads = 4;
    constexpr int kEach = 20'000;
    std::atomic<int> done{0};
    std::uint64_t requests = 0, seen = 0, heavy = 0;
    std::vector<Recorder::Collected> out;
    const auto collect = [&] {
      recorder.Collect(out);
      for (const auto& c : out) {
        requests += c.frame[field::kRequests];
        seen += c.frame[field::kSeenIp];
        for (const TopEntry& e : c.tops[static_cast<std::size_t>(Dimension::kIp)].Top(100)) {
          if (e.key == "198.51.100.1") heavy += e.count;
        }
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&recorder, &done] {
        const Visitor who{.ip = "198.51.100.1"};
        for (int i = 0; i < kEach; ++i) {
          recorder.Room("r").Request({.endpoint = Endpoint::kJoin, .visitor = &who});
        }
        done.fetch_add(1);
      });
    }
    while (done.load() < kThreads) collect();
    for (auto& t : threads) t.join();
    collect();
    EXPECT_EQ(requests, std::uint64_t{kThreads} * kEach) << slots << " slots";
    EXPECT_EQ(seen, std::uint64_t{kThreads} * kEach);
    EXPECT_EQ(heavy, std::uint64_t{kThreads} * kEach) << slots << " slots";
  }
}

}  // namespace
}  // namespace vwr::analytics
