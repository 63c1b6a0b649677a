// The facts a policy decision was made on, kept in its audit record (member "facts") so that
// `policy replay` can evaluate the same request under another policy. Metadata only, as every
// audit member: the ids, types, senders, sizes and check results evaluate() reads, and the
// decision it returned; never bodies, signatures or tokens.
//
// {"v":1,"direction":"inbound","origin":"a.example","destination":"core.example",
//  "endpoint":"send","room_id":"!r:a.example","body_bytes":2310,"x_matrix":"passed",
//  "pdus":[{"type":"m.room.message","room":"!r:a.example","sender":"@u:a.example",
//           "hashes":"passed","signatures":"passed"}],
//  "edus":[{"type":"m.typing","room":"!r:a.example","user":"@u:a.example",
//           "origin_binding":"passed"}],
//  "decided":{"action":"allow","rule":"partners-all","reason":"allowed_by_rule"}}
//
// Absent members are empty, zero or not_run; an absent "origin" is the unknown origin; an
// absent "room_servers" is a room whose membership the gateway did not know.
#pragma once

#include <cstddef>
#include <string>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"
#include "policy/decision.h"
#include "policy/facts.h"

namespace bordergate::enforcement {

inline constexpr int kFactsVersion = 1;
// Servers of a room listed at most; a longer list is cut and "room_servers_total" says how
// many there were (replay then says the room-member rules saw a part of the room).
inline constexpr std::size_t kMaxRecordedRoomServers = 1000;

std::string facts_json(const policy::RequestFacts& facts, const policy::Decision& decision);

// What a record's "facts" member says, read back strictly (unknown endpoint names, wrong types
// and an unknown version are errors: bad_facts).
struct RecordedFacts {
  policy::RequestFacts facts;
  std::string action;  // the recorded policy decision: allow | deny | quarantine | report
  std::string rule;
  std::string reason;
  std::size_t room_servers_total = 0;  // > facts.room_servers->size(): the list was cut
};
Result<RecordedFacts> facts_from_json(const matrix::Json& facts);

}  // namespace bordergate::enforcement
