// `bordergate audit verify FILE...`: checks the audit log's hash chain over
// one file or a rotated sequence (oldest first) and names the first broken
// record; with --policies, which policies decided over a range of records.
// Exit 0 only when the chain is intact, 1 when broken, 2 on usage or an unreadable file.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/audit/audit_record.h"
#include "gateway/audit/audit_verify.h"
#include "gateway/cli/cli_support.h"
#include "gateway/cli/commands.h"

namespace bordergate::cli {
namespace {

void append_load_json(std::string& out, const audit::PolicyLoad& l) {
  out += "{\"seq\":" + std::to_string(l.seq);
  const std::pair<const char*, const std::string*> members[] = {
      {"time", &l.time},   {"result", &l.result},     {"sha256", &l.sha256},
      {"file", &l.file},   {"revision", &l.revision}, {"trigger", &l.trigger},
      {"actor", &l.actor}, {"reason", &l.reason},     {"note", &l.note}};
  for (const auto& [key, value] : members) {
    if (value->empty()) continue;
    out += ",\"";
    out += key;
    out += "\":";
    audit::append_json_text(out, *value);
  }
  out += '}';
}

void append_policies_json(std::string& out, const audit::PolicySummary& p,
                          const audit::RecordRange& range) {
  out += ",\"policies\":{\"range\":";
  audit::append_json_text(out, range.describe());
  out += ",\"records_in_range\":" + std::to_string(p.records_in_range);
  out += ",\"in_force_at_start\":";
  if (p.in_force_at_start) {
    append_load_json(out, *p.in_force_at_start);
  } else {
    out += "null";
  }
  out += ",\"loads\":[";
  for (std::size_t i = 0; i < p.loads.size(); ++i) {
    if (i) out += ',';
    append_load_json(out, p.loads[i]);
  }
  out += "],\"decisions\":[";
  for (std::size_t i = 0; i < p.decisions.size(); ++i) {
    const audit::PolicyDecisions& d = p.decisions[i];
    if (i) out += ',';
    out += "{\"sha256\":";
    audit::append_json_text(out, d.sha256);
    out += ",\"decisions\":" + std::to_string(d.decisions) +
           ",\"first_seq\":" + std::to_string(d.first_seq) +
           ",\"last_seq\":" + std::to_string(d.last_seq) + ",\"loaded_by\":";
    if (d.loaded_by) {
      append_load_json(out, *d.loaded_by);
    } else {
      out += "null";
    }
    out += '}';
  }
  out += "],\"decisions_without_policy\":" + std::to_string(p.decisions_without_policy) + "}";
}

std::string describe_load(const audit::PolicyLoad& l) {
  std::string out = "seq " + std::to_string(l.seq) + " " + l.time + " " + l.trigger;
  if (!l.actor.empty()) out += " (" + l.actor + ")";
  out += ": " + l.result + " " + (l.sha256.empty() ? std::string("(file unreadable)") : l.sha256);
  out += " " + l.file;
  if (!l.revision.empty()) out += " revision \"" + l.revision + "\"";
  if (l.result != "loaded") out += ": " + l.reason + (l.note.empty() ? "" : ": " + l.note);
  return out;
}

void print_policies_text(const audit::PolicySummary& p, const audit::RecordRange& range) {
  std::printf("policies over %s (%llu records):\n", range.describe().c_str(),
              static_cast<unsigned long long>(p.records_in_range));
  if (p.in_force_at_start) {
    std::printf("  in force at the start: %s\n", describe_load(*p.in_force_at_start).c_str());
  } else {
    std::printf("  in force at the start: none recorded\n");
  }
  for (const audit::PolicyLoad& l : p.loads) std::printf("  %s\n", describe_load(l).c_str());
  std::printf("decisions by policy:\n");
  for (const audit::PolicyDecisions& d : p.decisions) {
    std::printf("  %s: %llu decision(s), seq %llu..%llu", d.sha256.c_str(),
                static_cast<unsigned long long>(d.decisions),
                static_cast<unsigned long long>(d.first_seq),
                static_cast<unsigned long long>(d.last_seq));
    if (d.loaded_by) {
      std::printf(", loaded at seq %llu from %s\n",
                  static_cast<unsigned long long>(d.loaded_by->seq), d.loaded_by->file.c_str());
    } else {
      std::printf(", NOT LOADED in the verified records (an earlier file, or not the gateway's)\n");
    }
  }
  std::printf("  without a policy: %llu decision(s)\n",
              static_cast<unsigned long long>(p.decisions_without_policy));
}

void print_json(const audit::VerifyReport& r, const audit::RecordRange* policies) {
  std::string out = "{\"intact\":";
  out += r.intact ? "true" : "false";
  out += ",\"records\":" + std::to_string(r.records);
  out += ",\"first_seq\":" + std::to_string(r.first_seq);
  out += ",\"last_seq\":" + std::to_string(r.last_seq);
  out += ",\"anchor_prev\":\"" + r.anchor_prev + "\",\"head\":\"" + r.head + "\"";
  if (r.expected_head_found) out += ",\"expected_head_seq\":" + std::to_string(r.expected_head_seq);
  if (!r.intact) {
    out += ",\"file\":";
    audit::append_json_text(out, r.file);
    out += ",\"line\":" + std::to_string(r.line) + ",\"seq\":" + std::to_string(r.seq);
    out += ",\"problem\":\"" + r.problem + "\",\"detail\":";
    audit::append_json_text(out, r.detail);
  }
  out += ",\"notes\":[";
  for (size_t i = 0; i < r.notes.size(); ++i) {
    if (i) out += ',';
    audit::append_json_text(out, r.notes[i]);
  }
  out += "]";
  if (policies != nullptr) append_policies_json(out, r.policies, *policies);
  out += "}\n";
  std::fputs(out.c_str(), stdout);
}

void print_text(const audit::VerifyReport& r) {
  for (const std::string& note : r.notes) std::printf("note: %s\n", note.c_str());
  if (r.intact) {
    std::printf("OK: %llu records, seq %llu..%llu, head %s\n",
                static_cast<unsigned long long>(r.records),
                static_cast<unsigned long long>(r.first_seq),
                static_cast<unsigned long long>(r.last_seq), r.head.c_str());
    if (r.anchor_prev != audit::kGenesisPrev) {
      std::printf(
          "note: the chain starts mid-way at seq %llu; its prev %s must be the head of "
          "the previous file\n",
          static_cast<unsigned long long>(r.first_seq), r.anchor_prev.c_str());
    }
    if (r.expected_head_found) {
      std::printf("expected head: seq %llu, %llu record(s) after it\n",
                  static_cast<unsigned long long>(r.expected_head_seq),
                  static_cast<unsigned long long>(r.last_seq - r.expected_head_seq));
    }
    return;
  }
  std::printf("BROKEN: %s:%llu: seq %llu: %s: %s\n", r.file.c_str(),
              static_cast<unsigned long long>(r.line), static_cast<unsigned long long>(r.seq),
              r.problem.c_str(), r.detail.c_str());
  if (r.records > 0) {
    std::printf("intact before it: %llu records, seq %llu..%llu\n",
                static_cast<unsigned long long>(r.records),
                static_cast<unsigned long long>(r.first_seq),
                static_cast<unsigned long long>(r.last_seq));
  }
}

}  // namespace

void register_audit_commands(CLI::App& app) {
  CLI::App* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  struct Args {
    std::vector<std::string> files;
    bool json = false;
    bool continued = false;
    std::string expect_head;
    bool policies = false;
    std::optional<std::uint64_t> from_seq, to_seq;
    std::string since, until;
  };
  auto args = std::make_shared<Args>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the hash chain of audit files (rotated files oldest first)");
  verify->add_option("files", args->files, "Audit log files, in chain order")->required();
  verify->add_flag("--json", args->json, "Print the report as one JSON object");
  verify->add_flag("--continued", args->continued,
                   "The first file may start mid-chain (a rotated file verified alone)");
  verify->add_option("--expect-head", args->expect_head,
                     "A head recorded earlier (SHA-256 of a line): it must be a record of the "
                     "chain, which may have grown since");
  verify->add_flag("--policies", args->policies,
                   "Also report which policies decided (their SHA-256 digests, when and by whom "
                   "they were loaded, decisions per policy) over the records selected below");
  verify->add_option("--from-seq", args->from_seq, "First record of the policy report (seq)");
  verify->add_option("--to-seq", args->to_seq, "Last record of the policy report (seq)");
  verify->add_option("--since", args->since,
                     "Records at or after this UTC time (2026-12-01, 2026-12-01T10:00Z, ...)");
  verify->add_option("--until", args->until,
                     "Records at or before this UTC time (a day or minute includes all of it)");
  verify->callback([args] {
    audit::VerifyOptions options;
    options.require_genesis = !args->continued;
    options.expect_head = args->expect_head;
    auto range = record_range(args->from_seq, args->to_seq, args->since, args->until);
    if (!range) {
      std::fprintf(stderr, "error: %s\n", range.error().message.c_str());
      exit_status() = 2;
      return;
    }
    options.range = *range;
    if (options.range.bounded() && !args->policies) {
      std::fprintf(stderr,
                   "error: --from-seq, --to-seq, --since and --until select the records "
                   "of the policy report: add --policies\n");
      exit_status() = 2;
      return;
    }
    audit::VerifyReport report = audit::verify_files(args->files, options);
    if (args->json) {
      print_json(report, args->policies ? &options.range : nullptr);
    } else {
      print_text(report);
      if (args->policies) print_policies_text(report.policies, options.range);
    }
    // A file that cannot be read is an input error; anything else not intact is a finding.
    exit_status() = report.intact ? 0 : report.problem == "unreadable" ? 2 : 1;
  });
}

}  // namespace bordergate::cli
