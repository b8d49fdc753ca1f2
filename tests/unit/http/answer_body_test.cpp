#include "http/answer_body.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vwr::http {
namespace {

// Each test runs on a thread of its own, whose stock starts empty.
template <class F>
void OnFreshThread(F f) {
  std::thread(f).join();
}

TEST(AnswerBody, AWrittenBodysMemoryServesTheNextAnswer) {
  OnFreshThread([] {
    std::string body = TakeAnswerBody(512);
    EXPECT_TRUE(body.empty());
    EXPECT_GE(body.capacity(), 512u);
    body = R"({"room":"sale","status":"waiting"})";
    const char* memory = body.data();
    RecycleAnswerBody(body);
    EXPECT_TRUE(body.empty());

    std::string next = TakeAnswerBody(300);
    EXPECT_TRUE(next.empty()) << "handed out cleared";
    EXPECT_EQ(next.data(), memory);
    EXPECT_GE(next.capacity(), 512u);
  });
}

TEST(AnswerBody, ATakerThatNeedsMoreGetsMore) {
  OnFreshThread([] {
    std::string body = TakeAnswerBody(100);
    body.assign(90, 'x');
    RecycleAnswerBody(body);
    std::string larger = TakeAnswerBody(4000);
    EXPECT_TRUE(larger.empty());
    EXPECT_GE(larger.capacity(), 4000u);
  });
}

TEST(AnswerBody, AThreadKeepsAFewBodiesOfBoundedSize) {
  OnFreshThread([] {
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < kRecycledAnswerBodies + 2; ++i) {
      bodies.push_back(TakeAnswerBody(256));
    }
    for (std::string& body : bodies) {
      RecycleAnswerBody(body);
      EXPECT_TRUE(body.empty());
    }
    EXPECT_EQ(AnswerBodiesKept(), kRecycledAnswerBodies) << "the others' memory went to the heap";
    for (std::size_t i = 0; i < kRecycledAnswerBodies; ++i) bodies[i] = TakeAnswerBody(256);
    EXPECT_EQ(AnswerBodiesKept(), 0u);

    std::string huge = TakeAnswerBody(kLargestRecycledAnswerBody + 1);
    RecycleAnswerBody(huge);
    EXPECT_TRUE(huge.empty());
    EXPECT_LT(huge.capacity(), kLargestRecycledAnswerBody) << "its memory let go";
    EXPECT_EQ(AnswerBodiesKept(), 0u) << "too large to keep";

    std::string short_body = "{}";  // inside the string itself: nothing to keep
    RecycleAnswerBody(short_body);
    EXPECT_EQ(AnswerBodiesKept(), 0u);
  });
}

TEST(AnswerBody, ABodyMadeOnOneThreadIsReusedByTheThreadThatWroteIt) {
  // An answer made on a store's thread and written by a worker.
  std::string body;
  std::thread([&body] { body = TakeAnswerBody(512); }).join();
  const char* memory = body.data();
  OnFreshThread([&body, memory] {
    RecycleAnswerBody(body);
    EXPECT_EQ(TakeAnswerBody(64).data(), memory);
  });
}

}  // namespace
}  // namespace vwr::http
