// `policy diff OLD NEW`: a semantic diff. It reports which peers gained or lost which
// capabilities (endpoints, event types, EDU types, media, limits, checks), found by probing
// both policies with the same requests, then which rules were added, removed or changed.
#pragma once

#include <string>

#include "policy/policy.h"

namespace bordergate::policy {

struct PolicyDiff {
  int gained = 0;   // capabilities a peer did not have and now has
  int lost = 0;     // capabilities a peer had and no longer has
  int changed = 0;  // other changes (report <-> allow, settings, rules)
  std::string text;
  bool empty() const { return gained == 0 && lost == 0 && changed == 0; }
};

PolicyDiff diff_policies(const Policy& old_policy, const Policy& new_policy);

// One line describing a rule completely, used to spot changed rules.
std::string rule_fingerprint(const Policy& p, const Rule& r);

}  // namespace bordergate::policy
