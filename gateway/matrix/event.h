// Checks on PDUs (room events) received over federation: content hash, reference hash and event
// id, which servers must have signed, and the signatures themselves, per room version
// (S2S §Signing Events, §Validating hashes and signatures; Rooms vN).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/hash.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/pdu_format.h"
#include "gateway/matrix/room_version.h"
#include "gateway/matrix/signed_json.h"

namespace bordergate::matrix {

// SHA-256 of canonical JSON of the event without "unsigned", "signatures" and "hashes".
Result<Sha256> compute_content_hash(const JsonObject& event);
// hashes.sha256 against the computed hash. Errors: "missing_content_hash", "bad_content_hash"
// (not base64 of 32 bytes), "content_hash_mismatch", canonicalisation errors.
Status check_content_hash(const JsonObject& event);

// SHA-256 of the redacted event without "signatures" and "unsigned".
Result<Sha256> compute_reference_hash(const JsonObject& event, const RoomVersionRules& rules);
// v1/v2: the event's own "event_id" (checked to be "$opaque:server"); v3: "$" + standard base64
// of the reference hash; v4+: "$" + URL-safe base64.
Result<std::string> compute_event_id(const JsonObject& event, const RoomVersionRules& rules);
// v12+: the room id an m.room.create event founds ("!" + URL-safe reference hash). Errors
// "not_a_create_event", "room_id_has_domain" (the version's room ids carry a server name).
Result<std::string> compute_room_id(const JsonObject& create_event, const RoomVersionRules& rules);

// Servers whose signature the event must carry (S2S §Validating hashes and signatures):
// the sender's server, except on an invite made from a third-party invite; in v1/v2 also the
// event id's server; in v8+ also the server of join_authorised_via_users_server on a join.
// Deduplicated, in that order. Errors: "bad_event_format" (a needed id is missing or has no
// server name).
Result<std::vector<std::string>> required_signers(const JsonObject& event,
                                                  const RoomVersionRules& rules);
// True for m.room.member invites carrying content.third_party_invite (the sender's server is then
// not required to sign).
bool is_third_party_invite(const JsonObject& event);

struct SignatureCheck {
  std::string server_name;
  std::string key_id;  // the key that verified (or failed); empty if none could be tried
  Status status;       // "missing_signature", "bad_signature", "unknown_key", "key_expired", ...
};

// Everything check_pdu found. A content hash mismatch does not fail the signatures: the spec
// drops an event whose signatures fail but redacts one whose hash fails, so callers need both.
// signatures_ok() needs at least one verified server: a v3+ third-party invite has no required
// signer, so nothing is verified and it is false (third_party_invite tells the caller why).
struct PduCheck {
  Status format;  // check_pdu_format plus the 64 KiB size limit
  Status content_hash;
  std::optional<std::string> event_id;     // v1/v2: the event's own; v3+: computed
  std::optional<std::string> room_id;      // v12+ create events: the room id they found
  bool third_party_invite = false;         // the sender's server was exempt from signing
  Status signers;                          // computing the required signers
  std::vector<SignatureCheck> signatures;  // one per required signer
  bool signatures_ok() const;
  bool ok() const;
};

// Signatures are checked on the redacted event with keys valid at origin_server_ts (v5+; any
// known key in v1-v4), following App §Checking for a signature per required server.
PduCheck check_pdu(const JsonObject& event, const RoomVersionRules& rules, const KeyLookup& keys,
                   const PduFormatOptions& options = {});

// The sending side (S2S §Adding hashes and signatures): sets hashes.sha256 and adds this
// server's signature over the redacted event, keeping other signatures. For tools and tests.
Status hash_and_sign_event(JsonObject& event, const RoomVersionRules& rules,
                           std::string_view server_name, const SigningKey& key);

}  // namespace bordergate::matrix
