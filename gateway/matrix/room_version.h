// The room-version table (Rooms v1-v12): which event-id format, redaction rules, JSON strictness
// and signature rules apply to events of a room. A PDU does not carry its room version, so every
// event check starts by looking the version up here; unknown versions are refused, never guessed.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "gateway/common/result.h"

namespace bordergate::matrix {

enum class EventIdFormat {
  kExplicit,       // v1, v2: "event_id" inside the PDU, "$opaque:server"
  kBase64,         // v3: "$" + standard unpadded base64 of the reference hash
  kUrlSafeBase64,  // v4+: "$" + URL-safe unpadded base64 of the reference hash
};

// Redaction rule families, named after the room version that introduced them (Rooms vN
// §Redactions): R1 for v1-v5, R6 for v6-v7, R8 for v8, R9 for v9-v10, R11 for v11-v12.
enum class RedactionFamily { kV1, kV6, kV8, kV9, kV11 };

enum class StateResolution { kV1, kV2, kV2_1 };

struct RoomVersionRules {
  std::string_view id;
  EventIdFormat event_id_format;
  RedactionFamily redaction;
  StateResolution state_resolution;
  // v1-v2: prev_events/auth_events are [[event_id, {"sha256": ...}], ...]; later plain ids.
  bool prev_events_with_hashes;
  // v6+: events must be canonical JSON (integer range, no floats); v1-v5 were lax.
  bool strict_canonical_json;
  // v5+: a signing key only counts if it was valid at the event's origin_server_ts.
  bool enforce_key_validity;
  // v1-v5: m.room.aliases has its own authorisation rule.
  bool special_case_aliases_auth;
  bool knocking;  // v7+: membership "knock", make_knock/send_knock
  // v8+: join_rule "restricted"; a join naming join_authorised_via_users_server must also be
  // signed by that user's server.
  bool restricted_join_signer;
  bool knock_restricted;        // v10+: join_rule "knock_restricted"
  bool integer_power_levels;    // v10+: power levels must be JSON integers, not strings
  bool redacts_in_content;      // v11+: m.room.redaction carries "redacts" in content
  bool create_has_creator;      // v1-v10: m.room.create content.creator (v11 uses the sender)
  bool room_id_without_domain;  // v12+: room id = "!" + the create event's reference hash
  bool create_in_auth_events;   // v1-v11: auth_events list the create event (v12: never)
  bool additional_creators;     // v12+: m.room.create content.additional_creators
  // Identifier limits (CS §Size limits: 255 bytes for sender, room_id, event_id, state_key,
  // type). v11+: bytes, as the spec says. Older rooms: 255 code points, as Synapse enforces them,
  // because strict bytes there would split rooms with existing peers (notes 5.8, 11.12).
  bool identifier_byte_limits;
  // Largest accepted "depth": 2^63-1 until v5, 2^53-1 from v6 (canonical JSON range).
  std::int64_t max_depth;
};

// nullptr when the id is not a stable room version this build knows.
const RoomVersionRules* find_room_version(std::string_view id);
// Like find_room_version, with an "unknown_room_version" error naming the id.
Result<const RoomVersionRules*> room_version(std::string_view id);
// Every known version, oldest first.
std::span<const RoomVersionRules> known_room_versions();

std::string_view to_string(EventIdFormat format);
std::string_view to_string(RedactionFamily family);

}  // namespace bordergate::matrix
