// The response phase of outbound enforcement: what an external server answered the Core is
// checked before the Core sees it (docs/outbound.md, "Responses"). Events in the answer must
// verify (format, content hash, signatures); a failing one is removed where the endpoint allows
// it, otherwise the whole answer is refused with 502. An event whose signatures verify but whose
// content hash does not match is delivered redacted, as a receiving homeserver keeps it (events
// redacted at their origin are served that way). A verified event the content rules refuse
// (policy::judge_answer_event, the inbound rules: the events travel to the Core) is delivered in
// its redacted form, never removed and never otherwise edited. Remote media is held to the media
// policy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/enforcement/answer_event.h"
#include "gateway/enforcement/pdu_inspection.h"
#include "gateway/enforcement/room_members.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/room_version.h"
#include "gateway/matrix/signed_json.h"
#include "policy/endpoint.h"
#include "policy/policy.h"

namespace bordergate::outbound {

// What the Core asked (from the classification of its request and its body).
struct AskedFor {
  policy::FederationEndpoint endpoint = policy::FederationEndpoint::version;
  int api_version = 1;           // the /vN/ of the route (send_join, invite: v1 array form)
  std::string_view room_id;      // path parameter, empty when the path has none
  std::string_view user_id;      // make_join / make_leave / make_knock
  std::string_view event_id;     // event, send_join, invite, event_auth
  std::string_view destination;  // the external server asked (the tunnel's server name)
  std::string_view core_server_name;
  // invite: the event the Core sent (v1: the body; v2: body.event). Required for invite.
  const matrix::JsonObject* sent_event = nullptr;
  // make_join / make_knock: the versions the Core offered (?ver=); empty = not checked.
  std::span<const std::string> offered_versions;
  // key.query by GET (/query/{serverName}[/{keyId}]): the server asked about; every entry of
  // the notary's answer must hold its keys. Empty for the POST form (a batch of servers).
  std::string_view queried_server;
  // media: a legacy /_matrix/media/{v3,r0} path (enforcement::Classification::legacy_media), whose
  // answer is the plain media instead of multipart/mixed.
  bool legacy_media = false;
};

// The original of an event a content rule refused in an answer (delivered redacted): kept as
// evidence in the quarantine store by the caller (proxy/answer_check.cc).
struct RedactedOriginal {
  std::string event_id;
  std::string event_type;
  std::string rule_id;
  std::string json;  // the event as it arrived, compact JSON
};

// The external server's answer, read whole (bodies are buffered up to the configured limit).
struct ExternalAnswer {
  int status = 0;
  std::string_view content_type;  // the Content-Type header value, empty when absent
  std::string_view body;
};

// The room version the gateway knows for a room, or nullptr (room_versions.db).
using RoomVersionFinder = std::function<const matrix::RoomVersionRules*(std::string_view room_id)>;

// Whose answer is checked. remote: an external server's answer to the Core (the events travel
// inbound: verified strictly, judged by the inbound rules). core: the Core's answer to a peer's
// request (the events travel outbound: judged by the outbound rules with asked.destination =
// the peer that asked; the Core's events are not held to verification, since the peer verifies
// them and the Core serves the redacted copies it keeps: only the room version for a
// redaction is established, from the room's known version or a verifying candidate).
enum class AnswerSource : std::uint8_t { remote, core };

struct ResponseCheckInput {
  AskedFor asked;
  AnswerSource source = AnswerSource::remote;
  ExternalAnswer answer;
  RoomVersionFinder room_versions;             // may be empty: every room version unknown
  const policy::MediaPolicy* media = nullptr;  // settings in force for the destination
  // false on the first run: keys not in the cache are reported (need_keys) instead of failing.
  // true once the caller has awaited them through the key store: missing keys then fail.
  bool keys_awaited = false;
  // The content rules the answer's events meet, for events travelling to the Core (inbound
  // rules, peer = asked.destination). Null: the events are verified but not judged.
  const policy::Policy* policy = nullptr;
};

enum class ResponseAction : std::uint8_t {
  pass,       // hand the answer to the Core unchanged
  filtered,   // hand `body` to the Core instead (failing events removed; no event edited)
  refuse,     // answer the Core `status` (502) with `errcode` / `error`
  need_keys,  // fetch `missing_keys` through the key store, then run again with keys_awaited
};

// One event taken out of a filtered answer.
struct RemovedEvent {
  std::string event_id;  // empty when it could not be computed
  std::string error;     // snake_case check that failed (content_hash_mismatch, bad_signature...)
};

struct ResponseCheck {
  ResponseAction action = ResponseAction::pass;
  std::string body;  // filtered: the new body (compact JSON)
  std::vector<enforcement::KeyNeed> missing_keys;
  std::vector<RemovedEvent> removed;
  // snake_case, for audit and metrics: "response_ok", "response_events_filtered",
  // "response_event_failed", "response_malformed", "template_mismatch", "media_too_large" ...
  std::string reason;
  int status = 0;            // refuse: 502
  const char* errcode = "";  // refuse: M_UNKNOWN; media: M_TOO_LARGE / M_FORBIDDEN
  std::string error;         // refuse: text for the Core (names the failing event / field)
  // A room version the answer established for asked.room_id (make_*: the template's
  // room_version; send_join: its create event); empty = nothing learnt. The caller records it.
  std::string learnt_room_version;
  std::uint32_t events_checked = 0;
  bool room_version_unknown = false;  // some event was checked without a known version
  // Every verified event the content rules judged, in answer order (empty without a policy).
  std::vector<enforcement::AnswerEvent> judged;
  std::uint32_t redacted = 0;  // of them, redacted by the policy (the body was re-serialised)
  std::uint32_t arrived_redacted = 0;  // hash mismatch, signatures valid: passed redacted
  // The membership events among the events that passed (a send_join's state names every member
  // of the room), for the room-members tracker; and what recording them taught, filled by the
  // caller that records them (proxy/answer_check.cc).
  std::vector<enforcement::Membership> memberships;
  std::vector<enforcement::JoinedServer> joined_servers;
  // The originals of the events redacted by a content rule, in answer order; and what keeping
  // them as evidence gave, filled by the caller that stores them: quarantine ids ("q-..."), and
  // the events whose original could not be stored, with why.
  std::vector<RedactedOriginal> originals;
  std::vector<std::string> evidence_ids;
  std::vector<std::string> evidence_failures;  // "$event: quarantine_full"
};

// The audit note for a check that changed or refused the answer (JudgedRequest::response_note):
// "response_events_filtered: removed $a (content_hash_mismatch), ...",
// "redacted by policy: $b (rule r)" or "response refused: <reason>"; empty for pass. Bounded
// (about 1 KiB), event ids only.
std::string audit_note(const ResponseCheck& check);

// True when the endpoint's answer must be buffered and checked (answers with events, the
// make_* templates, invites, media, server keys). Other answers are streamed to the Core
// unchecked.
bool response_needs_check(policy::FederationEndpoint e);

// True when the endpoint's answer carries PDUs (backfill, get_missing_events, event, state,
// event_auth, send_join): the Core's answers to these are held and their events judged by the
// outbound rules (AnswerSource::core).
bool answer_carries_events(policy::FederationEndpoint e);

// Pure: no I/O; `keys` is a lookup over cached keys only (ServerKeyStore::cached_lookup).
// Non-2xx answers pass unchecked (they carry no events; the Core handles the error), except
// that media errors pass too. Thread-safe as far as `keys` and `room_versions` are.
ResponseCheck check_response(const ResponseCheckInput& in, const matrix::KeyLookup& keys);

}  // namespace bordergate::outbound
