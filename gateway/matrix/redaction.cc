// Redaction rules per family, written as the tables of the federation notes (section 5.4).
#include "gateway/matrix/redaction.h"

#include <algorithm>
#include <array>

#include "gateway/matrix/canonical_parts.h"

namespace bordergate::matrix {
namespace {

using RF = RedactionFamily;

// clang-format off
constexpr std::array<std::string_view, 15> kTopLevelV1 = {
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
    "depth", "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts",
    "membership"};
// clang-format on
// R11 drops origin, membership and prev_state.
constexpr std::array<std::string_view, 12> kTopLevelV11 = {
    "event_id", "type",       "room_id", "sender",      "state_key",   "content",
    "hashes",   "signatures", "depth",   "prev_events", "auth_events", "origin_server_ts"};

constexpr std::array<std::string_view, 8> kPowerLevelKeys = {
    "ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

bool at_least(RF family, RF since) { return static_cast<int>(family) >= static_cast<int>(since); }

// "type" and "content" of an event, checked for the shape redaction needs.
struct TypeAndContent {
  std::string_view type;
  const JsonObject* content;
};

Result<TypeAndContent> type_and_content(const JsonObject& event) {
  auto type = event.find("type");
  if (type == event.end() || !type->second.is_string()) {
    return Error{"bad_event_format", "the event has no string \"type\""};
  }
  auto content = event.find("content");
  if (content == event.end() || !content->second.is_object()) {
    return Error{"bad_event_format", "the event has no object \"content\""};
  }
  return TypeAndContent{*type->second.string_if(), content->second.object_if()};
}

// Canonical JSON of the content left after redaction.
void append_redacted_content(std::string& out, RF family, std::string_view type,
                             const JsonObject& content) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : content) {
    ContentRule rule = redaction_content_rule(family, type, key);
    if (rule == ContentRule::kDrop) continue;
    if (rule == ContentRule::kKeepSignedOnly && !value.is_object()) continue;
    if (!first) out.push_back(',');
    first = false;
    append_canonical_key(out, key);
    if (rule == ContentRule::kKeep) {
      append_canonical_json(out, value);
    } else if (const Json* signed_part = value.find("signed")) {
      out.append("{\"signed\":");
      append_canonical_json(out, *signed_part);
      out.push_back('}');
    } else {
      out.append("{}");
    }
  }
  out.push_back('}');
}

}  // namespace

bool redaction_keeps_top_level(RedactionFamily family, std::string_view key) {
  return family == RF::kV11 ? contains(kTopLevelV11, key) : contains(kTopLevelV1, key);
}

ContentRule redaction_content_rule(RedactionFamily family, std::string_view type,
                                   std::string_view key) {
  auto keep_if = [](bool keep) { return keep ? ContentRule::kKeep : ContentRule::kDrop; };
  if (type == "m.room.member") {
    if (key == "membership") return ContentRule::kKeep;
    if (key == "join_authorised_via_users_server") return keep_if(at_least(family, RF::kV9));
    if (key == "third_party_invite" && family == RF::kV11) return ContentRule::kKeepSignedOnly;
    return ContentRule::kDrop;
  }
  if (type == "m.room.create") {
    // R11 keeps the whole create content (room_version, m.federate, type, ...).
    if (family == RF::kV11) return ContentRule::kKeep;
    return keep_if(key == "creator");
  }
  if (type == "m.room.join_rules") {
    if (key == "join_rule") return ContentRule::kKeep;
    return keep_if(key == "allow" && at_least(family, RF::kV8));
  }
  if (type == "m.room.power_levels") {
    if (contains(kPowerLevelKeys, key)) return ContentRule::kKeep;
    return keep_if(key == "invite" && family == RF::kV11);
  }
  if (type == "m.room.history_visibility") return keep_if(key == "history_visibility");
  if (type == "m.room.aliases") return keep_if(key == "aliases" && family == RF::kV1);
  if (type == "m.room.redaction") return keep_if(key == "redacts" && family == RF::kV11);
  return ContentRule::kDrop;
}

Result<JsonObject> redact_event(const JsonObject& event, const RoomVersionRules& rules) {
  auto parts = type_and_content(event);
  if (!parts) return parts.error();
  const RF family = rules.redaction;

  JsonObject content;
  for (const auto& [key, value] : *parts->content) {
    switch (redaction_content_rule(family, parts->type, key)) {
      case ContentRule::kDrop:
        break;
      case ContentRule::kKeep:
        content.emplace(key, value);
        break;
      case ContentRule::kKeepSignedOnly:
        if (value.is_object()) {
          JsonObject reduced;
          if (const Json* signed_part = value.find("signed"))
            reduced.emplace("signed", *signed_part);
          content.emplace(key, std::move(reduced));
        }
        break;
    }
  }

  JsonObject redacted;
  for (const auto& [key, value] : event) {
    if (key == "content" || !redaction_keeps_top_level(family, key)) continue;
    redacted.emplace(key, value);
  }
  redacted.emplace("content", std::move(content));
  return redacted;
}

Status append_redacted_signing_bytes(std::string& out, const JsonObject& event,
                                     const RoomVersionRules& rules) {
  auto parts = type_and_content(event);
  if (!parts) return parts.error();
  const RF family = rules.redaction;
  // Only kept values are written, so only they need the canonical-value check.
  for (const auto& [key, value] : event) {
    if (key == "signatures" || !redaction_keeps_top_level(family, key)) continue;
    if (key == "content") {
      for (const auto& [ckey, cvalue] : *parts->content) {
        if (redaction_content_rule(family, parts->type, ckey) == ContentRule::kDrop) continue;
        if (Status s = check_canonical_values(cvalue); !s) return s;
      }
    } else if (Status s = check_canonical_values(value); !s) {
      return s;
    }
  }
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : event) {
    if (key == "signatures" || !redaction_keeps_top_level(family, key)) continue;
    if (!first) out.push_back(',');
    first = false;
    // Every kept top-level key is a plain ASCII name from the tables above.
    out.push_back('"');
    out.append(key);
    out.append("\":");
    if (key == "content") {
      append_redacted_content(out, family, parts->type, *parts->content);
    } else {
      append_canonical_json(out, value);
    }
  }
  out.push_back('}');
  return {};
}

}  // namespace bordergate::matrix
