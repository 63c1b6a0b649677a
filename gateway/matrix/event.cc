// PDU hashes, ids, required signers and signature checks (see event.h). The hot path, check_pdu,
// writes the two byte strings it hashes (content-hash input, redacted signing bytes) straight from
// the parsed event; nothing is copied into an intermediate redacted tree.
#include "gateway/matrix/event.h"

#include <algorithm>

#include "gateway/matrix/base64.h"
#include "gateway/matrix/canonical_parts.h"
#include "gateway/matrix/redaction.h"

namespace bordergate::matrix {
namespace {

constexpr std::size_t kMaxPrevEvents = 20;
constexpr std::size_t kMaxAuthEvents = 10;
constexpr std::size_t kReferenceHashBase64Length = 43;
constexpr std::size_t kMaxIdentifierLength = 255;

Error format_error(std::string message) { return Error{"bad_event_format", std::move(message)}; }

const std::string* string_member(const JsonObject& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : it->second.string_if();
}

const JsonObject* object_member(const JsonObject& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : it->second.object_if();
}

// Canonical JSON of the event without unsigned, signatures and hashes (S2S §Calculating the
// content hash).
Status append_content_hash_bytes(std::string& out, const JsonObject& event) {
  auto covered = [](std::string_view key) {
    return key != "unsigned" && key != "signatures" && key != "hashes";
  };
  for (const auto& [key, value] : event) {
    if (!covered(key)) continue;
    if (Status s = check_canonical_values(value); !s) return s;
  }
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : event) {
    if (!covered(key)) continue;
    if (!first) out.push_back(',');
    first = false;
    append_canonical_key(out, key);
    append_canonical_json(out, value);
  }
  out.push_back('}');
  return {};
}

Result<Sha256> redacted_hash(const JsonObject& event, const RoomVersionRules& rules) {
  std::string bytes;
  bytes.reserve(512);
  if (Status s = append_redacted_signing_bytes(bytes, event, rules); !s) return s.error();
  return sha256(bytes);
}

std::string event_id_from_hash(const Sha256& hash, EventIdFormat format) {
  return "$" + (format == EventIdFormat::kBase64 ? base64_encode(hash) : base64url_encode(hash));
}

Status compare_content_hash(const JsonObject& event, const Sha256& computed) {
  const JsonObject* hashes = object_member(event, "hashes");
  const std::string* given = hashes ? string_member(*hashes, "sha256") : nullptr;
  if (given == nullptr) {
    return make_error("missing_content_hash", "the event has no string hashes.sha256");
  }
  auto decoded = base64_decode(*given);
  if (!decoded || decoded->size() != computed.size()) {
    return make_error("bad_content_hash", "hashes.sha256 is not unpadded base64 of 32 bytes");
  }
  if (!std::equal(computed.begin(), computed.end(), decoded->begin())) {
    return make_error("content_hash_mismatch",
                      "hashes.sha256 does not match the event content (computed " +
                          base64_encode(computed) + ")");
  }
  return {};
}

// An id "<sigil>opaque:server" with a non-empty server part.
bool has_sigil_and_server(std::string_view id, char sigil) {
  return id.size() > 1 && id.front() == sigil && !id_server_name(id).empty();
}

bool is_urlsafe_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool is_create_event(const JsonObject& event) {
  const std::string* type = string_member(event, "type");
  const std::string* state_key = string_member(event, "state_key");
  return type && *type == "m.room.create" && state_key && state_key->empty();
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

// Bytes of one member in an object's canonical form: "key":value (without a comma).
std::size_t member_size(std::string_view key, const Json& value) {
  std::string encoded_key;
  append_canonical_key(encoded_key, key);
  return encoded_key.size() + compact_json(value).size();
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

// App §Checking for a signature, for one required server, over precomputed signing bytes.
SignatureCheck verify_signer(const JsonObject& event, std::string_view server,
                             std::string_view message, const KeyLookup& keys,
                             std::int64_t valid_at_ms) {
  SignatureCheck check{std::string(server), {}, {}};
  const JsonObject* all = object_member(event, "signatures");
  const JsonObject* mine = all ? object_member(*all, server) : nullptr;
  if (mine == nullptr) {
    check.status = make_error("missing_signature", "no signature from " + std::string(server));
    return check;
  }
  bool verified = false;
  bool unavailable = false, expired = false, unknown = false;
  std::string skipped_key;
  for (const auto& [key_id, value] : *mine) {
    // Unknown algorithms are skipped; the policy server's key is not published via /key/v2 and
    // its signature is judged by the policy-server step, not here (notes 5.6).
    if (!key_id.starts_with("ed25519:") || key_id == "ed25519:policy_server") continue;
    auto key = keys(server, key_id, valid_at_ms);
    if (!key) {
      const std::string& code = key.error().code;
      (code == "key_expired" ? expired : code == "unknown_key" ? unknown : unavailable) = true;
      if (skipped_key.empty()) skipped_key = key_id;
      continue;
    }
    const std::string* text = value.string_if();
    auto signature = text ? signature_from_base64(*text) : Result<Signature>(Error{});
    if (!signature || !ed25519_verify(*key, message, *signature)) {
      check.key_id = key_id;
      check.status = make_error(
          "bad_signature", std::string(server) + " signature " + key_id +
                               (signature ? " does not verify" : " is not base64 of 64 bytes"));
      return check;  // a known key with a bad signature is never outvoted by another key
    }
    if (!verified) check.key_id = key_id;
    verified = true;
  }
  if (verified) return check;
  check.key_id = skipped_key;
  const std::string who = std::string(server);
  if (unavailable) {
    check.status = make_error("key_unavailable", "no key of " + who + " could be fetched");
  } else if (expired) {
    check.status = make_error(
        "key_expired", "every key " + who + " signed with was not valid at origin_server_ts");
  } else if (unknown) {
    check.status = make_error("unknown_key", "no key " + who + " signed with is known");
  } else {
    check.status = make_error("missing_signature", "no ed25519 signature from " + who);
  }
  return check;
}

}  // namespace

Result<Sha256> compute_content_hash(const JsonObject& event) {
  std::string bytes;
  bytes.reserve(2048);
  if (Status s = append_content_hash_bytes(bytes, event); !s) return s.error();
  return sha256(bytes);
}

Status check_content_hash(const JsonObject& event) {
  auto computed = compute_content_hash(event);
  if (!computed) return computed.error();
  return compare_content_hash(event, *computed);
}

Result<Sha256> compute_reference_hash(const JsonObject& event, const RoomVersionRules& rules) {
  return redacted_hash(event, rules);
}

Result<std::string> compute_event_id(const JsonObject& event, const RoomVersionRules& rules) {
  if (rules.event_id_format == EventIdFormat::kExplicit) {
    const std::string* id = string_member(event, "event_id");
    if (id == nullptr || !has_sigil_and_server(*id, '$')) {
      return format_error("room version " + std::string(rules.id) +
                          " events carry their own \"event_id\" of the form $opaque:server");
    }
    return *id;
  }
  auto hash = redacted_hash(event, rules);
  if (!hash) return hash.error();
  return event_id_from_hash(*hash, rules.event_id_format);
}

Result<std::string> compute_room_id(const JsonObject& create_event, const RoomVersionRules& rules) {
  if (!rules.room_id_without_domain) {
    return Error{"room_id_has_domain", "room version " + std::string(rules.id) +
                                           " room ids are chosen by the creating server"};
  }
  if (!is_create_event(create_event)) {
    return Error{"not_a_create_event",
                 "only an m.room.create event with state_key \"\" "
                 "founds a room"};
  }
  auto hash = redacted_hash(create_event, rules);
  if (!hash) return hash.error();
  return "!" + base64url_encode(*hash);
}

std::string_view id_server_name(std::string_view id) {
  auto colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
}

bool is_third_party_invite(const JsonObject& event) {
  const std::string* type = string_member(event, "type");
  const JsonObject* content = object_member(event, "content");
  if (type == nullptr || *type != "m.room.member" || content == nullptr) return false;
  const std::string* membership = string_member(*content, "membership");
  return membership && *membership == "invite" && content->contains("third_party_invite");
}

Result<std::vector<std::string>> required_signers(const JsonObject& event,
                                                  const RoomVersionRules& rules) {
  std::vector<std::string> servers;
  auto add = [&servers](std::string_view server) {
    if (std::find(servers.begin(), servers.end(), server) == servers.end()) {
      servers.emplace_back(server);
    }
  };
  if (!is_third_party_invite(event)) {
    const std::string* sender = string_member(event, "sender");
    if (sender == nullptr || !has_sigil_and_server(*sender, '@')) {
      return format_error("\"sender\" is not a user id @localpart:server");
    }
    add(id_server_name(*sender));
  }
  if (rules.event_id_format == EventIdFormat::kExplicit) {
    const std::string* id = string_member(event, "event_id");
    if (id == nullptr || !has_sigil_and_server(*id, '$')) {
      return format_error("\"event_id\" is not an event id $opaque:server");
    }
    add(id_server_name(*id));
  }
  if (rules.restricted_join_signer) {
    const std::string* type = string_member(event, "type");
    const JsonObject* content = object_member(event, "content");
    const std::string* membership = content ? string_member(*content, "membership") : nullptr;
    if (type && *type == "m.room.member" && membership && *membership == "join" &&
        content->contains("join_authorised_via_users_server")) {
      const std::string* via = string_member(*content, "join_authorised_via_users_server");
      if (via == nullptr || !has_sigil_and_server(*via, '@')) {
        return format_error("content.join_authorised_via_users_server is not a user id");
      }
      add(id_server_name(*via));
    }
  }
  return servers;
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
  for (const auto& [key, value] : event) size += member_size(key, value);
  return size + (event.empty() ? 0 : event.size() - 1);  // commas
}

bool PduCheck::signatures_ok() const {
  return signers.ok() && !signatures.empty() &&
         std::all_of(signatures.begin(), signatures.end(),
                     [](const SignatureCheck& c) { return c.status.ok(); });
}

bool PduCheck::ok() const {
  return format.ok() && content_hash.ok() && event_id.has_value() && signatures_ok();
}

PduCheck check_pdu(const JsonObject& event, const RoomVersionRules& rules, const KeyLookup& keys,
                   const PduFormatOptions& options) {
  PduCheck result;
  result.format = check_pdu_format(event, rules, options);

  std::string bytes;
  bytes.reserve(4096);
  if (Status s = append_content_hash_bytes(bytes, event); !s) {
    result.content_hash = s;
  } else {
    result.content_hash = compare_content_hash(event, sha256(bytes));
    // The size limit counts the whole federation-format event; the three members the content
    // hash leaves out are added to the bytes already written instead of encoding it again.
    std::size_t size = bytes.size();
    bool empty = bytes.size() == 2;  // "{}": the first added member needs no comma
    for (std::string_view key : {"hashes", "signatures", "unsigned"}) {
      auto it = event.find(key);
      if (it == event.end()) continue;
      size += member_size(key, it->second) + (empty ? 0 : 1);
      empty = false;
    }
    if (result.format.ok() && size > kMaxPduBytes) {
      result.format =
          format_error("the event is " + std::to_string(size) +
                       " bytes as canonical JSON, more than " + std::to_string(kMaxPduBytes));
    }
  }

  // The redacted signing bytes: what every signature covers and what the event id hashes.
  bytes.clear();
  Status redacted = append_redacted_signing_bytes(bytes, event, rules);
  if (redacted) {
    if (rules.event_id_format == EventIdFormat::kExplicit) {
      if (auto id = compute_event_id(event, rules)) result.event_id = std::move(*id);
    } else {
      Sha256 reference = sha256(bytes);
      result.event_id = event_id_from_hash(reference, rules.event_id_format);
      if (rules.room_id_without_domain && is_create_event(event)) {
        result.room_id = "!" + result.event_id->substr(1);
      }
    }
  }

  result.third_party_invite = is_third_party_invite(event);
  auto signers = required_signers(event, rules);
  if (!signers) {
    result.signers = signers.error();
    return result;
  }
  auto ts = event.find("origin_server_ts");
  auto origin_server_ts = ts == event.end() ? std::nullopt : ts->second.int_if();
  for (const std::string& server : *signers) {
    if (!redacted) {
      result.signatures.push_back({server, {}, redacted});
    } else if (rules.enforce_key_validity && !origin_server_ts) {
      result.signatures.push_back(
          {server, {}, format_error("no integer origin_server_ts to check key validity at")});
    } else {
      std::int64_t valid_at = rules.enforce_key_validity ? *origin_server_ts : kAnyTime;
      result.signatures.push_back(verify_signer(event, server, bytes, keys, valid_at));
    }
  }
  return result;
}

Status hash_and_sign_event(JsonObject& event, const RoomVersionRules& rules,
                           std::string_view server_name, const SigningKey& key) {
  auto content_hash = compute_content_hash(event);
  if (!content_hash) return content_hash.error();
  Json& hashes = event["hashes"];
  if (!hashes.is_object()) hashes = JsonObject{};
  (*hashes.object_if())["sha256"] = base64_encode(*content_hash);

  std::string bytes;
  if (Status s = append_redacted_signing_bytes(bytes, event, rules); !s) return s;
  Json& signatures = event["signatures"];
  if (!signatures.is_object()) signatures = JsonObject{};
  Json& mine = (*signatures.object_if())[std::string(server_name)];
  if (!mine.is_object()) mine = JsonObject{};
  (*mine.object_if())[key.key_id()] = to_base64(key.sign(bytes));
  return {};
}

}  // namespace bordergate::matrix
