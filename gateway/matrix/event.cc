// PDU hashes, ids, required signers and signature checks (see event.h). The hot path, check_pdu,
// writes the two byte strings it hashes (content-hash input, redacted signing bytes) straight from
// the parsed event; nothing is copied into an intermediate redacted tree.
#include "gateway/matrix/event.h"

#include <algorithm>

#include "gateway/matrix/base64.h"
#include "gateway/matrix/canonical_parts.h"
#include "gateway/matrix/event_fields.h"
#include "gateway/matrix/redaction.h"

namespace bordergate::matrix {
namespace {

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
      size += pdu_member_size(key, it->second) + (empty ? 0 : 1);
      empty = false;
    }
    if (result.format.ok() && size > kMaxPduBytes) {
      // Its own code: the limit is the spec's, not a shape the event gets wrong.
      result.format = make_error("pdu_too_large", "the event is " + std::to_string(size) +
                                                      " bytes as canonical JSON, more than " +
                                                      std::to_string(kMaxPduBytes));
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
