// The result of evaluate(): one action for the whole request, the rule that decided, a
// stable snake_case reason, the trace of rules considered and, for requests that carry
// PDUs/EDUs, one finding per item. Signed transactions are never altered: the action
// applies to the transaction as a whole (forward, quarantine or deny).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/model.h"
#include "policy/policy.h"

namespace bordergate::policy {

enum class ItemKind : std::uint8_t { request, pdu, edu };

// Why a considered rule did or did not decide.
enum class RuleOutcome : std::uint8_t {
  decided,      // matched and won
  outranked,    // matched, but a more specific or more severe rule won
  shadow_only,  // a report rule that matched; it never changes the enforced outcome
  wrong_direction,
  endpoint_not_listed,
  room_not_matched,
  user_not_matched,
  invite_sender_not_matched,
  invite_target_not_matched,
  type_not_matched,
  sender_not_outside,        // the sender's server is in a listed federation, or unnamed
  room_creator_not_outside,  // the room's creator is in a listed federation, or unnamed (v12)
  room_members_unknown,      // the rule is on the room's members; the gateway does not know them
  room_members_not_outside,  // every joined server of the room is in a listed federation
  not_content,               // a content rule, but the item is not a PDU/EDU it can judge
};
std::string_view rule_outcome_text(RuleOutcome o);

// The conditions a rule can write, each one test of match_rule(); `policy test --coverage`
// reports which of them the tests saw true and false (policy/coverage.h).
enum class RuleCondition : std::uint8_t {
  peer,  // federation / servers / peer (not `anyone`)
  direction,
  endpoints,
  event_types,
  edu_types,
  sender_outside,        // sender_outside_federations
  room_creator_outside,  // room_creator_outside_federations
  rooms,                 // rooms and room_creators
  users,
  invite_senders,
  invite_targets,
  room_members_outside,  // room_members_outside_federations
};
// Stable snake_case, the policy file's key: "peer" (federation, servers or peer), "direction",
// "rooms" (rooms and room_creators), "sender_outside_federations" ...
std::string_view rule_condition_name(RuleCondition c);

struct TraceStep {
  std::uint32_t rule;  // index into Policy::rules
  ItemKind item_kind;  // request, or the PDU/EDU the step is about
  std::uint32_t item;  // index into RequestFacts::pdus / edus
  RuleOutcome outcome;
};

struct Finding {
  ItemKind kind;        // pdu or edu
  std::uint32_t index;  // into RequestFacts::pdus / edus
  Action action;
  std::int32_t rule;        // index into Policy::rules, -1 when no rule decided
  std::string_view reason;  // stable snake_case
};

inline constexpr std::string_view kDefaultRuleId = "default";
inline constexpr std::string_view kLimitsRuleId = "limits";
inline constexpr std::string_view kChecksRuleId = "checks";
inline constexpr std::string_view kMediaRuleId = "media";

struct Decision {
  Action action = Action::deny;
  std::string rule_id;      // a rule id, or default / limits / checks / media
  std::string_view reason;  // stable snake_case (static storage)
  std::int32_t rule = -1;   // index into Policy::rules, -1 when no rule decided
  // What decided: the request itself, or a finding on one of its PDUs/EDUs (a content rule
  // or a failed item check). A content verdict on /send is answered 200 with per-PDU errors.
  ItemKind decided_by = ItemKind::request;

  std::string peer;  // normalised peer name; empty = unknown origin
  bool peer_known = false;
  std::vector<std::uint32_t> federations;  // federations the peer belongs to
  Settings settings;                // limits, media and checks in force (rate for the RateLimiter)
  std::int32_t reported_rule = -1;  // a report rule that matched (shadow), if any

  std::vector<TraceStep> trace;
  std::vector<Finding> findings;

  // allow and report forward the request unchanged; quarantine and deny do not.
  bool forwards() const { return action == Action::allow || action == Action::report; }
  bool by_content() const { return decided_by != ItemKind::request; }
};

}  // namespace bordergate::policy
