// Entry point of the `bordergate` binary: parses the command line with CLI11 and
// dispatches to the command families (see commands.h).
#include <CLI/CLI.hpp>

#include <cstdio>

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return bordergate::cli::exit_status();
}
