// Coverage read back from the test cases' decisions (see coverage.h and docs/auditor.md).
// evaluate() records, per item it judges, one trace step for every rule that names the peer,
// with the condition it stopped at; condition_order() says which conditions held before it.
#include "policy/coverage.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "policy/evaluate.h"

namespace bordergate::policy {
namespace {

// A type list that every type matches (`["*"]`) cannot be false.
bool matches_every_type(const TypeMatcher& m) {
  return !m.except && std::any_of(m.globs.begin(), m.globs.end(),
                                  [](const Glob& g) { return g.matches_everything(); });
}

// The conditions a rule writes that some request could make false, in evaluation order. Not
// counted: `peer: anyone`, `direction: both`, endpoints that reach all of `@all` (or none
// written), event or EDU types that list `*`: no test can see them false.
std::vector<ConditionCoverage> conditions_of(const Rule& r) {
  std::vector<RuleCondition> has;
  if (r.peer.kind != PeerKind::anyone) has.push_back(RuleCondition::peer);
  if (r.directions != kBothDirections) has.push_back(RuleCondition::direction);
  if ((r.endpoints & kAllEndpoints) != kAllEndpoints) has.push_back(RuleCondition::endpoints);
  if (r.event_types && !matches_every_type(*r.event_types)) {
    has.push_back(RuleCondition::event_types);
  }
  if (r.edu_types && !matches_every_type(*r.edu_types)) has.push_back(RuleCondition::edu_types);
  if (r.sender_outside) has.push_back(RuleCondition::sender_outside);
  if (r.room_creator_outside) has.push_back(RuleCondition::room_creator_outside);
  if (r.rooms) has.push_back(RuleCondition::rooms);
  if (r.users) has.push_back(RuleCondition::users);
  if (r.invite_senders) has.push_back(RuleCondition::invite_senders);
  if (r.invite_targets) has.push_back(RuleCondition::invite_targets);
  if (r.room_members_outside) has.push_back(RuleCondition::room_members_outside);
  std::vector<ConditionCoverage> out;
  for (RuleCondition c : has) out.push_back({c});
  return out;
}

void see(RuleCoverage& rc, RuleCondition c, bool value) {
  for (ConditionCoverage& cc : rc.conditions) {
    if (cc.condition != c) continue;
    (value ? cc.seen_true : cc.seen_false) = true;
  }
}

// Whether evaluate() judges `item` against rule r: request rules judge the request, rules with
// event_types the PDUs, rules with edu_types the EDUs.
bool judges(const Rule& r, ItemKind item) {
  switch (item) {
    case ItemKind::request:
      return !r.is_content_rule();
    case ItemKind::pdu:
      return r.event_types.has_value();
    case ItemKind::edu:
      return r.edu_types.has_value();
  }
  return false;
}

std::vector<SettingsField> fields_of(const SettingsEntry& e) {
  std::vector<SettingsField> out;
  if (e.max_body_bytes || e.max_pdus || e.max_edus) out.push_back({"limits"});
  if (e.rate) out.push_back({"rate"});
  if (e.media) out.push_back({"media"});
  for (int k = 0; k < kCheckCount; ++k) {
    if (e.checks[k]) out.push_back({"checks." + std::string(check_name(static_cast<Check>(k)))});
  }
  return out;
}

// The index of the settings entry a resolved field came from, by the field's name.
int source_of(const Settings& s, const std::string& field) {
  if (field == "limits") return s.source_limits;
  if (field == "rate") return s.source_rate;
  if (field == "media") return s.source_media;
  for (int k = 0; k < kCheckCount; ++k) {
    if (field == "checks." + std::string(check_name(static_cast<Check>(k)))) {
      return s.source_checks[k];
    }
  }
  return -1;
}

double percent(int part, int whole) { return whole == 0 ? 100.0 : 100.0 * part / whole; }

}  // namespace

int PolicyCoverage::rules_exercised() const {
  return static_cast<int>(std::count_if(rules.begin(), rules.end(),
                                        [](const RuleCoverage& r) { return r.exercised(); }));
}

int PolicyCoverage::conditions() const {
  int n = 0;
  for (const RuleCoverage& r : rules) n += static_cast<int>(r.conditions.size());
  return n;
}

int PolicyCoverage::conditions_covered() const {
  int n = 0;
  for (const RuleCoverage& r : rules) {
    for (const ConditionCoverage& c : r.conditions) n += c.covered() ? 1 : 0;
  }
  return n;
}

int PolicyCoverage::settings_in_force() const {
  return static_cast<int>(std::count_if(settings.begin(), settings.end(),
                                        [](const SettingsCoverage& s) { return s.in_force > 0; }));
}

double PolicyCoverage::rule_percent() const {
  return percent(rules_exercised(), static_cast<int>(rules.size()));
}

double PolicyCoverage::condition_percent() const {
  return percent(conditions_covered(), conditions());
}

PolicyCoverage policy_coverage(const Policy& p, const PolicyTestRun& run) {
  PolicyCoverage cov;
  for (std::uint32_t i = 0; i < p.rules.size(); ++i) {
    cov.rules.push_back({i, {}, {}, 0, conditions_of(p.rules[i])});
  }
  for (std::uint32_t i = 0; i < p.settings.size(); ++i) {
    cov.settings.push_back({i, 0, fields_of(p.settings[i])});
  }
  for (std::uint32_t t = 0; t < run.results.size(); ++t) {
    const PolicyTestResult& result = run.results[t];
    if (!result.facts) continue;
    const RequestFacts& f = *result.facts;
    const Decision& d = result.decision;
    ++cov.tests;

    // Which items evaluate() judged against the rules: the request, unless a failed X-Matrix
    // check refused it first; every PDU and EDU when it went on to the content (one finding
    // each).
    struct Item {
      ItemKind kind;
      std::uint32_t index;
    };
    std::vector<Item> items;
    const bool x_matrix_refused =
        f.x_matrix == CheckResult::failed && d.settings.checks[static_cast<int>(Check::x_matrix)];
    if (!x_matrix_refused) items.push_back({ItemKind::request, 0});
    for (const Finding& fi : d.findings) items.push_back({fi.kind, fi.index});

    // The peer selector: true for the rules that name the request's peer, false for the others,
    // on every item judged against them.
    std::vector<bool> names(p.rules.size(), false);
    for (std::uint32_t r : rules_naming_peer(p, f.peer())) names[r] = true;
    for (const Item& item : items) {
      for (std::uint32_t r = 0; r < p.rules.size(); ++r) {
        if (judges(p.rules[r], item.kind)) see(cov.rules[r], RuleCondition::peer, names[r]);
      }
    }

    // The other conditions: those before the one a step stopped at held, it did not, the rest
    // were not tested.
    std::vector<bool> decided(p.rules.size()), reported(p.rules.size()), outranked(p.rules.size());
    bool request_decided = false;
    for (const TraceStep& step : d.trace) {
      RuleCoverage& rc = cov.rules[step.rule];
      const std::optional<RuleCondition> failed = failed_condition(step.outcome, step.item_kind);
      for (RuleCondition c : condition_order(step.item_kind)) {
        see(rc, c, c != failed);
        if (c == failed) break;
      }
      switch (step.outcome) {
        case RuleOutcome::decided:
          decided[step.rule] = true;
          if (step.item_kind == ItemKind::request) request_decided = true;
          break;
        case RuleOutcome::shadow_only:
          reported[step.rule] = true;
          break;
        case RuleOutcome::outranked:
          outranked[step.rule] = true;
          break;
        default:
          break;
      }
    }
    for (std::uint32_t r = 0; r < p.rules.size(); ++r) {
      if (decided[r]) cov.rules[r].decided_in.push_back(t);
      if (reported[r]) cov.rules[r].reported_in.push_back(t);
      if (outranked[r] && !decided[r] && !reported[r]) ++cov.rules[r].outranked;
    }
    if (!x_matrix_refused && !request_decided) ++cov.default_reached;

    for (SettingsCoverage& sc : cov.settings) {
      bool any = false;
      for (SettingsField& field : sc.fields) {
        if (source_of(d.settings, field.name) != static_cast<int>(sc.entry)) continue;
        ++field.in_force;
        any = true;
      }
      if (any) ++sc.in_force;
    }
  }
  return cov;
}

std::vector<CoverageThreshold> coverage_thresholds(const PolicyCoverage& coverage,
                                                   std::optional<double> min_rule_percent,
                                                   std::optional<double> min_condition_percent) {
  std::vector<CoverageThreshold> out;
  if (min_rule_percent) {
    out.push_back({"--min-coverage", "rules", *min_rule_percent, coverage.rule_percent()});
  }
  if (min_condition_percent) {
    out.push_back({"--min-condition-coverage", "conditions", *min_condition_percent,
                   coverage.condition_percent()});
  }
  return out;
}

std::string coverage_percent_text(double percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", std::floor(percent * 10.0 + 1e-9) / 10.0);
  return buf;
}

}  // namespace bordergate::policy
