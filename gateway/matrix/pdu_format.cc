// Structural checks on PDUs per room version (Rooms vN §Event format, CS §Size limits): the
// shape the hash and signature code relies on, identifier and size limits, and the v12 room-id
// rules. Kept apart from event.cc so the check rules read as one list.
#include "gateway/matrix/pdu_format.h"

#include <algorithm>
#include <string>

#include "gateway/matrix/canonical_parts.h"
#include "gateway/matrix/event_fields.h"

namespace bordergate::matrix {
namespace {

constexpr std::size_t kMaxPrevEvents = 20;
constexpr std::size_t kMaxAuthEvents = 10;
constexpr std::size_t kReferenceHashBase64Length = 43;
constexpr std::size_t kMaxIdentifierLength = 255;

bool is_urlsafe_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Code points of valid UTF-8: every byte that is not a continuation byte starts one.
std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

Status check_identifier_lengths(const JsonObject& event, const RoomVersionRules& rules) {
  for (std::string_view name : {"type", "sender", "room_id", "event_id", "state_key"}) {
    const std::string* value = string_member(event, name);
    if (value == nullptr) continue;
    std::size_t length = rules.identifier_byte_limits ? value->size() : code_points(*value);
    if (length > kMaxIdentifierLength) {
      return format_error("\"" + std::string(name) + "\" is longer than 255 " +
                          (rules.identifier_byte_limits ? "bytes" : "code points"));
    }
  }
  return {};
}

Status check_event_references(const JsonObject& event, std::string_view name, std::size_t limit,
                              const RoomVersionRules& rules, const PduFormatOptions& options) {
  auto it = event.find(name);
  const JsonArray* refs = it == event.end() ? nullptr : it->second.array_if();
  if (refs == nullptr) return format_error("\"" + std::string(name) + "\" is not an array");
  if (options.enforce_reference_limits && refs->size() > limit) {
    return format_error("\"" + std::string(name) + "\" has " + std::to_string(refs->size()) +
                        " entries, more than " + std::to_string(limit));
  }
  for (const Json& ref : *refs) {
    const Json* id = &ref;
    if (rules.prev_events_with_hashes) {
      // v1/v2: [event_id, {"sha256": ...}]
      const JsonArray* pair = ref.array_if();
      if (pair == nullptr || pair->size() != 2 || !(*pair)[1].is_object()) {
        return format_error("\"" + std::string(name) + "\" entries must be [event_id, hashes]");
      }
      id = &(*pair)[0];
    }
    const std::string* s = id->string_if();
    if (s == nullptr || s->empty() || s->front() != '$') {
      return format_error("\"" + std::string(name) + "\" holds something that is not an event id");
    }
  }
  return {};
}

}  // namespace

// Measured with the encoder itself so escaping and number forms cannot drift from it.
std::size_t pdu_member_size(std::string_view key, const Json& value) {
  std::string encoded_key;
  append_canonical_key(encoded_key, key);
  return encoded_key.size() + compact_json(value).size();
}

std::string_view id_server_name(std::string_view id) {
  auto colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
}

bool is_create_event(const JsonObject& event) {
  const std::string* type = string_member(event, "type");
  const std::string* state_key = string_member(event, "state_key");
  return type && *type == "m.room.create" && state_key && state_key->empty();
}

Status check_pdu_format(const JsonObject& event, const RoomVersionRules& rules,
                        const PduFormatOptions& options) {
  if (!string_member(event, "type")) return format_error("\"type\" is missing or not a string");
  const std::string* sender = string_member(event, "sender");
  if (sender == nullptr || !has_sigil_and_server(*sender, '@')) {
    return format_error("\"sender\" is not a user id @localpart:server");
  }
  auto ts = event.find("origin_server_ts");
  if (ts == event.end() || !ts->second.is_int()) {
    return format_error("\"origin_server_ts\" is missing or not an integer");
  }
  if (!object_member(event, "content")) return format_error("\"content\" is not an object");
  auto state_key = event.find("state_key");
  if (state_key != event.end() && !state_key->second.is_string()) {
    return format_error("\"state_key\" is not a string");
  }
  auto unsigned_data = event.find("unsigned");
  if (unsigned_data != event.end() && !unsigned_data->second.is_object()) {
    return format_error("\"unsigned\" is not an object");
  }

  auto room = event.find("room_id");
  if (rules.room_id_without_domain && is_create_event(event)) {
    if (room != event.end()) {
      return format_error("a room version " + std::string(rules.id) +
                          " create event must not have a \"room_id\"");
    }
  } else {
    const std::string* room_id = room == event.end() ? nullptr : room->second.string_if();
    if (room_id == nullptr) return format_error("\"room_id\" is missing or not a string");
    if (rules.room_id_without_domain) {
      bool ok = room_id->size() == 1 + kReferenceHashBase64Length && room_id->front() == '!' &&
                std::all_of(room_id->begin() + 1, room_id->end(), is_urlsafe_base64_char);
      if (!ok) {
        return format_error("room version " + std::string(rules.id) +
                            " room ids are \"!\" + the create event's URL-safe hash");
      }
    } else if (!has_sigil_and_server(*room_id, '!')) {
      return format_error("\"room_id\" is not a room id !opaque:server");
    }
  }

  if (rules.event_id_format == EventIdFormat::kExplicit) {
    const std::string* id = string_member(event, "event_id");
    if (id == nullptr || !has_sigil_and_server(*id, '$')) {
      return format_error("\"event_id\" is not an event id $opaque:server");
    }
  }

  auto depth = event.find("depth");
  auto depth_value = depth == event.end() ? std::nullopt : depth->second.int_if();
  if (!depth_value || *depth_value < 0 || *depth_value > rules.max_depth) {
    return format_error("\"depth\" is missing or not an integer in [0, " +
                        std::to_string(rules.max_depth) + "]");
  }

  if (!object_member(event, "hashes")) return format_error("\"hashes\" is not an object");
  const JsonObject* signatures = object_member(event, "signatures");
  if (signatures == nullptr) return format_error("\"signatures\" is not an object");
  for (const auto& [server, by_key] : *signatures) {
    const JsonObject* keys = by_key.object_if();
    if (keys == nullptr) return format_error("signatures." + server + " is not an object");
    for (const auto& [key_id, sig] : *keys) {
      if (!sig.is_string())
        return format_error("signatures." + server + "." + key_id + " is not a string");
    }
  }

  if (Status s = check_identifier_lengths(event, rules); !s) return s;
  if (Status s = check_event_references(event, "prev_events", kMaxPrevEvents, rules, options); !s) {
    return s;
  }
  if (Status s = check_event_references(event, "auth_events", kMaxAuthEvents, rules, options); !s) {
    return s;
  }
  if (rules.room_id_without_domain && !rules.create_in_auth_events && room != event.end()) {
    // The create event's id is the room id with "$" for "!"; v12 never lists it.
    const std::string create_id = "$" + room->second.string_if()->substr(1);
    for (const Json& ref : *event.find("auth_events")->second.array_if()) {
      if (ref.string_if() && *ref.string_if() == create_id) {
        return format_error("room version " + std::string(rules.id) +
                            " auth_events must not list the create event");
      }
    }
  }
  return {};
}

std::size_t canonical_pdu_size(const JsonObject& event) {
  std::size_t size = 2;  // braces
  for (const auto& [key, value] : event) size += pdu_member_size(key, value);
  return size + (event.empty() ? 0 : event.size() - 1);  // commas
}

}  // namespace bordergate::matrix
