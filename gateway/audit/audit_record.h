// One audit record: what the gateway decided about one request (or what an
// operator did to a quarantined one), as plain data. The record is turned into
// the body of one JSON line here; audit_chain.h adds "seq" and "prev".
// Records carry metadata only: never signatures, tokens or request bodies.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bordergate::audit {

struct AuditRecord {
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  // decision | policy_load | quarantine_release | quarantine_drop (chain bookkeeping types
  // such as chain_start are written by the chain itself).
  std::string type = "decision";
  std::string direction;    // inbound | outbound
  std::string origin;       // authenticated X-Matrix origin ("" when none)
  std::string destination;  // X-Matrix destination or the Core's name
  std::string remote_addr;  // the TCP peer (never X-Forwarded-For from outside)
  std::string method;
  std::string endpoint;  // catalogue name, e.g. "send", "make_join", "key.server"
  // Path parameters, as extracted by classification (empty = not in the path).
  std::string room_id;
  std::string user_id;
  std::string event_id;
  std::string server_name;
  std::string txn_id;
  std::vector<std::string> event_ids;    // PDUs in the request, in order
  std::vector<std::string> event_types;  // parallel to event_ids
  std::vector<std::string> edu_types;
  // Events carried in the answer, judged by the content rules (parallel lists; verdicts
  // forward | report | redacted). Large answers list only the events not forwarded unchanged.
  std::vector<std::string> answer_event_ids;
  std::vector<std::string> answer_event_types;
  std::vector<std::string> answer_event_verdicts;
  // Rooms a server in no federation joined by a membership event of this request or its answer
  // (the room became mixed), and that server (parallel lists).
  std::vector<std::string> mixed_room_ids;
  std::vector<std::string> mixed_room_servers;
  std::string room_version;  // "unknown" when the gateway had to guess
  // forward | deny | quarantine | report | release | drop; loaded | refused (policy_load)
  std::string action;
  std::string rule_id;
  std::string reason;  // snake_case
  // The policy that decided (decisions), or the one a policy_load record is about: the SHA-256
  // of its file's bytes as read (enforcement/policy_file.h). A decision without it was made
  // without a policy (pass-through, or refused before one was consulted).
  std::string policy_sha256;
  std::string policy_file;      // policy_load records
  std::string policy_revision;  // policy_load records: the policy's own `revision:`
  std::string trigger;          // policy_load records: start | SIGHUP
  // Decisions the policy made: the facts it evaluated and what it returned, one JSON object
  // (enforcement/facts_json.h), written as it is; what `policy replay` re-evaluates.
  std::string facts;
  std::optional<int> status;  // HTTP status answered (or Core's status on release)
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::optional<std::uint64_t> latency_us;
  std::string quarantine_id;
  std::string actor;  // who did it, for operator actions (the CLI's user)
  std::string note;   // free text for operator actions (outcome details)
};

// Adds one more remark to a record's note: remarks of different sources are joined by "; "
// (an empty `part` changes nothing).
void append_note(std::string& note, std::string_view part);

// RFC 3339 UTC with milliseconds: 2026-11-27T07:31:02.123Z.
std::string format_time(std::chrono::system_clock::time_point t);

// Appends the record's fields as JSON members, starting with ,"time":... and
// ending with the closing brace; empty fields are left out. The chain puts
// {"seq":N,"prev":"..." in front. Strings that are not valid UTF-8 (a peer can
// put anything into a path) are written with every byte >= 0x80 as \u00XX.
void append_record_members(std::string& out, const AuditRecord& record);

// Appends a JSON string literal (quotes included) with the rule above.
void append_json_text(std::string& out, std::string_view text);

}  // namespace bordergate::audit
