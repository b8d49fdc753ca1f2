#include "http/respond.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>

namespace vwr::http {
namespace {

TEST(Respond, HoldsTheServersCallableInPlaceAndALargerOneOnTheHeap) {
  int calls = 0;
  auto shared = std::make_shared<int>(7);
  // What the server's session holds: a shared_ptr (the session itself).
  Respond small = [shared, &calls](Response) { calls += *shared; };
  Respond copy = small;
  EXPECT_EQ(shared.use_count(), 3);
  Respond moved = std::move(small);
  EXPECT_FALSE(small);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(shared.use_count(), 3);
  moved(Response{});
  EXPECT_EQ(calls, 7);

  std::array<char, 128> big{};
  big[0] = 2;
  Respond large = [big, &calls](Response) { calls += big[0]; };
  Respond large_copy = large;
  large(Response{});
  large_copy(Response{});
  EXPECT_EQ(calls, 11);
  copy = large;  // the shared_ptr it held is released
  EXPECT_EQ(shared.use_count(), 2);
  copy(Response{});
  EXPECT_EQ(calls, 13);
}

}  // namespace
}  // namespace vwr::http
