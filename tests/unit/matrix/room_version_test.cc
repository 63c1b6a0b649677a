// The room-version table against the per-version rules of the spec (Rooms v1-v12, notes 5.1).
#include "gateway/matrix/room_version.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bordergate::matrix {
namespace {

using F = EventIdFormat;
using R = RedactionFamily;

struct Expected {
  std::string id;
  F event_id;
  R redaction;
  bool strict_json, key_validity, knocking, restricted_signer, redacts_in_content,
      no_domain_room_id, create_in_auth_events;
  std::int64_t max_depth;
};

constexpr std::int64_t k63 = INT64_MAX;
constexpr std::int64_t k53 = (std::int64_t{1} << 53) - 1;

// Written from the table in federation-notes 5.1, not from room_version.cc.
const Expected kExpected[] = {
    {"1", F::kExplicit, R::kV1, false, false, false, false, false, false, true, k63},
    {"2", F::kExplicit, R::kV1, false, false, false, false, false, false, true, k63},
    {"3", F::kBase64, R::kV1, false, false, false, false, false, false, true, k63},
    {"4", F::kUrlSafeBase64, R::kV1, false, false, false, false, false, false, true, k63},
    {"5", F::kUrlSafeBase64, R::kV1, false, true, false, false, false, false, true, k63},
    {"6", F::kUrlSafeBase64, R::kV6, true, true, false, false, false, false, true, k53},
    {"7", F::kUrlSafeBase64, R::kV6, true, true, true, false, false, false, true, k53},
    {"8", F::kUrlSafeBase64, R::kV8, true, true, true, true, false, false, true, k53},
    {"9", F::kUrlSafeBase64, R::kV9, true, true, true, true, false, false, true, k53},
    {"10", F::kUrlSafeBase64, R::kV9, true, true, true, true, false, false, true, k53},
    {"11", F::kUrlSafeBase64, R::kV11, true, true, true, true, true, false, true, k53},
    {"12", F::kUrlSafeBase64, R::kV11, true, true, true, true, true, true, false, k53},
};

class RoomVersionTable : public ::testing::TestWithParam<Expected> {};

TEST_P(RoomVersionTable, MatchesTheSpec) {
  const Expected& e = GetParam();
  const RoomVersionRules* r = find_room_version(e.id);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->id, e.id);
  EXPECT_EQ(r->event_id_format, e.event_id);
  EXPECT_EQ(r->redaction, e.redaction);
  EXPECT_EQ(r->strict_canonical_json, e.strict_json);
  EXPECT_EQ(r->enforce_key_validity, e.key_validity);
  EXPECT_EQ(r->knocking, e.knocking);
  EXPECT_EQ(r->restricted_join_signer, e.restricted_signer);
  EXPECT_EQ(r->redacts_in_content, e.redacts_in_content);
  EXPECT_EQ(r->room_id_without_domain, e.no_domain_room_id);
  EXPECT_EQ(r->create_in_auth_events, e.create_in_auth_events);
  EXPECT_EQ(r->max_depth, e.max_depth);
  EXPECT_EQ(r->prev_events_with_hashes, e.event_id == F::kExplicit);
  EXPECT_EQ(r->create_has_creator, e.redaction != R::kV11);
  EXPECT_EQ(r->knock_restricted, std::stoi(e.id) >= 10);
  EXPECT_EQ(r->integer_power_levels, std::stoi(e.id) >= 10);
  EXPECT_EQ(r->special_case_aliases_auth, std::stoi(e.id) <= 5);
  EXPECT_EQ(r->additional_creators, e.id == "12");
  EXPECT_EQ(r->identifier_byte_limits, std::stoi(e.id) >= 11);
  auto looked_up = room_version(e.id);
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(*looked_up, r);
}

INSTANTIATE_TEST_SUITE_P(AllStableVersions, RoomVersionTable, ::testing::ValuesIn(kExpected),
                         [](const auto& p) { return "v" + p.param.id; });

TEST(RoomVersion, KnownVersionsAreTheTwelveStableOnesInOrder) {
  auto all = known_room_versions();
  ASSERT_EQ(all.size(), 12u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].id, std::to_string(i + 1));
}

TEST(RoomVersion, UnknownVersionsAreRefusedWithAClearCode) {
  for (const std::string& id : std::vector<std::string>{"", "0", "13", "01", "1.0", " 1", "1 ", "v1", "org.matrix.msc2176",
                         "org.matrix.hydra.11", "12\n", std::string("1\0", 2)}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(find_room_version(id), nullptr);
    auto r = room_version(id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "unknown_room_version");
  }
}

TEST(RoomVersion, ErrorMessageNamesTheVersionButStaysShort) {
  auto r = room_version(std::string(1000, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("xxxx"), std::string::npos);
  EXPECT_LT(r.error().message.size(), 200u);
}

}  // namespace
}  // namespace bordergate::matrix
