// `bordergate policy check|explain|test|diff|report`: the auditor's toolkit. Each command
// is a thin shell over bg_policy; exit status 0 = fine, 1 = findings (errors, failed tests,
// differences with --exit-code), 2 = the command could not run (unreadable file ...).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gateway/cli/commands.h"
#include "gateway/enforcement/policy_file.h"
#include "policy/diff.h"
#include "policy/evaluate.h"
#include "policy/explain.h"
#include "policy/report.h"
#include "policy/test_suite.h"

namespace bordergate::cli {
namespace {

namespace pol = bordergate::policy;

// Loads a policy the way the gateway does (enforcement/policy_file.h: bounded, digested),
// printing its diagnostics to stderr; null when it has errors.
std::shared_ptr<const pol::Policy> load_or_report(const std::string& path) {
  pol::LoadOutput out = enforcement::load_policy_file(path).output;
  for (const pol::Diagnostic& d : out.diagnostics) std::cerr << d.to_string() << "\n";
  if (!out.ok()) {
    std::cerr << path << ": " << out.error_count() << " error(s); the policy was not loaded\n";
  }
  return out.policy;
}

struct ExplainArgs {
  std::string file;
  pol::RequestSketch sketch;
  std::string origin;
  std::vector<std::string> room_servers;
  bool json = false;
};

struct DiffArgs {
  std::string old_file;
  std::string new_file;
  bool exit_code = false;
};

struct ReportArgs {
  std::string file;
  std::string format = "md";
  std::string output;
};

void register_check(CLI::App& policy, std::shared_ptr<std::string> file) {
  auto* check = policy.add_subcommand("check", "Validate a policy file: errors and warnings");
  check->add_option("FILE", *file, "policy file")->required();
  check->callback([file] {
    enforcement::PolicyFile read = enforcement::load_policy_file(*file);
    const pol::LoadOutput& out = read.output;
    for (const pol::Diagnostic& d : out.diagnostics) std::cout << d.to_string() << "\n";
    std::cout << *file << ": " << out.error_count() << " error(s), " << out.warning_count()
              << " warning(s)";
    if (out.ok()) {
      std::cout << "; " << out.policy->federations.size() << " federation(s), "
                << out.policy->rules.size() << " rule(s), " << out.policy->settings.size()
                << " settings entr(y/ies)";
    }
    std::cout << "\n";
    // The digest the audit chain will name for every decision of this file as it is now.
    if (!read.sha256.empty()) std::cout << "sha256 " << read.sha256 << "\n";
    const bool unreadable = read.sha256.empty();
    exit_status() = out.ok() ? 0 : (unreadable ? 2 : 1);
  });
}

void register_explain(CLI::App& policy) {
  auto args = std::make_shared<ExplainArgs>();
  auto* cmd = policy.add_subcommand("explain", "Show the decision for one request and why");
  cmd->add_option("FILE", args->file, "policy file")->required();
  cmd->add_option("--direction", args->sketch.direction, "in|out (inbound or outbound)")
      ->required()
      ->check(CLI::IsMember({"in", "out", "inbound", "outbound"}));
  cmd->add_option("--origin", args->origin,
                  "origin server (inbound; omit for requests without X-Matrix)");
  cmd->add_option("--destination", args->sketch.destination, "destination server (outbound)");
  cmd->add_option("--endpoint", args->sketch.endpoint, "endpoint name, e.g. send, make_join")
      ->required();
  cmd->add_option("--room", args->sketch.room, "room id");
  cmd->add_option("--user", args->sketch.user, "user id (path parameter, PDU/EDU sender)");
  cmd->add_option("--invite-sender", args->sketch.invite_sender, "inviting user (invite)");
  cmd->add_option("--invite-target", args->sketch.invite_target, "invited user (invite)");
  cmd->add_option("--event-type", args->sketch.event_types, "a PDU of this type (repeatable)");
  cmd->add_option("--edu-type", args->sketch.edu_types, "an EDU of this type (repeatable)");
  cmd->add_option("--body-bytes", args->sketch.body_bytes, "request body size");
  cmd->add_option("--media-size", args->sketch.media_size, "media size in bytes");
  cmd->add_option("--media-type", args->sketch.media_type, "media content type");
  cmd->add_option("--room-server", args->room_servers,
                  "a server with a joined member in the room, as the gateway knows the room "
                  "(repeatable; omit: membership unknown)");
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args] {
    auto p = load_or_report(args->file);
    if (!p) {
      exit_status() = 2;
      return;
    }
    pol::RequestSketch sketch = args->sketch;
    if (!args->origin.empty()) sketch.origin = args->origin;
    if (!args->room_servers.empty()) sketch.room_servers = args->room_servers;
    auto facts = pol::facts_from_sketch(sketch, *p);
    if (!facts.ok()) {
      std::cerr << "error: " << facts.error().message << "\n";
      exit_status() = 2;
      return;
    }
    const pol::Decision d = pol::evaluate(*p, *facts);
    std::cout << (args->json ? pol::explain_json(*p, *facts, d) + "\n"
                             : pol::explain_text(*p, *facts, d));
  });
}

void register_test(CLI::App& policy) {
  auto files = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = policy.add_subcommand("test", "Run a table of expected decisions");
  cmd->add_option("FILE", files->first, "policy file")->required();
  cmd->add_option("TESTS", files->second, "tests file (YAML)")->required();
  cmd->callback([files] {
    auto p = load_or_report(files->first);
    if (!p) {
      exit_status() = 2;
      return;
    }
    auto tests = pol::load_policy_tests(files->second);
    if (!tests.ok()) {
      std::cerr << "error: " << tests.error().message << "\n";
      exit_status() = 2;
      return;
    }
    pol::PolicyTestRun run = pol::run_policy_tests(*p, *tests);
    std::cout << run.output;
    exit_status() = run.failed == 0 ? 0 : 1;
  });
}

void register_diff(CLI::App& policy) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = policy.add_subcommand("diff", "Semantic diff: which peers gained or lost what");
  cmd->add_option("OLD", args->old_file, "the policy in force")->required();
  cmd->add_option("NEW", args->new_file, "the proposed policy")->required();
  cmd->add_flag("--exit-code", args->exit_code, "exit 1 when the policies differ");
  cmd->callback([args] {
    auto a = load_or_report(args->old_file);
    auto b = load_or_report(args->new_file);
    if (!a || !b) {
      exit_status() = 2;
      return;
    }
    pol::PolicyDiff d = pol::diff_policies(*a, *b);
    std::cout << d.text;
    exit_status() = (args->exit_code && !d.empty()) ? 1 : 0;
  });
}

void register_report(CLI::App& policy) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = policy.add_subcommand("report", "Capability matrix as Markdown or HTML");
  cmd->add_option("FILE", args->file, "policy file")->required();
  cmd->add_option("--format", args->format, "md or html")->check(CLI::IsMember({"md", "html"}));
  cmd->add_option("-o,--output", args->output, "write to this file instead of stdout");
  cmd->callback([args] {
    auto p = load_or_report(args->file);
    if (!p) {
      exit_status() = 2;
      return;
    }
    const std::string text = pol::capability_report(
        *p, args->format == "html" ? pol::ReportFormat::html : pol::ReportFormat::markdown);
    if (args->output.empty()) {
      std::cout << text;
      return;
    }
    std::FILE* f = std::fopen(args->output.c_str(), "wb");
    if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size()) {
      std::cerr << "error: cannot write " << args->output << "\n";
      exit_status() = 2;
    }
    if (f) std::fclose(f);
  });
}

}  // namespace

void register_policy_commands(CLI::App& app) {
  auto* policy = app.add_subcommand("policy", "The auditor's toolkit for policy files");
  policy->require_subcommand(1);
  register_check(*policy, std::make_shared<std::string>());
  register_explain(*policy);
  register_test(*policy);
  register_diff(*policy);
  register_report(*policy);
  register_policy_replay(*policy);
}

}  // namespace bordergate::cli
