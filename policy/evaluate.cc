// evaluate(): peer lookup -> settings -> required checks -> request rules -> limits ->
// media -> content rules per PDU/EDU -> one verdict for the whole request.
//
// Precedence (docs/policy.md): among the rules that match, the most specific peer level
// wins (exact server > server glob > federation > any/unknown > anyone); within a level
// the most severe action wins (deny > quarantine > report > allow); remaining ties go to
// the rule written first. Report rules never change the enforced outcome.
#include "policy/evaluate.h"

#include <algorithm>

#include "policy/server_name.h"

namespace bordergate::policy {
namespace {

struct Candidate {
  std::uint32_t index;
  PeerLevel level;
};

// Which rules and settings entries name this peer, and which federations it belongs to.
struct PeerMatch {
  std::string host;  // lower-cased, no port; empty when unknown
  bool known = false;
  std::vector<Candidate> rules;
  std::vector<Candidate> settings;
  std::vector<std::uint32_t> federations;
};

void add_candidates(std::vector<Candidate>& out, const std::vector<std::uint32_t>& list,
                    PeerLevel level) {
  for (std::uint32_t i : list) out.push_back({i, level});
}

// Sorted by index, one entry per rule, keeping the most specific level it matched at.
void normalise(std::vector<Candidate>& c) {
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
    return a.index != b.index ? a.index < b.index : a.level > b.level;
  });
  c.erase(std::unique(c.begin(), c.end(),
                      [](const Candidate& a, const Candidate& b) { return a.index == b.index; }),
          c.end());
}

PeerMatch match_peer(const Policy& p, const std::optional<std::string>& peer) {
  PeerMatch m;
  m.rules.reserve(16);
  if (!peer || peer->empty()) {
    add_candidates(m.rules, p.rules_unknown, PeerLevel::any);
    add_candidates(m.rules, p.rules_anyone, PeerLevel::anyone);
    add_candidates(m.settings, p.settings_unknown, PeerLevel::any);
    add_candidates(m.settings, p.settings_anyone, PeerLevel::anyone);
    normalise(m.rules);
    normalise(m.settings);
    return m;
  }
  m.known = true;
  m.host = ascii_lower(strip_port(*peer));
  const bool ip = is_ip_literal(m.host);
  p.servers.for_each_match(m.host, ip, [&](const ServerIndex::Entry& e) {
    const PeerLevel level = e.exact ? PeerLevel::server_exact : PeerLevel::server_glob;
    if (e.tag & Policy::kSettingsTag) {
      m.settings.push_back({e.tag & ~Policy::kSettingsTag, level});
    } else if (e.tag & Policy::kRuleTag) {
      m.rules.push_back({e.tag & ~Policy::kRuleTag, level});
    } else if (std::find(m.federations.begin(), m.federations.end(), e.tag) ==
               m.federations.end()) {
      m.federations.push_back(e.tag);
      add_candidates(m.rules, p.rules_by_federation[e.tag], PeerLevel::federation);
      add_candidates(m.settings, p.settings_by_federation[e.tag], PeerLevel::federation);
    }
  });
  // IP literals are reached only through a federation that allows them, never by `any`.
  if (!ip) {
    add_candidates(m.rules, p.rules_any, PeerLevel::any);
    add_candidates(m.rules, p.rules_anyone, PeerLevel::anyone);
    add_candidates(m.settings, p.settings_any, PeerLevel::any);
    add_candidates(m.settings, p.settings_anyone, PeerLevel::anyone);
  }
  std::sort(m.federations.begin(), m.federations.end());
  normalise(m.rules);
  normalise(m.settings);
  return m;
}

Settings resolve(const Policy& p, const std::vector<Candidate>& entries, Direction d) {
  Settings s = p.defaults;
  // Per field: the most specific entry that sets it; ties go to the entry written first.
  PeerLevel lim_level{}, rate_level{}, media_level{}, check_level[kCheckCount]{};
  const auto dir = static_cast<DirectionMask>(d);
  auto better = [](int current_source, PeerLevel current, PeerLevel level) {
    return current_source < 0 || level > current;
  };
  for (const Candidate& c : entries) {
    const SettingsEntry& e = p.settings[c.index];
    if (!(e.directions & dir)) continue;
    const int idx = static_cast<int>(c.index);
    if ((e.max_body_bytes || e.max_pdus || e.max_edus) &&
        better(s.source_limits, lim_level, c.level)) {
      s.max_body_bytes = e.max_body_bytes.value_or(p.defaults.max_body_bytes);
      s.max_pdus = e.max_pdus.value_or(p.defaults.max_pdus);
      s.max_edus = e.max_edus.value_or(p.defaults.max_edus);
      s.source_limits = idx;
      lim_level = c.level;
    }
    if (e.rate && better(s.source_rate, rate_level, c.level)) {
      s.rate = *e.rate;
      s.source_rate = idx;
      rate_level = c.level;
    }
    if (e.media && better(s.source_media, media_level, c.level)) {
      s.media = &*e.media;
      s.source_media = idx;
      media_level = c.level;
    }
    for (int k = 0; k < kCheckCount; ++k) {
      if (e.checks[k] && better(s.source_checks[k], check_level[k], c.level)) {
        s.checks[k] = *e.checks[k];
        s.source_checks[k] = idx;
        check_level[k] = c.level;
      }
    }
  }
  return s;
}

// The facts one rule is matched against: the request itself or one PDU/EDU in it.
struct Subject {
  ItemKind kind;
  std::string_view type;
  std::string_view room;
  std::string_view user;
  EndpointSet endpoints = 0;  // the endpoints it is seen under; 0 = the request's endpoint
};

// Whether `server` (not empty) belongs to none of `federations`. The policy's own server is
// inside.
bool outside_federations(const Policy& p, std::string_view server,
                         const std::vector<std::uint32_t>& federations) {
  const std::string host = ascii_lower(strip_port(server));
  if (host == ascii_lower(strip_port(p.server_name))) return false;
  bool inside = false;
  p.servers.for_each_match(host, is_ip_literal(host), [&](const ServerIndex::Entry& e) {
    if (e.tag & (Policy::kSettingsTag | Policy::kRuleTag)) return;
    if (std::find(federations.begin(), federations.end(), e.tag) != federations.end()) {
      inside = true;
    }
  });
  return !inside;
}

RuleOutcome match_rule(const Policy& p, const Rule& r, const RequestFacts& f, const Subject& s) {
  if (!(r.directions & static_cast<DirectionMask>(f.direction)))
    return RuleOutcome::wrong_direction;
  const EndpointSet seen_under = s.endpoints != 0 ? s.endpoints : endpoint_bit(f.endpoint);
  if (!(r.endpoints & seen_under)) return RuleOutcome::endpoint_not_listed;
  if (s.kind == ItemKind::pdu) {
    if (!r.event_types) return RuleOutcome::not_content;
    if (!r.event_types->matches(s.type)) return RuleOutcome::type_not_matched;
    if (r.sender_outside) {
      // An event without a sender's server (not a well-formed event: its checks fail anyway)
      // names no server: the condition cannot hold.
      const std::string_view sender = id_domain(s.user);
      if (sender.empty() || !outside_federations(p, sender, *r.sender_outside)) {
        return RuleOutcome::sender_not_outside;
      }
    }
    if (r.room_creator_outside) {
      // A room id without a domain (v12) names no creating server: the condition cannot hold.
      const std::string_view creator = id_domain(s.room);
      if (creator.empty() || !outside_federations(p, creator, *r.room_creator_outside)) {
        return RuleOutcome::room_creator_not_outside;
      }
    }
  } else if (s.kind == ItemKind::edu) {
    if (!r.edu_types) return RuleOutcome::not_content;
    if (!r.edu_types->matches(s.type)) return RuleOutcome::type_not_matched;
  }
  if (r.rooms && (s.room.empty() || !r.rooms->matches(s.room)))
    return RuleOutcome::room_not_matched;
  if (r.users && (s.user.empty() || !r.users->matches(s.user)))
    return RuleOutcome::user_not_matched;
  if (r.invite_senders &&
      (f.invite_sender.empty() || !r.invite_senders->matches(f.invite_sender))) {
    return RuleOutcome::invite_sender_not_matched;
  }
  if (r.invite_targets &&
      (f.invite_target.empty() || !r.invite_targets->matches(f.invite_target))) {
    return RuleOutcome::invite_target_not_matched;
  }
  if (r.room_members_outside) {
    if (!f.room_servers) return RuleOutcome::room_members_unknown;
    const bool mixed =
        std::any_of(f.room_servers->begin(), f.room_servers->end(), [&](const std::string& server) {
          return !server.empty() && outside_federations(p, server, *r.room_members_outside);
        });
    if (!mixed) return RuleOutcome::room_members_not_outside;
  }
  return RuleOutcome::decided;
}

// match_rule()'s order of tests per kind of item, read by condition_order(): keep in step.
using C = RuleCondition;
constexpr RuleCondition kRequestConditions[] = {
    C::direction,      C::endpoints,           C::rooms, C::users, C::invite_senders,
    C::invite_targets, C::room_members_outside};
constexpr RuleCondition kPduConditions[] = {
    C::direction, C::endpoints, C::event_types,    C::sender_outside, C::room_creator_outside,
    C::rooms,     C::users,     C::invite_senders, C::invite_targets, C::room_members_outside};
constexpr RuleCondition kEduConditions[] = {
    C::direction, C::endpoints,      C::edu_types,      C::rooms,
    C::users,     C::invite_senders, C::invite_targets, C::room_members_outside};

struct Verdict {
  Action action;
  std::int32_t rule = -1;      // -1: no rule matched (default)
  std::int32_t reported = -1;  // a report rule that matched but did not enforce
};

// Picks the winner among the candidate rules of one kind for one subject, writing a
// trace step per rule considered.
Verdict judge(const Policy& p, const PeerMatch& m, const RequestFacts& f, const Subject& s,
              std::uint32_t item, Action fallback, Decision& d) {
  const bool content = s.kind != ItemKind::request;
  const std::size_t first_step = d.trace.size();
  std::int32_t best_all = -1, best_enforced = -1;
  PeerLevel level_all{}, level_enforced{};
  auto wins = [&](const Rule& r, PeerLevel level, std::int32_t current, PeerLevel current_level) {
    if (current < 0) return true;
    if (level != current_level) return level > current_level;
    return r.action > p.rules[static_cast<std::size_t>(current)].action;
  };
  for (const Candidate& c : m.rules) {
    const Rule& r = p.rules[c.index];
    if (r.is_content_rule() != content) continue;
    RuleOutcome o = match_rule(p, r, f, s);
    if (o == RuleOutcome::not_content) continue;  // an EDU rule says nothing about PDUs
    d.trace.push_back({c.index, s.kind, item, o});
    if (o != RuleOutcome::decided) continue;
    const auto idx = static_cast<std::int32_t>(c.index);
    if (wins(r, c.level, best_all, level_all)) best_all = idx, level_all = c.level;
    if (r.action != Action::report && wins(r, c.level, best_enforced, level_enforced)) {
      best_enforced = idx;
      level_enforced = c.level;
    }
  }
  Verdict v{fallback};
  if (best_enforced >= 0) {
    v.action = p.rules[static_cast<std::size_t>(best_enforced)].action;
    v.rule = best_enforced;
  }
  if (best_all >= 0 && best_all != best_enforced) {
    // A report rule outranks the enforcing one: forward-and-record if the enforced
    // outcome forwards anyway, otherwise keep the enforced outcome and note the match.
    if (v.action == Action::allow) {
      v.action = Action::report;
      v.rule = best_all;
    } else {
      v.reported = best_all;
    }
  }
  for (std::size_t i = first_step; i < d.trace.size(); ++i) {
    TraceStep& step = d.trace[i];
    if (step.outcome != RuleOutcome::decided) continue;
    const auto idx = static_cast<std::int32_t>(step.rule);
    if (idx == v.rule) continue;
    step.outcome = idx == v.reported ? RuleOutcome::shadow_only : RuleOutcome::outranked;
  }
  return v;
}

std::string_view rule_reason(Action a) {
  switch (a) {
    case Action::allow:
      return "allowed_by_rule";
    case Action::report:
      return "reported_by_rule";
    case Action::quarantine:
      return "quarantined_by_rule";
    case Action::deny:
      return "denied_by_rule";
  }
  return "denied_by_rule";
}

void set_rule_decision(const Policy& p, Decision& d, const Verdict& v) {
  d.action = v.action;
  d.rule = v.rule;
  d.reported_rule = v.reported;
  if (v.rule >= 0) {
    d.rule_id = p.rules[static_cast<std::size_t>(v.rule)].id;
    d.reason = rule_reason(v.action);
  } else {
    d.rule_id = kDefaultRuleId;
    d.reason = v.action == Action::allow ? "default_allow" : "default_deny";
  }
}

void deny(Decision& d, std::string_view rule_id, std::string_view reason) {
  d.action = Action::deny;
  d.rule = -1;
  d.rule_id = rule_id;
  d.reason = reason;
}

bool failed_required(const Settings& s, Check c, CheckResult r) {
  return r == CheckResult::failed && s.checks[static_cast<int>(c)];
}

// Judges every PDU and EDU and folds the findings into the request's verdict.
void judge_content(const Policy& p, const PeerMatch& m, const RequestFacts& f, Decision& d) {
  d.findings.reserve(f.pdus.size() + f.edus.size());
  const Settings& s = d.settings;
  auto record = [&](ItemKind kind, std::uint32_t i, const Verdict& v, std::string_view check) {
    Finding fi{kind, i, v.action, v.rule, {}};
    if (!check.empty()) {
      fi.action = Action::deny;
      fi.rule = -1;
      fi.reason = check;
    } else {
      fi.reason = v.rule >= 0 ? rule_reason(v.action) : "no_content_rule";
    }
    d.findings.push_back(fi);
  };
  for (std::uint32_t i = 0; i < f.pdus.size(); ++i) {
    const PduFacts& pdu = f.pdus[i];
    Verdict v = judge(p, m, f, {ItemKind::pdu, pdu.event_type, pdu.room_id, pdu.sender}, i,
                      Action::allow, d);
    std::string_view check;
    if (failed_required(s, Check::pdu_hashes, pdu.hashes)) check = "pdu_hashes_check_failed";
    if (failed_required(s, Check::pdu_signatures, pdu.signatures)) {
      check = "pdu_signatures_check_failed";
    }
    if (pdu.too_large) check = "pdu_too_large";  // the real reason, and not relaxable
    record(ItemKind::pdu, i, v, check);
  }
  for (std::uint32_t i = 0; i < f.edus.size(); ++i) {
    const EduFacts& edu = f.edus[i];
    Verdict v = judge(p, m, f, {ItemKind::edu, edu.edu_type, edu.room_id, edu.user_id}, i,
                      Action::allow, d);
    std::string_view check;
    if (failed_required(s, Check::edu_origin_binding, edu.origin_binding)) {
      check = "edu_origin_binding_check_failed";
    }
    record(ItemKind::edu, i, v, check);
  }
  // The transaction is one signed unit: its verdict is the most severe finding.
  const Finding* worst = nullptr;
  for (const Finding& fi : d.findings) {
    if (!worst || fi.action > worst->action) worst = &fi;
  }
  if (!worst || worst->action <= d.action) return;
  d.action = worst->action;
  d.rule = worst->rule;
  d.reported_rule = -1;
  d.decided_by = worst->kind;
  if (worst->rule < 0) {
    d.rule_id = kChecksRuleId;
    d.reason = worst->reason;
    return;
  }
  d.rule_id = p.rules[static_cast<std::size_t>(worst->rule)].id;
  switch (worst->action) {
    case Action::deny:
      d.reason = "transaction_denied_by_content";
      break;
    case Action::quarantine:
      d.reason = "transaction_quarantined_by_content";
      break;
    default:
      d.reason = "transaction_reported_by_content";
      break;
  }
}

}  // namespace

bool media_type_allowed(const MediaPolicy& m, std::string_view type) {
  if (m.content_types.empty()) return true;
  std::string t = ascii_lower(type.substr(0, type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (const std::string& allowed : m.content_types) {
    if (allowed == t) return true;
    if (allowed.size() > 2 && allowed.ends_with("/*") &&
        t.compare(0, allowed.size() - 1, allowed, 0, allowed.size() - 1) == 0) {
      return true;
    }
  }
  return false;
}

std::string_view check_name(Check c) {
  switch (c) {
    case Check::x_matrix:
      return "x_matrix";
    case Check::pdu_hashes:
      return "pdu_hashes";
    case Check::pdu_signatures:
      return "pdu_signatures";
    case Check::edu_origin_binding:
      return "edu_origin_binding";
  }
  return "x_matrix";
}

AnswerEventVerdict judge_answer_event(const Policy& p, const AnswerEventFacts& facts) {
  RequestFacts f;
  f.direction = facts.direction;
  f.endpoint = facts.endpoint;
  if (facts.direction == Direction::inbound) {
    f.origin = facts.peer;
  } else if (facts.peer) {
    f.destination = *facts.peer;
  }
  const PeerMatch m = match_peer(p, f.peer());
  Decision scratch;  // judge() writes its trace here; an answer's events keep only the verdict
  const PduFacts& pdu = facts.pdu;
  const Subject subject{ItemKind::pdu, pdu.event_type, pdu.room_id, pdu.sender,
                        endpoint_bit(facts.endpoint) | endpoint_bit(FederationEndpoint::send)};
  const Verdict v = judge(p, m, f, subject, 0, Action::allow, scratch);
  AnswerEventVerdict out;
  out.action = v.action;
  out.rule = v.rule;
  out.reason = v.rule >= 0 ? rule_reason(v.action) : "no_content_rule";
  return out;
}

bool in_no_federation(const Policy& p, std::string_view server) {
  std::vector<std::uint32_t> every(p.federations.size());
  for (std::uint32_t i = 0; i < every.size(); ++i) every[i] = i;
  return !server.empty() && outside_federations(p, server, every);
}

Settings resolve_settings(const Policy& policy, const std::optional<std::string>& peer,
                          Direction direction) {
  return resolve(policy, match_peer(policy, peer).settings, direction);
}

std::vector<std::uint32_t> rules_naming_peer(const Policy& policy,
                                             const std::optional<std::string>& peer) {
  std::vector<std::uint32_t> out;
  for (const Candidate& c : match_peer(policy, peer).rules) out.push_back(c.index);
  return out;
}

std::span<const RuleCondition> condition_order(ItemKind item) {
  switch (item) {
    case ItemKind::request:
      return kRequestConditions;
    case ItemKind::pdu:
      return kPduConditions;
    case ItemKind::edu:
      return kEduConditions;
  }
  return kRequestConditions;
}

std::optional<RuleCondition> failed_condition(RuleOutcome outcome, ItemKind item) {
  switch (outcome) {
    case RuleOutcome::decided:
    case RuleOutcome::outranked:
    case RuleOutcome::shadow_only:
      return std::nullopt;
    case RuleOutcome::wrong_direction:
      return C::direction;
    case RuleOutcome::endpoint_not_listed:
      return C::endpoints;
    case RuleOutcome::not_content:
    case RuleOutcome::type_not_matched:
      return item == ItemKind::edu ? C::edu_types : C::event_types;
    case RuleOutcome::sender_not_outside:
      return C::sender_outside;
    case RuleOutcome::room_creator_not_outside:
      return C::room_creator_outside;
    case RuleOutcome::room_not_matched:
      return C::rooms;
    case RuleOutcome::user_not_matched:
      return C::users;
    case RuleOutcome::invite_sender_not_matched:
      return C::invite_senders;
    case RuleOutcome::invite_target_not_matched:
      return C::invite_targets;
    case RuleOutcome::room_members_unknown:
    case RuleOutcome::room_members_not_outside:
      return C::room_members_outside;
  }
  return std::nullopt;
}

Decision evaluate(const Policy& p, const RequestFacts& f) {
  Decision d;
  PeerMatch m = match_peer(p, f.peer());
  d.peer = m.host;
  d.peer_known = m.known;
  d.federations = m.federations;
  d.settings = resolve(p, m.settings, f.direction);
  const Settings& s = d.settings;

  if (failed_required(s, Check::x_matrix, f.x_matrix)) {
    deny(d, kChecksRuleId, "x_matrix_check_failed");
    return d;
  }

  set_rule_decision(
      p, d, judge(p, m, f, {ItemKind::request, {}, f.room_id, f.user_id}, 0, p.default_action, d));
  if (!d.forwards()) return d;

  if (f.body_bytes > s.max_body_bytes) {
    deny(d, kLimitsRuleId, "body_too_large");
    return d;
  }
  if (f.pdu_count.value_or(static_cast<std::uint32_t>(f.pdus.size())) > s.max_pdus) {
    deny(d, kLimitsRuleId, "too_many_pdus");
    return d;
  }
  if (f.edu_count.value_or(static_cast<std::uint32_t>(f.edus.size())) > s.max_edus) {
    deny(d, kLimitsRuleId, "too_many_edus");
    return d;
  }
  if (is_media_endpoint(f.endpoint)) {
    const MediaPolicy& media = *s.media;
    if (!media.allowed) {
      deny(d, kMediaRuleId, "media_not_allowed");
      return d;
    }
    if (f.media && f.media->size && media.max_bytes && *f.media->size > *media.max_bytes) {
      deny(d, kMediaRuleId, "media_too_large");
      return d;
    }
    if (f.media && !f.media->content_type.empty() &&
        !media_type_allowed(media, f.media->content_type)) {
      deny(d, kMediaRuleId, "media_content_type_not_allowed");
      return d;
    }
  }
  if (!f.pdus.empty() || !f.edus.empty()) judge_content(p, m, f, d);
  return d;
}

}  // namespace bordergate::policy
