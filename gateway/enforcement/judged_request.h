// Per-request state of inbound enforcement, carried in the proxy's RequestContext from classify
// to record. Freed (and every pending key callback disarmed) when the request ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/audit/audit_log.h"
#include "gateway/enforcement/answer_event.h"
#include "gateway/enforcement/classifier.h"
#include "gateway/enforcement/pdu_inspection.h"
#include "gateway/enforcement/room_members.h"
#include "gateway/http/outcome.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/room_version.h"
#include "gateway/matrix/xmatrix.h"
#include "gateway/quarantine/quarantine_store.h"
#include "policy/decision.h"
#include "policy/facts.h"
#include "policy/policy.h"

namespace bordergate::enforcement {

struct EnforcementServices;

// The denial of a request refused because the audit log could not take its record.
inline constexpr std::string_view kAuditUnavailable = "audit_unavailable";

// A request the policy does not judge, decided by its connection's admission instead (an outbound
// tunnel's inner request refused by the binding, an egress request forwarded unjudged, a request
// refused while it was read inside a tunnel): what its audit record says.
struct AdmissionVerdict {
  std::string endpoint;  // the catalogue name when the path is one, else "unknown", "egress"...
  std::string action;    // forward | deny
  std::string rule_id;   // tunnel_binding, delegation_binding, the egress rule
  std::string reason;
  std::string note;
  std::string origin, destination, server_name;  // as the tunnel names them
  PathParams params;                             // room, user, event, transaction of the path
};

struct JudgedRequest {
  EnforcementServices* services = nullptr;       // null: enforcement off (no policy configured)
  std::shared_ptr<const policy::Policy> policy;  // the snapshot this request runs under

  // The same phases judge both directions (docs/outbound.md, "Requests"). inbound: an external
  // server's request to the Core. outbound: the Core's request inside an intercepted tunnel;
  // `destination` is then the external server it goes to (the tunnel's server name, already
  // bound to Host and X-Matrix destination by outbound::check_tunnel_request). Set both before
  // classify_request; reset() returns to inbound.
  policy::Direction direction = policy::Direction::inbound;
  std::string destination;  // outbound only; inbound requests go to services->server_name
  // Outbound: the proxy listener the tunnel came in on, when its records name it
  // (outbound::audited_listener: `connect_tls` or `direct`, as on its admission record),
  // appended to the audit record's note as "listener=<name>". Empty for inbound requests and
  // the plain CONNECT listener's.
  std::string_view listener;

  // Set instead of a policy decision when the connection's admission decided (services null).
  std::optional<AdmissionVerdict> admission;

  std::optional<Classification> route;
  std::optional<matrix::Json> body;  // parsed request body, when there is one
  std::vector<matrix::XMatrixAuth> auths;
  std::string origin;        // authenticated X-Matrix origin; empty = unknown
  std::string auth_failure;  // snake_case, when authentication failed

  policy::RequestFacts facts;
  std::optional<policy::Decision> decision;
  std::vector<PduVerdict> pdus;  // one per PDU carried by the request
  bool room_version_unknown = false;
  std::string denial;  // snake_case reason the gateway refused the request for

  // The events inspect found in the body (they point into `body`: /send's PDUs, or the one
  // membership event) and the room version an invite names; verify_events checks them once
  // their keys are at hand.
  std::vector<const matrix::JsonObject*> events;
  const matrix::RoomVersionRules* events_version = nullptr;

  // The quarantine store: its answer once the (off-loop) put of a held or denied transaction
  // finished, or the entry of a retry recall found.
  std::optional<Result<quarantine::PutResult>> quarantine_result;
  std::string quarantine_id;
  // /send: what recall found in the store (off the loop) for this (origin, txnId): a retry of
  // a held transaction gets the stored answer without being inspected again, even under a
  // changed policy.
  std::optional<quarantine::Entry> held_before;

  // make_join/make_leave/make_knock: the Core's 200 answer names the room's version; a bounded
  // copy of it is kept while it streams to the origin (check_answer, learn_from_core_answer).
  bool capture_answer = false;
  // Outbound: what outbound::check_response did to the external answer (outbound::audit_note),
  // appended to the audit record's note. Empty: not checked, or passed unchanged.
  std::string response_note;
  // The events of the answer the response check judged, in answer order (check_response).
  std::vector<AnswerEvent> answer_events;
  // Rooms a server in no federation joined, by membership events of this request or its answer
  // (note_joined_servers).
  std::vector<JoinedServer> mixed;

  // The place in the audit queue this request's record will take (reserved by classify; given
  // back if the request ends without a record). Mutable: record_judged consumes it.
  mutable audit::AuditLog::Ticket audit_ticket;

  // Suspension on key fetches: the request resumes once every answer arrived (or the wait was
  // cut), at the phase that verifies with the keys at hand (verify, verify_events).
  std::uint32_t keys_pending = 0;
  std::uint32_t key_wait = 0;   // which wait a key callback belongs to (late answers are ignored)
  bool keys_timed_out = false;  // the current wait was cut by limits.key_wait_timeout
  // Expires when the request ends; key callbacks hold a weak_ptr and do nothing after.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  void reset() { *this = JudgedRequest{}; }
  // The transaction is durably in the quarantine store (held or denied, or a retry of one).
  bool stored() const { return quarantine_result && quarantine_result->ok(); }
  bool quarantined() const {
    return stored() && (*quarantine_result)->verdict == quarantine::StoredVerdict::quarantine;
  }
};

}  // namespace bordergate::enforcement
