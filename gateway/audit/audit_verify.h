// Verification of audit files: walks one or more files in order as a single
// chain and reports the first record that breaks it. The files are untrusted
// input (an attacker may have edited them), so the walk is strict and bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/audit/audit_chain.h"

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
  bool add_line(std::string_view line);
  // The file ended; `trailing` is the bytes after the last newline (a torn or
  // truncated record unless empty).
  bool end_file(std::string_view trailing);
  // Completes the report (an empty input is not intact).
  VerifyReport finish();

 private:
  bool fail(std::string problem, std::string detail, std::uint64_t seq = 0);

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
};

VerifyReport verify_files(const std::vector<std::string>& paths, const VerifyOptions& options);

}  // namespace bordergate::audit
