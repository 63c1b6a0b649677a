// `bordergate policy replay AUDIT_LOG... NEW_POLICY`: every policy decision recorded in the
// audit log (rotated files oldest first, or a range of records) evaluated again under a
// proposed policy, and what would change. The chain is verified while it is read: records
// after a break are not replayed, and the output says so.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/audit/audit_verify.h"
#include "gateway/audit/record_range.h"
#include "gateway/cli/cli_support.h"
#include "gateway/cli/commands.h"
#include "gateway/enforcement/facts_json.h"
#include "gateway/enforcement/policy_file.h"
#include "gateway/matrix/json.h"
#include "policy/replay.h"

namespace bordergate::cli {
namespace {

namespace pol = bordergate::policy;

struct ReplayArgs {
  std::vector<std::string> files;  // audit files..., then the proposed policy
  std::string format = "text";
  std::string output;
  bool continued = false;
  bool exit_code = false;
  std::size_t max_changes = 10000;
  std::optional<std::uint64_t> from_seq, to_seq;
  std::string since, until;
};

// Why a decision record without facts cannot be replayed, in a few stable words.
std::string why_not_replayable(const matrix::Json& record, const audit::ChainFields& fields) {
  const matrix::Json* e = record.find("endpoint");
  const std::string* endpoint = e != nullptr ? e->string_if() : nullptr;
  if (endpoint != nullptr &&
      (*endpoint == "connect" || *endpoint == "tunnel" || *endpoint == "direct")) {
    return "proxy admission (CONNECT, tunnel gate): judged with the egress list and SNI, not "
           "replayed";
  }
  if (fields.note.find("record too large") != std::string::npos)
    return "record too large: its facts were left out";
  if (fields.policy_sha256.empty())
    return "decided without a policy (pass-through, or before this version)";
  return "decided before the policy was consulted: " +
         (fields.reason.empty() ? std::string("no reason recorded") : fields.reason);
}

pol::ReplayRecord to_replay_record(const matrix::Json& record, const audit::ChainFields& fields) {
  pol::ReplayRecord r;
  r.seq = fields.seq;
  r.time = fields.time;
  r.recorded_policy = fields.policy_sha256;
  const matrix::Json* facts = record.find("facts");
  if (facts == nullptr) {
    r.not_replayable = why_not_replayable(record, fields);
    return r;
  }
  auto parsed = enforcement::facts_from_json(*facts);
  if (!parsed) {
    r.not_replayable = "facts unreadable: " + parsed.error().message;
    return r;
  }
  r.facts = std::move(parsed->facts);
  r.action = parsed->action;
  r.rule = parsed->rule;
  r.reason = parsed->reason;
  if (r.facts->room_servers && parsed->room_servers_total > r.facts->room_servers->size()) {
    r.caveat = "room membership recorded in part (first " +
               std::to_string(enforcement::kMaxRecordedRoomServers) + " servers)";
  }
  return r;
}

int run_replay(const ReplayArgs& args) {
  if (args.files.size() < 2) {
    std::cerr << "error: give the audit log (rotated files oldest first) and then the proposed "
                 "policy\n";
    return 2;
  }
  const std::string policy_path = args.files.back();
  const std::vector<std::string> logs(args.files.begin(), args.files.end() - 1);
  auto selected = record_range(args.from_seq, args.to_seq, args.since, args.until);
  if (!selected) {
    std::cerr << "error: " << selected.error().message << "\n";
    return 2;
  }
  const audit::RecordRange& range = *selected;
  enforcement::PolicyFile file = enforcement::load_policy_file(policy_path);
  for (const pol::Diagnostic& d : file.output.diagnostics) {
    if (d.severity == pol::Diagnostic::Severity::error) std::cerr << d.to_string() << "\n";
  }
  if (!file.output.ok()) {
    std::cerr << policy_path << ": the proposed policy has errors; nothing replayed\n";
    return 2;
  }

  pol::Replayer replayer(*file.output.policy, policy_path, args.max_changes);
  audit::VerifyOptions options;
  options.require_genesis = !args.continued;
  audit::ChainVerifier verifier(options);
  bool intact = true;
  std::uint64_t skipped_after_break = 0;
  for (const std::string& path : logs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << "error: cannot open " << path << "\n";
      return 2;
    }
    verifier.begin_file(path);
    std::string line;
    bool ended = false;
    while (std::getline(in, line)) {
      if (in.eof()) {  // no newline: torn or truncated
        intact = verifier.end_file(line) && intact;
        ended = true;
        break;
      }
      // One parse per line: the verifier checks the chain fields, the replay reads the rest.
      const Result<matrix::Json> json = audit::parse_record_line(line);
      const Result<audit::ChainFields> fields = audit::chain_fields(json);
      if (intact && !verifier.add_record(line, fields)) intact = false;
      if (!fields || fields->type != "decision" || !range.contains(fields->seq, fields->time)) {
        continue;
      }
      if (!intact) {
        ++skipped_after_break;  // evidence that does not verify is not replayed
        continue;
      }
      replayer.add(to_replay_record(*json, *fields));
    }
    if (!ended && intact) intact = verifier.end_file({});
  }
  audit::VerifyReport chain = verifier.finish();

  std::vector<std::string> context;
  std::string files;
  for (const std::string& l : logs) files += (files.empty() ? "" : ", ") + l;
  context.push_back("audit log: " + files + ", " + range.describe());
  if (chain.intact) {
    context.push_back("chain intact: " + std::to_string(chain.records) + " records, seq " +
                      std::to_string(chain.first_seq) + ".." + std::to_string(chain.last_seq) +
                      ", head " + chain.head);
  } else {
    context.push_back("CHAIN BROKEN at " + chain.file + ":" + std::to_string(chain.line) + " (" +
                      chain.problem + ": " + chain.detail + "): " +
                      std::to_string(skipped_after_break) + " decision(s) after it not replayed");
  }
  const pol::ReplayReport& report = replayer.report();
  const std::string text = args.format == "json"   ? pol::replay_json(report, context)
                           : args.format == "html" ? pol::replay_html(report, context)
                                                   : pol::replay_text(report, context);
  if (!write_output(text, args.output)) return 2;
  if (!chain.intact) return 1;
  return args.exit_code && report.changed > 0 ? 1 : 0;
}

}  // namespace

void register_policy_replay(CLI::App& policy) {
  auto args = std::make_shared<ReplayArgs>();
  auto* cmd = policy.add_subcommand(
      "replay", "Re-evaluate the decisions of an audit log under a proposed policy");
  cmd->add_option("AUDIT_LOG... NEW_POLICY", args->files,
                  "audit log files (rotated ones oldest first), then the proposed policy")
      ->required();
  cmd->add_option("--format", args->format, "text, json or html")
      ->check(CLI::IsMember({"text", "json", "html"}));
  cmd->add_option("-o,--output", args->output, "write to this file instead of stdout");
  cmd->add_flag("--continued", args->continued,
                "the first file may start mid-chain (a rotated file replayed alone)");
  cmd->add_flag("--exit-code", args->exit_code, "exit 1 when any decision's outcome changes");
  cmd->add_option("--max-changes", args->max_changes,
                  "list at most this many changed decisions (all are counted)");
  cmd->add_option("--from-seq", args->from_seq, "first record to replay (seq)");
  cmd->add_option("--to-seq", args->to_seq, "last record to replay (seq)");
  cmd->add_option("--since", args->since, "records at or after this UTC time (2026-12-01, ...)");
  cmd->add_option("--until", args->until,
                  "records at or before this UTC time (a day or minute includes all of it)");
  cmd->callback([args] { exit_status() = run_replay(*args); });
}

}  // namespace bordergate::cli
