// `bordergate audit verify FILE...`: checks the audit log's hash chain over
// one file or a rotated sequence (oldest first) and names the first broken
// record. Exit 0 only when the chain is intact, 1 when broken, 2 on usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "gateway/audit/audit_record.h"
#include "gateway/audit/audit_verify.h"
#include "gateway/cli/commands.h"

namespace bordergate::cli {
namespace {

void print_json(const audit::VerifyReport& r) {
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
  out += "]}\n";
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
  verify->callback([args] {
    audit::VerifyOptions options;
    options.require_genesis = !args->continued;
    options.expect_head = args->expect_head;
    audit::VerifyReport report = audit::verify_files(args->files, options);
    if (args->json) {
      print_json(report);
    } else {
      print_text(report);
    }
    exit_status() = report.intact ? 0 : 1;
  });
}

}  // namespace bordergate::cli
