// `policy replay`: the policy decisions of an audit log evaluated again under a proposed policy.
// Each decision record keeps the facts the policy evaluated and what it returned (the gateway's
// enforcement/facts_json.h); replay evaluates the same facts under the proposed policy and
// reports what would change: counts per rule and per peer, and every decision whose outcome
// flips (allow -> deny, deny -> allow, -> quarantine, ...). Records that cannot be replayed are
// counted with the reason, never silently skipped. Pure: the caller reads the log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/facts.h"
#include "policy/policy.h"

namespace bordergate::policy {

// One decision record of the log, as the caller read it.
struct ReplayRecord {
  std::uint64_t seq = 0;
  std::string time;
  std::string recorded_policy;  // policy_sha256 of the record ("" = none)
  // Replayable: the facts and the decision the recorded policy returned for them.
  std::optional<RequestFacts> facts;
  std::string action;  // allow | deny | quarantine | report
  std::string rule;
  std::string reason;
  std::string caveat;  // replayed, but with a caveat ("room membership cut to 1000 servers")
  // Not replayable (no facts): why, in a few stable words; counted per reason.
  std::string not_replayable;
};

// A decision whose outcome the proposed policy changes.
struct ReplayChange {
  std::uint64_t seq = 0;
  std::string time;
  std::string direction;
  std::string peer;  // "(unknown origin)" for requests without X-Matrix
  std::string endpoint;
  std::string from_action, from_rule;
  std::string to_action, to_rule, to_reason;
  std::string kind;  // "allow -> deny"; report counts as allow (both forward)
};

struct ReplayReport {
  std::string proposed_file;
  std::string proposed_sha256;
  std::uint64_t decisions = 0;  // decision records in the range
  std::uint64_t replayed = 0;
  std::uint64_t unchanged = 0;        // same outcome and same rule
  std::uint64_t rule_changed = 0;     // same outcome, another rule (or report <-> allow)
  std::uint64_t changed = 0;          // the outcome flips
  std::vector<ReplayChange> changes;  // in chain order, at most max_changes
  std::uint64_t changes_not_listed = 0;
  std::map<std::string, std::uint64_t> kinds;              // "allow -> deny" -> count
  std::map<std::string, std::uint64_t> not_replayable;     // reason -> count
  std::map<std::string, std::uint64_t> caveats;            // caveat -> count
  std::map<std::string, std::uint64_t> recorded_policies;  // digest -> decisions replayed
  struct RuleCount {
    std::uint64_t before = 0;  // replayed decisions the rule made as recorded
    std::uint64_t after = 0;   // ... and under the proposed policy
  };
  std::map<std::string, RuleCount> by_rule;
  struct PeerCount {
    std::uint64_t replayed = 0;
    std::uint64_t changed = 0;
    std::map<std::string, std::uint64_t> kinds;
  };
  std::map<std::string, PeerCount> by_peer;
};

class Replayer {
 public:
  Replayer(const Policy& proposed, std::string proposed_file, std::size_t max_changes = 10000);
  void add(const ReplayRecord& record);
  const ReplayReport& report() const { return report_; }

 private:
  const Policy& proposed_;
  std::size_t max_changes_;
  ReplayReport report_;
};

// "allow", "deny" or "quarantine": what the request's outcome is (report forwards, like allow).
std::string_view outcome_class(std::string_view action);

// Renderings. `context` lines (the log files, the range, the chain's state) head the output.
std::string replay_text(const ReplayReport& report, const std::vector<std::string>& context);
std::string replay_json(const ReplayReport& report, const std::vector<std::string>& context);
// One self-contained page in the style of `policy report` (inline CSS, no scripts).
std::string replay_html(const ReplayReport& report, const std::vector<std::string>& context);

}  // namespace bordergate::policy
