// Learnt room versions survive a restart; the first verified answer for a room wins.
#include "gateway/enforcement/room_versions.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace bordergate::enforcement {
namespace {

TEST(RoomVersions, PersistAndReload) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("bg-rooms-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "rooms.db").string();
  {
    auto rv = RoomVersions::open(path);
    ASSERT_TRUE(rv.ok()) << rv.error().message;
    EXPECT_EQ((*rv)->find("!a:x"), nullptr);
    (*rv)->learn("!a:x", "10");
    (*rv)->learn("!a:x", "11");  // ignored: a room's version never changes
    (*rv)->learn("!b:x", "99");  // unknown version: ignored
    (*rv)->learn("", "10");      // no room: ignored
    (*rv)->learn("!KaBdEiNpB0x8rM9g6pZ3fQ1sXcVjLt2nWuYoHe4kRdA", "12");
    ASSERT_NE((*rv)->find("!a:x"), nullptr);
    EXPECT_EQ((*rv)->find("!a:x")->id, "10");
    EXPECT_EQ((*rv)->size(), 2u);
  }
  auto again = RoomVersions::open(path);
  ASSERT_TRUE(again.ok());
  ASSERT_NE((*again)->find("!a:x"), nullptr);
  EXPECT_EQ((*again)->find("!a:x")->id, "10");
  EXPECT_EQ((*again)->find("!KaBdEiNpB0x8rM9g6pZ3fQ1sXcVjLt2nWuYoHe4kRdA")->id, "12");
  EXPECT_EQ((*again)->find("!b:x"), nullptr);
  again->reset();
  std::filesystem::remove_all(dir);

  EXPECT_FALSE(RoomVersions::open("/nonexistent-dir/x/rooms.db").ok());
}

}  // namespace
}  // namespace bordergate::enforcement
