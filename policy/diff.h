// `policy diff OLD NEW`: a semantic diff. It reports which peers gained or lost which
// capabilities (endpoints, event types, EDU types, media, limits, checks), found by probing
// both policies with the same requests, then which rules were added, removed or changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/model.h"
#include "policy/policy.h"

namespace bordergate::policy {

// What one policy answered a probe: the action and the deciding rule.
struct ProbeVerdict {
  Action action = Action::deny;
  std::string rule_id;
};

// One probe whose answer differs, or one setting.
struct DiffChange {
  enum class Kind : std::uint8_t { gained, lost, changed };
  Kind kind = Kind::changed;
  std::string what;           // "inbound publicRooms", "outbound limits", "membership"
  std::string before, after;  // "deny (opendesk-no-directory)", a settings line, a membership
  // For a changed verdict, the answers before and after; nullopt for settings and membership.
  std::optional<std::pair<ProbeVerdict, ProbeVerdict>> verdicts;
};

// The changes seen from one peer probe.
struct PeerDiff {
  std::string peer;    // "federation opendesk", "any other server" ...
  std::string server;  // the server asked, or "no X-Matrix"
  std::vector<DiffChange> changes;
};

struct RuleDiff {
  enum class Kind : std::uint8_t { added, removed, changed };
  Kind kind = Kind::changed;
  std::string id;
  std::string before, after;  // rule_fingerprint(); empty for the side it is missing from
};

struct PolicyDiff {
  int gained = 0;   // capabilities a peer did not have and now has
  int lost = 0;     // capabilities a peer had and no longer has
  int changed = 0;  // other changes (report <-> allow, settings, rules)
  std::vector<PeerDiff> peers;
  std::optional<std::pair<Action, Action>> default_action;  // when it changed
  std::vector<RuleDiff> rules;
  std::string text;
  bool empty() const { return gained == 0 && lost == 0 && changed == 0; }
};

PolicyDiff diff_policies(const Policy& old_policy, const Policy& new_policy);

// The same diff as one JSON object: peers with their changes, the default action, the rules,
// and the counts of the summary line.
std::string diff_json(const PolicyDiff& diff);

// One line describing a rule completely, used to spot changed rules.
std::string rule_fingerprint(const Policy& p, const Rule& r);

}  // namespace bordergate::policy
