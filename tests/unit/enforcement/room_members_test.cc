// Who is in a room, as the gateway sees it: joins and leaves ordered by depth, the servers that
// newly joined, bounds, and the file that keeps it across restarts.
#include "gateway/enforcement/room_members.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gateway/matrix/json.h"

namespace bordergate::enforcement {
namespace {

using Servers = std::vector<std::string>;

Membership m(const char* room, const char* user, bool joined, std::int64_t depth) {
  return Membership{room, user, joined, depth};
}

TEST(RoomMembers, MembershipOfAnEvent) {
  struct Case {
    const char* name;
    const char* json;
    bool found;
    bool joined;
  };
  const Case cases[] = {
      {"a join",
       R"({"type":"m.room.member","room_id":"!r:x","state_key":"@a:x","depth":3,)"
       R"("content":{"membership":"join"}})",
       true, true},
      {"a ban is not joined",
       R"({"type":"m.room.member","room_id":"!r:x","state_key":"@a:x","depth":3,)"
       R"("content":{"membership":"ban"}})",
       true, false},
      {"another type", R"({"type":"m.room.message","room_id":"!r:x","depth":3,"content":{}})",
       false, false},
      {"state_key not a user id",
       R"({"type":"m.room.member","room_id":"!r:x","state_key":"a","depth":3,)"
       R"("content":{"membership":"join"}})",
       false, false},
      {"no depth",
       R"({"type":"m.room.member","room_id":"!r:x","state_key":"@a:x",)"
       R"("content":{"membership":"join"}})",
       false, false},
      {"membership not a string",
       R"({"type":"m.room.member","room_id":"!r:x","state_key":"@a:x","depth":3,)"
       R"("content":{"membership":1}})",
       false, false},
  };
  for (const Case& c : cases) {
    auto json = matrix::parse_json(c.json);
    ASSERT_TRUE(json.ok()) << c.name;
    auto got = membership_of(*json->object_if());
    EXPECT_EQ(got.has_value(), c.found) << c.name;
    if (got) {
      EXPECT_EQ(got->joined, c.joined) << c.name;
    }
  }
}

TEST(RoomMembers, JoinsLeavesAndDepth) {
  RoomMembers rm;
  EXPECT_FALSE(rm.servers("!r:x"));
  // Two users of one server join: the server is new once. Ports and case do not make new ones.
  auto joined = rm.observe(std::vector{m("!r:x", "@a:Alpha.example", true, 5),
                                       m("!r:x", "@b:alpha.example:8448", true, 6),
                                       m("!r:x", "@c:beta.example", true, 7)});
  ASSERT_EQ(joined.size(), 2u);
  EXPECT_EQ(joined[0].server, "alpha.example");
  EXPECT_EQ(joined[1].server, "beta.example");
  EXPECT_EQ(rm.servers("!r:x"), (Servers{"alpha.example", "beta.example"}));
  // One of alpha's users leaves: alpha is still in.
  EXPECT_TRUE(rm.observe(std::vector{m("!r:x", "@a:Alpha.example", false, 8)}).empty());
  EXPECT_EQ(rm.servers("!r:x"), (Servers{"alpha.example", "beta.example"}));
  // beta's only user leaves; its older join, backfilled afterwards, does not bring it back.
  rm.observe(std::vector{m("!r:x", "@c:beta.example", false, 9)});
  EXPECT_TRUE(rm.observe(std::vector{m("!r:x", "@c:beta.example", true, 7)}).empty());
  EXPECT_EQ(rm.servers("!r:x"), (Servers{"alpha.example"}));
  // A later join does, and says so.
  joined = rm.observe(std::vector{m("!r:x", "@c:beta.example", true, 12)});
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].room_id, "!r:x");
  // Knowing a room in which nobody is joined is not the same as not knowing it.
  rm.observe(std::vector{m("!s:x", "@d:gamma.example", false, 1)});
  EXPECT_EQ(rm.servers("!s:x"), Servers{});
  EXPECT_EQ(rm.rooms(), 2u);
  EXPECT_EQ(rm.entries(), 4u);
}

TEST(RoomMembers, Bounds) {
  RoomMembers rm(/*max_rooms=*/2, /*max_entries=*/3);
  rm.observe(std::vector{m("!a:x", "@1:s.example", true, 1), m("!b:x", "@2:s.example", true, 1),
                         m("!c:x", "@3:s.example", true, 1)});
  EXPECT_EQ(rm.rooms(), 2u);
  EXPECT_FALSE(rm.servers("!c:x"));
  rm.observe(std::vector{m("!a:x", "@4:t.example", true, 1), m("!a:x", "@5:u.example", true, 1)});
  EXPECT_EQ(rm.entries(), 3u);
  EXPECT_EQ(rm.dropped(), 2u);
  // Known members still change.
  rm.observe(std::vector{m("!a:x", "@1:s.example", false, 2)});
  EXPECT_EQ(rm.servers("!a:x"), (Servers{"t.example"}));
}

TEST(RoomMembers, PersistAndReload) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("bg-members-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "members.db").string();
  {
    auto rm = RoomMembers::open(path);
    ASSERT_TRUE(rm.ok()) << rm.error().message;
    (*rm)->observe(
        std::vector{m("!r:x", "@a:alpha.example", true, 5), m("!r:x", "@c:beta.example", true, 6)});
    (*rm)->observe(std::vector{m("!r:x", "@c:beta.example", false, 9)});
  }
  auto again = RoomMembers::open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->servers("!r:x"), (Servers{"alpha.example"}));
  // The leave's depth was kept: the older join stays history.
  EXPECT_TRUE((*again)->observe(std::vector{m("!r:x", "@c:beta.example", true, 6)}).empty());
  again->reset();
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(RoomMembers::open("/nonexistent-dir/x/members.db").ok());
}

}  // namespace
}  // namespace bordergate::enforcement
