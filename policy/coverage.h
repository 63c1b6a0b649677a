// `policy test --coverage`: which rules, conditions and settings entries a tests file reaches,
// read from the decisions of its test cases (their traces). The definitions are the ones
// docs/auditor.md states; a pure function of the policy and the run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/decision.h"
#include "policy/policy.h"
#include "policy/test_suite.h"

namespace bordergate::policy {

// One condition of one rule: what the tests' evaluations found it. Covered when seen both ways,
// so some test could tell whether the condition mattered.
struct ConditionCoverage {
  RuleCondition condition;
  bool seen_true = false;
  bool seen_false = false;
  bool covered() const { return seen_true && seen_false; }
};

struct RuleCoverage {
  std::uint32_t rule = 0;  // index into Policy::rules
  // Test cases (indexes into PolicyTestRun::results) in which the rule matched and decided the
  // request or one of its PDUs/EDUs, or was the reported rule of a report-only match.
  std::vector<std::uint32_t> decided_in;
  std::vector<std::uint32_t> reported_in;
  int outranked = 0;  // test cases in which it matched but another rule won
  // The conditions the rule writes that can be false, in evaluation order (peer first).
  std::vector<ConditionCoverage> conditions;
  bool exercised() const { return !decided_in.empty() || !reported_in.empty(); }
};

// A field of a settings entry: limits, rate, media or one required check.
struct SettingsField {
  std::string name;  // "limits", "rate", "media", "checks.x_matrix" ...
  int in_force = 0;  // test cases whose resolved settings took this field from the entry
};

struct SettingsCoverage {
  std::uint32_t entry = 0;            // index into Policy::settings
  int in_force = 0;                   // test cases whose resolved settings took any field from it
  std::vector<SettingsField> fields;  // the fields it sets
};

struct PolicyCoverage {
  int tests = 0;  // test cases evaluated (a request that could not be built is not)
  std::vector<RuleCoverage> rules;         // one per Policy::rules, in file order
  std::vector<SettingsCoverage> settings;  // one per Policy::settings, in file order
  int default_reached = 0;  // test cases whose request no rule decided: the default action did

  int rules_exercised() const;
  int conditions() const;
  int conditions_covered() const;
  int settings_in_force() const;
  // Percentages (100 when there is nothing to cover).
  double rule_percent() const;
  double condition_percent() const;
};

// `run` is a run of `policy` (its traces index policy.rules).
PolicyCoverage policy_coverage(const Policy& policy, const PolicyTestRun& run);

// A coverage threshold of the command line and whether the run met it.
struct CoverageThreshold {
  std::string option;  // "--min-coverage", "--min-condition-coverage"
  std::string metric;  // "rules", "conditions"
  double required = 0;
  double actual = 0;
  bool met() const { return actual >= required; }
};

// The thresholds given (nullopt = not asked for), each with the coverage it was measured against.
std::vector<CoverageThreshold> coverage_thresholds(const PolicyCoverage& coverage,
                                                   std::optional<double> min_rule_percent,
                                                   std::optional<double> min_condition_percent);

// A percentage as reports print it: one decimal, rounded down, so 99.96% never shows as 100%.
std::string coverage_percent_text(double percent);

}  // namespace bordergate::policy
