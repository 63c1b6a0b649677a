// The room-version table. Every rule is written as the range of versions it applies to, exactly
// as Rooms vN and the federation notes (section 5.1) state it, so each line can be checked alone.
#include "gateway/matrix/room_version.h"

#include <array>
#include <string>

namespace bordergate::matrix {
namespace {

constexpr std::string_view kIds[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"};

constexpr RoomVersionRules rules_for(int v) {
  RoomVersionRules r{};
  r.id = kIds[v - 1];
  r.event_id_format = v <= 2   ? EventIdFormat::kExplicit
                      : v == 3 ? EventIdFormat::kBase64
                               : EventIdFormat::kUrlSafeBase64;
  r.redaction = v <= 5    ? RedactionFamily::kV1
                : v <= 7  ? RedactionFamily::kV6
                : v == 8  ? RedactionFamily::kV8
                : v <= 10 ? RedactionFamily::kV9
                          : RedactionFamily::kV11;
  r.state_resolution = v == 1    ? StateResolution::kV1
                       : v <= 11 ? StateResolution::kV2
                                 : StateResolution::kV2_1;
  r.prev_events_with_hashes = v <= 2;
  r.strict_canonical_json = v >= 6;
  r.enforce_key_validity = v >= 5;
  r.special_case_aliases_auth = v <= 5;
  r.knocking = v >= 7;
  r.restricted_join_signer = v >= 8;
  r.knock_restricted = v >= 10;
  r.integer_power_levels = v >= 10;
  r.redacts_in_content = v >= 11;
  r.create_has_creator = v <= 10;
  r.room_id_without_domain = v >= 12;
  r.create_in_auth_events = v <= 11;
  r.additional_creators = v >= 12;
  r.identifier_byte_limits = v >= 11;
  r.max_depth = v <= 5 ? INT64_MAX                     // 2^63 - 1
                       : (std::int64_t{1} << 53) - 1;  // canonical JSON integer range
  return r;
}

constexpr std::array<RoomVersionRules, 12> kRoomVersions = {
    rules_for(1), rules_for(2), rules_for(3), rules_for(4),  rules_for(5),  rules_for(6),
    rules_for(7), rules_for(8), rules_for(9), rules_for(10), rules_for(11), rules_for(12)};

}  // namespace

const RoomVersionRules* find_room_version(std::string_view id) {
  for (const auto& rules : kRoomVersions) {
    if (rules.id == id) return &rules;
  }
  return nullptr;
}

Result<const RoomVersionRules*> room_version(std::string_view id) {
  if (const RoomVersionRules* rules = find_room_version(id)) return rules;
  std::string shown(id.substr(0, 64));
  return make_error("unknown_room_version",
                    "room version \"" + shown + "\" is not one of the stable versions 1-12");
}

std::span<const RoomVersionRules> known_room_versions() { return kRoomVersions; }

std::string_view to_string(EventIdFormat format) {
  switch (format) {
    case EventIdFormat::kExplicit:
      return "explicit";
    case EventIdFormat::kBase64:
      return "base64";
    case EventIdFormat::kUrlSafeBase64:
      return "urlsafe_base64";
  }
  return "?";
}

std::string_view to_string(RedactionFamily family) {
  switch (family) {
    case RedactionFamily::kV1:
      return "v1";
    case RedactionFamily::kV6:
      return "v6";
    case RedactionFamily::kV8:
      return "v8";
    case RedactionFamily::kV9:
      return "v9";
    case RedactionFamily::kV11:
      return "v11";
  }
  return "?";
}

}  // namespace bordergate::matrix
