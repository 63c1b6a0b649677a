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

// `sha256` is the digest of `yaml` as its reader computed it (Policy::sha256). Reading policy
// files and digesting them is the gateway's (gateway/enforcement/policy_file.h): policy/ links
// no cryptography.
LoadOutput load_policy_text(std::string_view yaml, std::string source_name,
                            std::string sha256 = {});

// The errors of a failed load in one line (the first three, "and N more"), for log lines and
// refusals.
std::string error_summary(const LoadOutput& out);

// Lint warnings for a compiled policy (called by the loader).
std::vector<Diagnostic> lint_policy(const Policy& policy);

}  // namespace bordergate::policy
