#include "app/guard_lists.hpp"

#include <gtest/gtest.h>

namespace vwr::app {
namespace {

TEST(GuardListsCodec, RoundTripsEveryKindOfEntry) {
  const api::GuardChange changes[] = {
      {"sale", api::GuardList::kBlock, {true, "203.0.113.7", 1767225660, "auto"}, false},
      {"sale", api::GuardList::kDeny, {true, "2001:db8::/32", 0, "admin"}, false},
      {"r-2", api::GuardList::kAllow, {false, "user \"quoted\"\twith tab", 0, "admin"}, false},
      {"r-2", api::GuardList::kUnblock, {false, "x", 0, "admin"}, false},
  };
  for (const api::GuardChange& change : changes) {
    const auto [field, value] = EncodeGuardEntry(change);
    const std::optional<api::GuardChange> back = DecodeGuardEntry(field, value);
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

}  // namespace
}  // namespace vwr::app
