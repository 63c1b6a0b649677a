// Text and JSON renderings of a Decision. The trace walks the considered rules in file
// order and says for each why it did or did not decide.
#include "policy/explain.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace bordergate::policy {

const char* const kPrecedenceText =
    "the most specific peer match wins (exact server > server glob > federation > "
    "any/unknown > anyone); within that level deny > quarantine > report > allow; a "
    "remaining tie goes to the rule written first. Report rules never change what is "
    "enforced. A /send transaction is judged whole: its verdict is the most severe verdict "
    "of its PDUs and EDUs.";

std::string_view rule_outcome_text(RuleOutcome o) {
  switch (o) {
    case RuleOutcome::decided:
      return "matched and decided";
    case RuleOutcome::outranked:
      return "matched, but outranked by the deciding rule";
    case RuleOutcome::shadow_only:
      return "matched (report only: recorded, not enforced)";
    case RuleOutcome::wrong_direction:
      return "skipped: other direction";
    case RuleOutcome::endpoint_not_listed:
      return "skipped: endpoint not listed";
    case RuleOutcome::room_not_matched:
      return "skipped: room not matched";
    case RuleOutcome::user_not_matched:
      return "skipped: user not matched";
    case RuleOutcome::invite_sender_not_matched:
      return "skipped: invite sender not matched";
    case RuleOutcome::invite_target_not_matched:
      return "skipped: invite target not matched";
    case RuleOutcome::type_not_matched:
      return "skipped: type not matched";
    case RuleOutcome::sender_not_outside:
      return "skipped: the sender's server is in a listed federation (or the event names none)";
    case RuleOutcome::room_creator_not_outside:
      return "skipped: the room's creating server is in a listed federation (or the room id "
             "names none)";
    case RuleOutcome::room_members_unknown:
      return "skipped: the room's membership is not known to the gateway";
    case RuleOutcome::room_members_not_outside:
      return "skipped: every server with a member in the room is in a listed federation";
    case RuleOutcome::not_content:
      return "skipped: does not judge this kind of item";
  }
  return "";
}

std::string_view rule_condition_name(RuleCondition c) {
  switch (c) {
    case RuleCondition::peer:
      return "peer";
    case RuleCondition::direction:
      return "direction";
    case RuleCondition::endpoints:
      return "endpoints";
    case RuleCondition::event_types:
      return "event_types";
    case RuleCondition::edu_types:
      return "edu_types";
    case RuleCondition::sender_outside:
      return "sender_outside_federations";
    case RuleCondition::room_creator_outside:
      return "room_creator_outside_federations";
    case RuleCondition::rooms:
      return "rooms";
    case RuleCondition::users:
      return "users";
    case RuleCondition::invite_senders:
      return "invite_senders";
    case RuleCondition::invite_targets:
      return "invite_targets";
    case RuleCondition::room_members_outside:
      return "room_members_outside_federations";
  }
  return "";
}

namespace {

std::string peer_text(const Policy& p, const Decision& d) {
  if (!d.peer_known) return "unknown origin (no X-Matrix)";
  std::string s = d.peer;
  if (d.federations.empty()) return s + " (in no federation)";
  s += " (federation ";
  for (std::size_t i = 0; i < d.federations.size(); ++i) {
    s += (i ? ", " : "") + p.federations[d.federations[i]].name;
  }
  return s + ")";
}

std::string item_text(const RequestFacts& f, ItemKind kind, std::uint32_t i) {
  if (kind == ItemKind::pdu) return "PDU #" + std::to_string(i) + " " + f.pdus[i].event_type;
  if (kind == ItemKind::edu) return "EDU #" + std::to_string(i) + " " + f.edus[i].edu_type;
  return "request";
}

std::string mib(std::uint64_t bytes) {
  std::ostringstream o;
  o.precision(3);
  o << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return o.str();
}

std::string source_text(const Policy& p, int index) {
  return index < 0 ? "defaults" : "settings " + p.settings[static_cast<std::size_t>(index)].id;
}

}  // namespace

std::string describe_rule(const Policy& p, std::uint32_t i) {
  const Rule& r = p.rules[i];
  std::string s = r.id + " (" + std::string(action_name(r.action)) + ", " + r.peer.text + ", " +
                  std::string(direction_mask_name(r.directions)) + ", line " +
                  std::to_string(r.location.line) + ")";
  return s;
}

std::string describe_request(const RequestFacts& f) {
  std::string s =
      std::string(direction_name(f.direction)) + " " + std::string(endpoint_name(f.endpoint));
  if (f.direction == Direction::inbound) {
    s += " from " + (f.origin ? *f.origin : std::string("an unknown origin"));
  } else {
    s += " to " + (f.destination.empty() ? std::string("an unknown server") : f.destination);
  }
  if (!f.room_id.empty()) s += ", room " + f.room_id;
  if (!f.user_id.empty()) s += ", user " + f.user_id;
  if (!f.invite_sender.empty()) s += ", invite from " + f.invite_sender;
  if (!f.invite_target.empty()) s += " to " + f.invite_target;
  if (f.room_servers) {
    s += ", room members on";
    if (f.room_servers->empty()) s += " no server";
    for (const std::string& server : *f.room_servers) s += " " + server;
  }
  if (!f.pdus.empty()) s += ", " + std::to_string(f.pdus.size()) + " PDU(s)";
  if (!f.edus.empty()) s += ", " + std::to_string(f.edus.size()) + " EDU(s)";
  return s;
}

std::string explain_text(const Policy& p, const RequestFacts& f, const Decision& d) {
  std::ostringstream o;
  std::string verdict(action_name(d.action));
  for (char& c : verdict) c = static_cast<char>(c - 32);
  o << "Decision: " << verdict << " (rule " << d.rule_id << ", reason " << d.reason << ")\n";
  switch (d.action) {
    case Action::allow:
      o << "  The request is forwarded.\n";
      break;
    case Action::report:
      o << "  The request is forwarded and the match is recorded (report-only rule).\n";
      break;
    case Action::quarantine:
      o << "  The whole transaction is held in quarantine; nothing in it is forwarded.\n";
      break;
    case Action::deny:
      o << "  The request is refused; nothing is forwarded.\n";
      break;
  }
  if (d.reported_rule >= 0) {
    o << "  Report-only rule " << p.rules[static_cast<std::size_t>(d.reported_rule)].id
      << " also matched; it is recorded, not enforced.\n";
  }
  o << "Request: " << describe_request(f) << "\n";
  o << "Peer: " << peer_text(p, d) << "\n";
  o << "Precedence: " << kPrecedenceText << "\n";
  o << "Rules considered (peer matched), in file order:\n";
  if (d.trace.empty()) o << "  (none: no rule names this peer; the default applies)\n";
  for (const TraceStep& t : d.trace) {
    o << "  - [" << item_text(f, t.item_kind, t.item) << "] " << describe_rule(p, t.rule) << ": "
      << rule_outcome_text(t.outcome) << "\n";
  }
  if (!d.findings.empty()) {
    o << "Items (the transaction is judged whole):\n";
    for (const Finding& fi : d.findings) {
      o << "  - " << item_text(f, fi.kind, fi.index) << ": " << action_name(fi.action) << " ("
        << (fi.rule >= 0 ? p.rules[static_cast<std::size_t>(fi.rule)].id : std::string("no rule"))
        << ", " << fi.reason << ")\n";
    }
  }
  const Settings& s = d.settings;
  o << "Settings in force: max body " << mib(s.max_body_bytes) << ", max " << s.max_pdus
    << " PDUs / " << s.max_edus << " EDUs per transaction (" << source_text(p, s.source_limits)
    << "); rate ";
  if (s.rate.per_second > 0) {
    o << s.rate.per_second << "/s burst " << s.rate.burst;
  } else {
    o << "unlimited";
  }
  o << " (" << source_text(p, s.source_rate) << "); media "
    << (s.media->allowed ? "allowed" : "not allowed") << " (" << source_text(p, s.source_media)
    << "); checks";
  for (int k = 0; k < kCheckCount; ++k) {
    o << " " << check_name(static_cast<Check>(k)) << "=" << (s.checks[k] ? "required" : "relaxed");
  }
  o << "\n";
  return o.str();
}

std::string explain_json(const Policy& p, const RequestFacts& f, const Decision& d) {
  using nlohmann::json;
  json j;
  j["action"] = action_name(d.action);
  j["rule"] = d.rule_id;
  j["reason"] = d.reason;
  j["forwarded"] = d.forwards();
  j["request"] = describe_request(f);
  j["peer"] = d.peer_known ? json(d.peer) : json(nullptr);
  json feds = json::array();
  for (auto i : d.federations) feds.push_back(p.federations[i].name);
  j["federations"] = feds;
  if (d.reported_rule >= 0)
    j["reported_rule"] = p.rules[static_cast<std::size_t>(d.reported_rule)].id;
  json trace = json::array();
  for (const TraceStep& t : d.trace) {
    const Rule& r = p.rules[t.rule];
    trace.push_back({{"rule", r.id},
                     {"action", action_name(r.action)},
                     {"peer", r.peer.text},
                     {"line", r.location.line},
                     {"item", item_text(f, t.item_kind, t.item)},
                     {"outcome", rule_outcome_text(t.outcome)}});
  }
  j["trace"] = trace;
  json findings = json::array();
  for (const Finding& fi : d.findings) {
    findings.push_back({{"item", item_text(f, fi.kind, fi.index)},
                        {"action", action_name(fi.action)},
                        {"rule", fi.rule >= 0 ? json(p.rules[static_cast<std::size_t>(fi.rule)].id)
                                              : json(nullptr)},
                        {"reason", fi.reason}});
  }
  j["findings"] = findings;
  const Settings& s = d.settings;
  json checks;
  for (int k = 0; k < kCheckCount; ++k)
    checks[std::string(check_name(static_cast<Check>(k)))] = s.checks[k];
  j["settings"] = {{"max_body_bytes", s.max_body_bytes},
                   {"max_pdus_per_transaction", s.max_pdus},
                   {"max_edus_per_transaction", s.max_edus},
                   {"rate", {{"per_second", s.rate.per_second}, {"burst", s.rate.burst}}},
                   {"media_allowed", s.media->allowed},
                   {"checks", checks}};
  j["precedence"] = kPrecedenceText;
  return j.dump(2);
}

}  // namespace bordergate::policy
