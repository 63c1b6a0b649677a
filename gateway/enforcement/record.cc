#include "gateway/enforcement/record.h"

#include "gateway/enforcement/facts_json.h"
#include "gateway/enforcement/services.h"

namespace bordergate::enforcement {

std::string_view decision_action(const JudgedRequest& r) {
  if (r.stored()) return r.quarantined() ? "quarantine" : "deny";
  if (!r.denial.empty() || !r.decision) return "deny";
  if (r.decision->action == policy::Action::report || r.decision->reported_rule >= 0) {
    return r.decision->forwards() ? "report" : "deny";
  }
  return r.decision->forwards() ? "forward" : "deny";
}

std::string_view peer_label(const JudgedRequest& r) {
  if (r.direction == policy::Direction::outbound) {
    // The peer is the destination; the origin is always the Core.
    if (r.decision && r.decision->peer_known && !r.decision->peer.empty()) return r.decision->peer;
    return "other";
  }
  if (r.origin.empty()) return "unknown";
  if (r.decision && r.decision->peer_known && !r.decision->peer.empty()) return r.decision->peer;
  return "other";
}

namespace {

void note_outcome(audit::AuditRecord& a, const RequestOutcome& o) {
  if (o.status != 0) a.status = o.status;
  a.request_bytes = o.request_bytes;
  a.response_bytes = o.response_bytes;
  a.latency_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(o.latency).count());
}

audit::AuditRecord admission_record(const AdmissionVerdict& v, const JudgedRequest& r,
                                    const RequestOutcome& o) {
  audit::AuditRecord a;
  a.direction = std::string(policy::direction_name(r.direction));
  a.origin = v.origin;
  a.destination = v.destination;
  a.server_name = v.server_name;
  a.remote_addr = std::string(o.client_ip);
  a.method = std::string(o.method);
  a.endpoint = v.endpoint;
  a.room_id = v.params.room_id;
  a.user_id = v.params.user_id;
  a.event_id = v.params.event_id;
  a.txn_id = v.params.txn_id;
  a.action = v.action;
  a.rule_id = v.rule_id;
  a.reason = v.reason;
  note_outcome(a, o);
  a.note = v.note;
  if (!r.listener.empty()) audit::append_note(a.note, "listener=" + std::string(r.listener));
  return a;
}

}  // namespace

audit::AuditRecord audit_record(const JudgedRequest& r, const RequestOutcome& o) {
  if (r.services == nullptr && r.admission) return admission_record(*r.admission, r, o);
  audit::AuditRecord a;
  const bool outbound = r.direction == policy::Direction::outbound;
  a.direction = std::string(policy::direction_name(r.direction));
  a.origin = r.origin;
  a.destination = outbound                ? r.destination
                  : r.services != nullptr ? r.services->server_name
                                          : std::string();
  a.remote_addr = std::string(o.client_ip);
  a.method = std::string(o.method);
  if (r.route) {
    a.endpoint = std::string(policy::endpoint_name(r.route->endpoint));
    const PathParams& p = r.route->params;
    a.room_id = p.room_id;
    a.user_id = p.user_id;
    a.event_id = p.event_id;
    a.server_name = p.server_name;
    a.txn_id = p.txn_id;
  } else {
    a.endpoint = "unrecognized";
  }
  std::string version;
  for (const PduVerdict& v : r.pdus) {
    a.event_ids.push_back(v.event_id);
    a.event_types.push_back(v.facts.event_type);
    if (version.empty()) version = v.verified_as;
  }
  for (const policy::EduFacts& e : r.facts.edus) a.edu_types.push_back(e.edu_type);
  // The answer's events: every one up to kListedAnswerEvents, beyond that the ones not
  // forwarded unchanged (a 10,000-event send_join would not fit one line), with a count.
  constexpr std::size_t kListedAnswerEvents = 200;
  const bool all = r.answer_events.size() <= kListedAnswerEvents;
  std::size_t unlisted = 0;
  for (const AnswerEvent& e : r.answer_events) {
    if (!all && e.outcome == EventOutcome::forward) {
      ++unlisted;
      continue;
    }
    a.answer_event_ids.push_back(e.event_id);
    a.answer_event_types.push_back(e.event_type);
    a.answer_event_verdicts.push_back(event_outcome_name(e.outcome));
  }
  for (const JoinedServer& j : r.mixed) {
    a.mixed_room_ids.push_back(j.room_id);
    a.mixed_room_servers.push_back(j.server);
  }
  a.room_version = r.room_version_unknown ? "unknown" : version;
  a.action = std::string(decision_action(r));
  if (r.decision) a.rule_id = r.decision->rule_id;
  if (r.policy) a.policy_sha256 = r.policy->sha256;
  if (r.decision) a.facts = facts_json(r.facts, *r.decision);
  a.reason = !r.denial.empty() ? r.denial
             : r.decision      ? std::string(r.decision->reason)
                               : std::string();
  if (r.route && r.route->legacy_media) {
    // Same endpoint name and policy as federation media; the note tells the path family apart.
    const std::string_view family = r.route->api_version == 0 ? "r0" : "v3";
    a.note = "legacy media path (/_matrix/media/" + std::string(family) + ")";
  }
  if (r.decision && r.decision->reported_rule >= 0 && r.policy) {
    audit::append_note(a.note,
                       "reported by rule " +
                           r.policy->rules[static_cast<std::size_t>(r.decision->reported_rule)].id);
  }
  audit::append_note(a.note, r.response_note);
  if (unlisted > 0) {
    audit::append_note(a.note, std::to_string(unlisted) +
                                   " more events of the answer forwarded unchanged, not listed");
  }
  a.status = o.status;
  note_outcome(a, o);
  a.quarantine_id = r.quarantine_id;
  if (r.held_before && r.stored()) {
    // A retry answered from the store: the rule that held or denied the first attempt decided.
    a.rule_id = r.held_before->request.rule_id;
    a.reason = r.held_before->request.reason;
    const char* what = r.quarantined() ? "held" : "denied";
    a.note = std::string("retry of a ") + what + " transaction" +
             ((*r.quarantine_result)->same_body ? "" : " with a different body");
  } else if (r.stored() && !r.quarantined()) {
    audit::append_note(a.note, "denied transaction stored; answered 200 with per-PDU errors");
  }
  // Last, so that no note above replaces it: the listener is said on every record of the tunnel.
  if (!r.listener.empty()) audit::append_note(a.note, "listener=" + std::string(r.listener));
  return a;
}

void record_judged(const JudgedRequest& r, const RequestOutcome& o) {
  if (r.services == nullptr) return;
  // Refused because the audit log could not take its record: counted by the log
  // (bordergate_audit_refused_total), not recorded (it would only be lost as well).
  if (r.denial == kAuditUnavailable) return;
  r.services->metrics.count(r.direction, peer_label(r),
                            r.route ? policy::endpoint_name(r.route->endpoint) : "unrecognized",
                            decision_action(r));
  if (r.services->audit) r.services->audit->submit(audit_record(r, o), &r.audit_ticket);
}

}  // namespace bordergate::enforcement
