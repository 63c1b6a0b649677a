// Entry point of the `bordergate` binary: parses the command line with CLI11 and
// dispatches to the command families (see commands.h). Exit codes, for every command: 0 ok,
// 1 the command found problems (a check, a test, a verify), 2 usage or input errors; CLI11's own
// codes for usage errors (105, 106, 109, ...) are folded into 2.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>

#include "gateway/cli/commands.h"

namespace bordergate::cli {
int& exit_status() {
  static int status = 0;
  return status;
}
}  // namespace bordergate::cli

int main(int argc, char** argv) {
  CLI::App app{"bordergate: a Matrix federation border gateway"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bordergate ") + BG_VERSION);

  app.add_subcommand("version", "Print the version and exit")->callback([] {
    std::printf("bordergate %s\n", BG_VERSION);
  });
  bordergate::cli::register_serve_commands(app);
  bordergate::cli::register_matrix_commands(app);
  bordergate::cli::register_keys_commands(app);
  bordergate::cli::register_policy_commands(app);
  bordergate::cli::register_audit_commands(app);
  bordergate::cli::register_quarantine_commands(app);
  bordergate::cli::register_doc_commands(app, BG_VERSION);

  // A group's options (`quarantine --config X`) are also taken after its subcommand
  // (`quarantine list --config X`).
  std::function<void(CLI::App*)> fall_through = [&fall_through](CLI::App* parent) {
    for (CLI::App* sub : parent->get_subcommands({})) {
      sub->fallthrough();
      fall_through(sub);
    }
  };
  fall_through(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed (0); everything else is a usage error.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return bordergate::cli::exit_status();
}
