// The policy decision: a pure function of the compiled policy and the request facts.
// No clocks, no I/O, no shared state; safe to call from any thread on a snapshot.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "policy/decision.h"
#include "policy/facts.h"
#include "policy/policy.h"

namespace bordergate::policy {

Decision evaluate(const Policy& policy, const RequestFacts& facts);

// One event carried in an *answer* (backfill, get_missing_events, event, state, send_join ...):
// who it is exchanged with and which way it travels.
struct AnswerEventFacts {
  // inbound: a peer's event answered to the Core (judged by the inbound content rules);
  // outbound: the Core's event answered to a peer (outbound content rules).
  Direction direction = Direction::inbound;
  std::optional<std::string> peer;  // the external server; nullopt = unknown
  FederationEndpoint endpoint = FederationEndpoint::backfill;  // the endpoint that answered
  PduFacts pdu;
};

struct AnswerEventVerdict {
  Action action = Action::allow;  // allow / report pass it; deny / quarantine refuse it
  std::int32_t rule = -1;         // index into Policy::rules, -1 when no content rule decided
  std::string_view reason;        // allowed_by_rule, denied_by_rule, ..., no_content_rule
  bool refused() const { return action == Action::deny || action == Action::quarantine; }
};

// The content rules over one event of an answer: the same rules that judge events in requests,
// so an event refused on /send gets the same verdict whatever path brings it. A content rule
// applies when it lists the answering endpoint or `send` (or no endpoints); a quarantine rule
// (always `send`) therefore refuses the event in answers too, where nothing can be held.
// Required checks are not applied here: the caller has verified the event already.
AnswerEventVerdict judge_answer_event(const Policy& policy, const AnswerEventFacts& facts);

// Whether `server` (port and case ignored) is in no federation of the policy. The policy's own
// server_name is inside. What makes a room mixed (the audit flag of a room a server of no
// federation joins).
bool in_no_federation(const Policy& policy, std::string_view server);

// The settings (limits, media, checks, rate) in force for a peer and direction; `peer` is
// a server name (port and case are ignored) or nullopt for an unknown origin.
Settings resolve_settings(const Policy& policy, const std::optional<std::string>& peer,
                          Direction direction);

// A Content-Type (parameters ignored, case-insensitive) against the media policy's list
// ("image/*" matches any image type; an empty list allows every type).
bool media_type_allowed(const MediaPolicy& media, std::string_view content_type);

// ---- What a Decision's trace means condition by condition, for `policy test --coverage`
// (policy/coverage.h). Not used on the data path: evaluate() records one outcome per rule and
// these read the rest back from it. ----

// The rules that name `peer` (a server name, port and case ignored; nullopt = unknown origin),
// as indexes in file order: the only rules evaluate() considers for a request with this peer.
std::vector<std::uint32_t> rules_naming_peer(const Policy& policy,
                                             const std::optional<std::string>& peer);

// The conditions after the peer that evaluate() tests of a rule for an item of this kind, in
// its order; it stops at the first that does not hold.
std::span<const RuleCondition> condition_order(ItemKind item);

// The condition a trace step's outcome says evaluate() stopped at; nullopt when every condition
// held (decided, outranked, shadow_only).
std::optional<RuleCondition> failed_condition(RuleOutcome outcome, ItemKind item);

}  // namespace bordergate::policy
