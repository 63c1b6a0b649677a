// Shared fixtures of the event tests: a small federation (origin, resident, an impostor key with
// origin's key id) and a well-formed PDU skeleton in the shape each room version demands.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "gateway/matrix/event.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::matrix::testing {

inline const RoomVersionRules& version(std::string_view id) { return *find_room_version(id); }

struct World {
  SigningKey origin = SigningKey::generate("o1");
  SigningKey resident = SigningKey::generate("r1");
  SigningKey stranger = SigningKey::generate("o1");  // same key id, different key
  StaticKeyRing ring;
  World() {
    EXPECT_TRUE(ring.add("origin.example", origin.key_id(), origin.verify_key()).ok());
    EXPECT_TRUE(ring.add("resident.example", resident.key_id(), resident.verify_key()).ok());
  }
};

inline JsonObject base_event(const RoomVersionRules& rules) {
  JsonObject event{{"type", "m.room.message"},
                   {"sender", "@alice:origin.example"},
                   {"origin_server_ts", std::int64_t{1700000000000}},
                   {"content", JsonObject{{"body", "hello"}, {"msgtype", "m.text"}}},
                   {"depth", 12},
                   {"unsigned", JsonObject{{"age", 5}}}};
  if (rules.room_id_without_domain) {
    event["room_id"] = "!" + std::string(43, 'A');
  } else {
    event["room_id"] = "!room:origin.example";
  }
  if (rules.prev_events_with_hashes) {
    event["event_id"] = "$e1:origin.example";
    event["prev_events"] = JsonArray{JsonArray{"$p:origin.example", JsonObject{{"sha256", "x"}}}};
    event["auth_events"] = JsonArray{};
  } else {
    event["prev_events"] = JsonArray{"$prev"};
    event["auth_events"] = JsonArray{"$auth"};
  }
  return event;
}

}  // namespace bordergate::matrix::testing
