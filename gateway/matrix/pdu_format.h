// Structural rules for PDUs per room version (Rooms vN §Event format, CS §Size limits): what an
// event must look like before its hashes and signatures mean anything (notes 5.1, 5.7 step 1, 5.8).
#pragma once

#include <cstddef>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/room_version.h"

namespace bordergate::matrix {

// Server part of a user, room or event id: everything after the first ':' (ports and IPv6
// literals contain ':' too). Empty when there is none.
std::string_view id_server_name(std::string_view id);

// m.room.create with state_key "": the event that founds a room.
bool is_create_event(const JsonObject& event);

struct PduFormatOptions {
  // prev_events <= 20, auth_events <= 10. Off for /backfill and /state answers, whose history may
  // legitimately exceed them.
  bool enforce_reference_limits = true;
};

// String type, sender, room_id (absent on a v12 create event, domain-less in v12), integer
// origin_server_ts and depth (<= the version's cap), object content/hashes/signatures,
// prev_events/auth_events in the version's shape (v12: never the create event), identifiers
// within 255 bytes (v11+) or code points (older rooms). Error code "bad_event_format".
// The size limit is checked by check_pdu (it reuses the bytes it hashes).
Status check_pdu_format(const JsonObject& event, const RoomVersionRules& rules,
                        const PduFormatOptions& options = {});

// CS §Size limits: a PDU is at most 65536 bytes as canonical JSON in federation format,
// signatures and unsigned included (as Synapse measures it).
inline constexpr std::size_t kMaxPduBytes = 65536;
std::size_t canonical_pdu_size(const JsonObject& event);

}  // namespace bordergate::matrix
