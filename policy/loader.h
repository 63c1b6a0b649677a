// Loading a policy file: YAML -> validated, compiled, immutable Policy. Every problem is
// reported with file:line:column; unknown keys are errors; lint warnings (rules that can
// never match, shadowed rules, overlapping federations, allow-all patterns, rules that
// hold back ordinary traffic) come back alongside.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "policy/policy.h"

namespace bordergate::policy {

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string code;  // stable snake_case: "unknown_key", "shadowed_rule" ...
  std::string message;
  SourceLocation location;

  // "file:line:column: error: message [code]"
  std::string to_string() const;
};

struct LoadOutput {
  std::shared_ptr<const Policy> policy;  // null when there are errors
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
  bool ok() const { return policy != nullptr; }
  std::size_t error_count() const;
  std::size_t warning_count() const;
};

LoadOutput load_policy_text(std::string_view yaml, std::string source_name);
LoadOutput load_policy_file(const std::string& path);

// The same, collapsing errors into one Error ("policy_invalid") for callers that only
// need the policy (reload, tests).
Result<std::shared_ptr<const Policy>> load_policy(const std::string& path);

// Lint warnings for a compiled policy (called by the loader).
std::vector<Diagnostic> lint_policy(const Policy& policy);

}  // namespace bordergate::policy
