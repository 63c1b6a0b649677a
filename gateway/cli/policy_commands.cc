// `bordergate policy check|explain|test|diff|report`: the auditor's toolkit. Each command
// is a thin shell over bg_policy; exit status 0 = fine, 1 = findings (errors, failed tests,
// coverage below a threshold, differences with --exit-code), 2 = the command could not run
// (unreadable file ...). check, test and diff also speak JSON (and test JUnit XML) for CI.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/cli/cli_support.h"
#include "gateway/cli/commands.h"
#include "gateway/enforcement/policy_file.h"
#include "policy/check_report.h"
#include "policy/coverage.h"
#include "policy/diff.h"
#include "policy/evaluate.h"
#include "policy/explain.h"
#include "policy/report.h"
#include "policy/test_report.h"
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

struct CheckArgs {
  std::string file;
  std::string format = "text";
  std::string output;
};

struct ExplainArgs {
  std::string file;
  pol::RequestSketch sketch;
  std::string origin;
  std::vector<std::string> room_servers;
  bool json = false;
};

struct TestArgs {
  std::string file;
  std::string tests;
  std::string format = "text";
  std::string output;
  bool coverage = false;
  std::optional<double> min_coverage;
  std::optional<double> min_condition_coverage;
};

struct DiffArgs {
  std::string old_file;
  std::string new_file;
  bool exit_code = false;
  std::string format = "text";
  std::string output;
};

struct ReportArgs {
  std::string file;
  std::string format = "md";
  std::string output;
};

void register_check(CLI::App& policy) {
  auto args = std::make_shared<CheckArgs>();
  auto* check = policy.add_subcommand("check", "Validate a policy file: errors and warnings");
  check->add_option("FILE", args->file, "policy file")->required();
  check->add_option("--format", args->format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  check->add_option("-o,--output", args->output, "write to this file instead of stdout");
  check->callback([args] {
    // Read as the gateway reads it: the digest printed is the one the audit chain will name.
    enforcement::PolicyFile read = enforcement::load_policy_file(args->file);
    const pol::LoadOutput& out = read.output;
    const std::string text = args->format == "json"
                                 ? pol::check_json(args->file, out, read.sha256)
                                 : pol::check_text(args->file, out, read.sha256);
    const bool unreadable = read.sha256.empty();
    exit_status() = out.ok() ? 0 : (unreadable ? 2 : 1);
    write_output(text, args->output);
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
  auto args = std::make_shared<TestArgs>();
  auto* cmd = policy.add_subcommand("test", "Run a table of expected decisions");
  cmd->add_option("FILE", args->file, "policy file")->required();
  cmd->add_option("TESTS", args->tests, "tests file (YAML)")->required();
  cmd->add_option("--format", args->format, "text, json or junit (JUnit XML)")
      ->check(CLI::IsMember({"text", "json", "junit"}));
  cmd->add_option("-o,--output", args->output, "write to this file instead of stdout");
  cmd->add_flag("--coverage", args->coverage,
                "report the rules, conditions and settings entries the tests reach");
  cmd->add_option("--min-coverage", args->min_coverage,
                  "exit 1 when fewer than PCT percent of the rules are exercised (implies "
                  "--coverage)")
      ->type_name("PCT")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--min-condition-coverage", args->min_condition_coverage,
                  "exit 1 when fewer than PCT percent of the rules' conditions are covered "
                  "(implies --coverage)")
      ->type_name("PCT")
      ->check(CLI::Range(0.0, 100.0));
  cmd->callback([args] {
    auto p = load_or_report(args->file);
    if (!p) {
      exit_status() = 2;
      return;
    }
    auto tests = pol::load_policy_tests(args->tests);
    if (!tests.ok()) {
      std::cerr << "error: " << tests.error().message << "\n";
      exit_status() = 2;
      return;
    }
    const pol::PolicyTestRun run = pol::run_policy_tests(*p, *tests);
    std::optional<pol::PolicyCoverage> coverage;
    if (args->coverage || args->min_coverage || args->min_condition_coverage) {
      coverage = pol::policy_coverage(*p, run);
    }
    pol::TestReport report{*p, args->tests, run, coverage ? &*coverage : nullptr, {}};
    if (coverage) {
      report.thresholds =
          pol::coverage_thresholds(*coverage, args->min_coverage, args->min_condition_coverage);
    }
    bool below = false;
    for (const pol::CoverageThreshold& t : report.thresholds) below = below || !t.met();
    exit_status() = run.failed == 0 && !below ? 0 : 1;

    std::string text;
    if (args->format == "json") {
      text = pol::test_report_json(report);
    } else if (args->format == "junit") {
      text = pol::test_report_junit(report);
    } else {
      text = run.output;
      if (coverage) text += pol::coverage_text(*p, *coverage, report.thresholds);
    }
    if (!write_output(text, args->output)) return;
    // A threshold missed is in the report; say it on stderr too when the report is not the text
    // on the terminal, so a CI log shows why the job failed.
    if (args->format != "text" || !args->output.empty()) {
      for (const pol::CoverageThreshold& t : report.thresholds) {
        if (t.met()) continue;
        std::cerr << "policy test: coverage of " << t.metric << " "
                  << pol::coverage_percent_text(t.actual) << " is below " << t.option << " "
                  << t.required << "%\n";
      }
    }
  });
}

void register_diff(CLI::App& policy) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = policy.add_subcommand("diff", "Semantic diff: which peers gained or lost what");
  cmd->add_option("OLD", args->old_file, "the policy in force")->required();
  cmd->add_option("NEW", args->new_file, "the proposed policy")->required();
  cmd->add_flag("--exit-code", args->exit_code, "exit 1 when the policies differ");
  cmd->add_option("--format", args->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("-o,--output", args->output, "write to this file instead of stdout");
  cmd->callback([args] {
    auto a = load_or_report(args->old_file);
    auto b = load_or_report(args->new_file);
    if (!a || !b) {
      exit_status() = 2;
      return;
    }
    pol::PolicyDiff d = pol::diff_policies(*a, *b);
    exit_status() = (args->exit_code && !d.empty()) ? 1 : 0;
    write_output(args->format == "json" ? pol::diff_json(d) : d.text, args->output);
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
    write_output(text, args->output);
  });
}

}  // namespace

void register_policy_commands(CLI::App& app) {
  auto* policy = app.add_subcommand("policy", "The auditor's toolkit for policy files");
  policy->require_subcommand(1);
  register_check(*policy);
  register_explain(*policy);
  register_test(*policy);
  register_diff(*policy);
  register_report(*policy);
  register_policy_replay(*policy);
}

}  // namespace bordergate::cli
