// The redaction algorithm of every room-version family (Rooms v1/v6/v8/v9/v11 §Redactions).
// Redaction decides what the reference hash and the event signatures cover, so the rules live in
// one place and both the tree form (redact_event) and the direct byte form used on the hot path
// (append_redacted_signing_bytes) are driven by the same two predicates.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/room_version.h"

namespace bordergate::matrix {

// Whether a top-level key survives redaction (includes "signatures" and "hashes").
bool redaction_keeps_top_level(RedactionFamily family, std::string_view key);

// What happens to one key of "content" for an event of the given type.
enum class ContentRule {
  kDrop,
  kKeep,
  kKeepSignedOnly,  // R11 m.room.member third_party_invite: only its "signed" member survives
};
ContentRule redaction_content_rule(RedactionFamily family, std::string_view event_type,
                                   std::string_view key);

// The redacted event: kept top-level keys, "content" reduced per type (always present, possibly
// {}), "unsigned" removed. Errors: "bad_event_format" when "type" is not a string or "content" is
// not an object (a PDU always has both).
Result<JsonObject> redact_event(const JsonObject& event, const RoomVersionRules& rules);

// Appends canonical JSON of the redacted event without "signatures" and "unsigned": the bytes
// that event signatures cover and whose SHA-256 is the reference hash. Equal to
// signing_bytes(redact_event(event)) but built without copying the event. Same errors as
// redact_event plus "float_not_allowed" / "integer_out_of_range" for non-canonical values.
Status append_redacted_signing_bytes(std::string& out, const JsonObject& event,
                                     const RoomVersionRules& rules);

}  // namespace bordergate::matrix
