// PDU structure per room version: field shapes, identifier and size limits, v12 room ids.
#include "gateway/matrix/pdu_format.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/matrix/event.h"
#include "tests/unit/matrix/event_test_world.h"

namespace bordergate::matrix {
namespace {

using testing::base_event;
using testing::version;
using testing::World;

TEST(PduFormat, V12CreateEventFoundsTheRoomId) {
  World world;
  const RoomVersionRules& v12 = version("12");
  JsonObject create{{"type", "m.room.create"},
                    {"state_key", ""},
                    {"sender", "@alice:origin.example"},
                    {"origin_server_ts", std::int64_t{1700000000000}},
                    {"content", JsonObject{{"room_version", "12"}}},
                    {"depth", 1},
                    {"prev_events", JsonArray{}},
                    {"auth_events", JsonArray{}}};
  ASSERT_TRUE(hash_and_sign_event(create, v12, "origin.example", world.origin).ok());
  PduCheck check = check_pdu(create, v12, world.ring.lookup());
  EXPECT_TRUE(check.ok()) << (check.format.ok() ? "" : check.format.error().message);
  ASSERT_TRUE(check.room_id && check.event_id);
  EXPECT_EQ(check.room_id->substr(1), check.event_id->substr(1));
  EXPECT_EQ(check.room_id->front(), '!');
  auto room_id = compute_room_id(create, v12);
  ASSERT_TRUE(room_id.ok());
  EXPECT_EQ(*room_id, *check.room_id);

  // Events in that room carry the domain-less id and pass the format check.
  JsonObject message = base_event(v12);
  message["room_id"] = *room_id;
  ASSERT_TRUE(hash_and_sign_event(message, v12, "origin.example", world.origin).ok());
  EXPECT_TRUE(check_pdu_format(message, v12).ok());

  // A v12 create event with a room_id is malformed; in v11 it is required.
  JsonObject with_room = create;
  with_room["room_id"] = *room_id;
  EXPECT_EQ(check_pdu_format(with_room, v12).error().code, "bad_event_format");
  EXPECT_EQ(check_pdu_format(create, version("11")).error().code, "bad_event_format");
  EXPECT_EQ(compute_room_id(create, version("11")).error().code, "room_id_has_domain");
  EXPECT_EQ(compute_room_id(message, v12).error().code, "not_a_create_event");
  // A v11-style room id is not a v12 room id.
  message["room_id"] = "!room:origin.example";
  EXPECT_EQ(check_pdu_format(message, v12).error().code, "bad_event_format");
  EXPECT_TRUE(check_pdu_format(message, version("11")).ok());
}

TEST(PduFormat, Table) {
  struct Case {
    std::string name;
    std::string version;
    std::string key;
    Json value;  // null with erase=true removes the key
    bool erase;
  };
  const Case cases[] = {
      {"no_type", "9", "type", nullptr, true},
      {"sender_not_user_id", "9", "sender", "alice", false},
      {"ts_not_int", "9", "origin_server_ts", "1", false},
      {"content_array", "9", "content", JsonArray{}, false},
      {"state_key_int", "9", "state_key", 1, false},
      {"unsigned_string", "9", "unsigned", "x", false},
      {"no_room_id", "9", "room_id", nullptr, true},
      {"room_id_without_server", "9", "room_id", "!abc", false},
      {"no_event_id_v1", "1", "event_id", nullptr, true},
      {"depth_negative", "9", "depth", -1, false},
      {"depth_over_v6_cap", "6", "depth", std::int64_t{1} << 53, false},
      {"no_hashes", "9", "hashes", nullptr, true},
      {"signatures_not_nested", "9", "signatures", JsonObject{{"x", "y"}}, false},
      {"prev_events_v1_plain_ids", "1", "prev_events", JsonArray{"$a:x"}, false},
      {"prev_events_v3_pairs", "3", "prev_events", JsonArray{JsonArray{"$a:x", JsonObject{}}},
       false},
      {"auth_events_missing", "9", "auth_events", nullptr, true},
      {"prev_events_too_many", "9", "prev_events", JsonArray(21, Json("$p")), false},
      {"auth_events_too_many", "9", "auth_events", JsonArray(11, Json("$a")), false},
  };
  World world;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    JsonObject event = base_event(version(c.version));
    ASSERT_TRUE(
        hash_and_sign_event(event, version(c.version), "origin.example", world.origin).ok());
    ASSERT_TRUE(check_pdu_format(event, version(c.version)).ok());
    if (c.erase) {
      event.erase(c.key);
    } else {
      event[c.key] = c.value;
    }
    Status s = check_pdu_format(event, version(c.version));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "bad_event_format");
    EXPECT_FALSE(check_pdu(event, version(c.version), world.ring.lookup()).ok());
  }
  // v1-v5 allow depth up to 2^63-1; the reference limits can be lifted for backfill.
  JsonObject deep = base_event(version("5"));
  ASSERT_TRUE(hash_and_sign_event(deep, version("5"), "origin.example", world.origin).ok());
  deep["depth"] = std::int64_t{1} << 53;
  EXPECT_TRUE(check_pdu_format(deep, version("5")).ok());
  JsonObject many = base_event(version("9"));
  ASSERT_TRUE(hash_and_sign_event(many, version("9"), "origin.example", world.origin).ok());
  many["prev_events"] = JsonArray(21, Json("$p"));
  EXPECT_TRUE(check_pdu_format(many, version("9"), {.enforce_reference_limits = false}).ok());
}

TEST(PduFormat, IdentifierLimitsAreBytesFromV11AndCodePointsBefore) {
  World world;
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\u00e4";  // 200 code points, 400 bytes
  for (const char* id : {"10", "11"}) {
    SCOPED_TRACE(id);
    JsonObject event = base_event(version(id));
    event["type"] = "org.example.state";
    event["state_key"] = umlauts;
    ASSERT_TRUE(hash_and_sign_event(event, version(id), "origin.example", world.origin).ok());
    EXPECT_EQ(check_pdu_format(event, version(id)).ok(), std::string(id) == "10");
    event["state_key"] = std::string(256, 'k');
    EXPECT_EQ(check_pdu_format(event, version(id)).error().code, "bad_event_format");
    event["state_key"] = std::string(255, 'k');
    EXPECT_TRUE(check_pdu_format(event, version(id)).ok());
    event["type"] = std::string(256, 't');
    EXPECT_FALSE(check_pdu_format(event, version(id)).ok());
  }
}

TEST(PduFormat, V12AuthEventsNeverListTheCreateEvent) {
  World world;
  JsonObject event = base_event(version("12"));
  const std::string create_id = "$" + event["room_id"].string_if()->substr(1);
  event["auth_events"] = JsonArray{"$power", create_id};
  ASSERT_TRUE(hash_and_sign_event(event, version("12"), "origin.example", world.origin).ok());
  EXPECT_EQ(check_pdu_format(event, version("12")).error().code, "bad_event_format");
  event["auth_events"] = JsonArray{"$power"};
  EXPECT_TRUE(check_pdu_format(event, version("12")).ok());
}

TEST(PduSize, CanonicalSizeMatchesTheEncoder) {
  World world;
  JsonObject event = base_event(version("9"));
  ASSERT_TRUE(hash_and_sign_event(event, version("9"), "origin.example", world.origin).ok());
  EXPECT_EQ(canonical_pdu_size(event), canonical_json(Json(event))->size());
  event["we\"ird\nkey"] = JsonObject{{"\u00e4", JsonArray{1, "x\\"}}};
  EXPECT_EQ(canonical_pdu_size(event), canonical_json(Json(event))->size());
  EXPECT_EQ(canonical_pdu_size(JsonObject{}), 2u);
  EXPECT_EQ(canonical_pdu_size(JsonObject{{"unsigned", JsonObject{}}}), 15u);
}

TEST(PduSize, SixtyFourKiBIncludingSignaturesAndUnsigned) {
  World world;
  const RoomVersionRules& rules = version("10");
  JsonObject event = base_event(rules);
  ASSERT_TRUE(hash_and_sign_event(event, rules, "origin.example", world.origin).ok());
  // Grow the body until the whole event is exactly 65536 bytes, then one byte more.
  std::size_t base = canonical_pdu_size(event);
  auto& content = *event["content"].object_if();
  std::string body = *content["body"].string_if();
  body.append(kMaxPduBytes - base, 'x');
  content["body"] = body;
  ASSERT_TRUE(hash_and_sign_event(event, rules, "origin.example", world.origin).ok());
  ASSERT_EQ(canonical_pdu_size(event), kMaxPduBytes);
  PduCheck at_limit = check_pdu(event, rules, world.ring.lookup());
  EXPECT_TRUE(at_limit.ok()) << (at_limit.format.ok() ? "" : at_limit.format.error().message);
  // unsigned counts too (Synapse measures it), although nothing signs it.
  event["unsigned"] = JsonObject{{"age", 50}};
  ASSERT_EQ(canonical_pdu_size(event), kMaxPduBytes + 1);
  PduCheck over = check_pdu(event, rules, world.ring.lookup());
  ASSERT_FALSE(over.format.ok());
  EXPECT_EQ(over.format.error().code, "pdu_too_large");
  EXPECT_TRUE(over.content_hash.ok());
  EXPECT_TRUE(over.signatures_ok());
}

TEST(Identifiers, ServerNameIsEverythingAfterTheFirstColon) {
  EXPECT_EQ(id_server_name("@a:example.org"), "example.org");
  EXPECT_EQ(id_server_name("@a:example.org:8448"), "example.org:8448");
  EXPECT_EQ(id_server_name("@a:[::1]:8448"), "[::1]:8448");
  EXPECT_EQ(id_server_name("@a"), "");
}
}  // namespace
}  // namespace bordergate::matrix
