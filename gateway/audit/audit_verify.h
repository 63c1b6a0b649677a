// Verification of audit files: walks one or more files in order as a single
// chain and reports the first record that breaks it. The files are untrusted
// input (an attacker may have edited them), so the walk is strict and bounded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/audit/audit_chain.h"
#include "gateway/audit/record_range.h"

namespace bordergate::audit {

struct VerifyOptions {
  // Require the first file to start the chain (seq 0 chain_start). Without it
  // a rotated file may start mid-chain: its first prev is taken on trust and
  // reported as the anchor to check against the previous file.
  bool require_genesis = false;
  // A head (hash of the then last line) recorded elsewhere earlier, e.g. from a
  // previous verify or the gateway's audit_log_closed log event. Set, that
  // line must be a record of the verified chain (the chain may have grown
  // since): that detects records removed up to it and an edit of it.
  std::string expect_head;
  // The records the policy summary covers (the whole chain is verified regardless).
  RecordRange range;
};

// A policy_load record: one attempt to put a policy in force.
struct PolicyLoad {
  std::uint64_t seq = 0;
  std::string time;
  std::string result;  // loaded | refused
  std::string sha256;  // of the file as read; empty when it could not be read
  std::string file;
  std::string revision;
  std::string trigger;  // start | SIGHUP
  std::string actor;
  std::string reason;  // refused: snake_case
  std::string note;    // refused: why
};

// Decisions in the range that carry one policy digest.
struct PolicyDecisions {
  std::string sha256;
  std::uint64_t decisions = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  // The policy_load record that put it in force (the latest one before its first decision in
  // the range); absent when no verified record did: the decisions name a policy the chain does
  // not show being loaded (a rotated-away file, or records not written by a gateway).
  std::optional<PolicyLoad> loaded_by;
};

// Which policies decided over a range of records: what every auditor's question "which policy
// made this decision" resolves to.
struct PolicySummary {
  // The policy in force when the range began (the last one loaded before its first record).
  std::optional<PolicyLoad> in_force_at_start;
  std::vector<PolicyLoad> loads;               // policy_load records in the range, in chain order
  std::vector<PolicyDecisions> decisions;      // per digest, in order of first appearance
  std::uint64_t decisions_without_policy = 0;  // decided without one (pass-through, refusals
                                               // before a policy was consulted)
  std::uint64_t records_in_range = 0;
};

struct VerifyReport {
  bool intact = false;
  std::uint64_t records = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string anchor_prev;  // prev of the first record (kGenesisPrev for a full chain)
  std::string head;         // hash of the last line: store it elsewhere to detect truncation
  bool expected_head_found = false;     // expect_head is the hash of a record of the chain,
  std::uint64_t expected_head_seq = 0;  // this one
  std::vector<std::string> notes;       // recoveries, dropped-record notices
  PolicySummary policies;               // over VerifyOptions::range, up to the first problem
  // The first problem, when !intact.
  std::string file;
  std::uint64_t line = 0;  // 1-based line number within `file`
  std::uint64_t seq = 0;   // seq of the broken record when it could be read
  std::string problem;     // stable code: not_json, bad_seq, bad_prev, seq_mismatch, prev_mismatch,
                           // bad_genesis, truncated, empty, unreadable, head_mismatch
  std::string detail;      // one sentence
};

// Incremental verifier: feed lines of each file in order (the fuzz target and
// verify_files both use it).
class ChainVerifier {
 public:
  explicit ChainVerifier(VerifyOptions options = {}) : options_(options) {}
  void begin_file(std::string name);
  // `line` without its newline. Returns false once the chain is broken.
  bool add_line(std::string_view line) { return add_record(line, parse_chain_fields(line)); }
  // The same for a line its caller has parsed already (chain_fields(parse_record_line(line))).
  bool add_record(std::string_view line, const Result<ChainFields>& fields);
  // The file ended; `trailing` is the bytes after the last newline (a torn or
  // truncated record unless empty).
  bool end_file(std::string_view trailing);
  // Completes the report (an empty input is not intact).
  VerifyReport finish();

 private:
  bool fail(std::string problem, std::string detail, std::uint64_t seq = 0);
  void note_policies(const ChainFields& f);

  VerifyOptions options_;
  VerifyReport report_;
  bool broken_ = false;
  bool started_ = false;
  std::string file_;
  std::uint64_t line_no_ = 0;
  ChainHead head_;
  // A line that was not a record, waiting for the recovery record that names it.
  bool pending_torn_ = false;
  std::uint64_t pending_torn_bytes_ = 0;
  std::uint64_t pending_torn_line_ = 0;
  std::string pending_torn_detail_;
  // Policy bookkeeping: the latest load of each digest, the latest successful one, and where
  // each digest's decisions are in report_.policies.decisions.
  std::map<std::string, PolicyLoad> loads_by_digest_;
  std::optional<PolicyLoad> last_loaded_;
  std::map<std::string, std::size_t> decisions_index_;
  bool range_started_ = false;
};

VerifyReport verify_files(const std::vector<std::string>& paths, const VerifyOptions& options);

}  // namespace bordergate::audit
