// Checks one received PDU for the inbound pipeline: format and size, content hash and the
// required signatures (keys valid at origin_server_ts), under the room's version when the gateway
// knows it, else under each candidate rule family (see check_pdu_unknown_version).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/matrix/event.h"
#include "gateway/matrix/json.h"
#include "policy/facts.h"

namespace bordergate::enforcement {

struct KeyNeed {
  std::string server;
  std::string key_id;
  std::int64_t valid_at_ms = 0;
};

// The keys check_pdu will look up for `pdu`: every ed25519 key id under signatures[server] of
// each server that may have to sign (sender's server, v1/v2 event id server, restricted-join
// authoriser). Over-approximates on purpose: fetching is cheap next to a failed verdict.
void collect_key_needs(const matrix::JsonObject& pdu, std::vector<KeyNeed>& out);

struct PduVerdict {
  policy::PduFacts facts;
  std::string event_id;        // computed (v3+) or the event's own; empty if unknown
  std::string error;           // snake_case; empty when every check passed
  bool version_known = false;  // the room's version was known to the gateway
  std::string verified_as;     // the room version whose rules were applied
};

// `known`: the room's version if the gateway knows it, else nullptr. A create event declares
// its own version (content.room_version) and is checked under it.
PduVerdict inspect_pdu(const matrix::JsonObject& pdu, const matrix::RoomVersionRules* known,
                       const matrix::KeyLookup& keys);

}  // namespace bordergate::enforcement
