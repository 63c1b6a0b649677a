// `bordergate serve` runs the gateway; `bordergate check-config` validates a
// configuration file the way serve and SIGHUP would (including loading the
// certificates and keys), printing file:line:col errors.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "gateway/cli/commands.h"
#include "gateway/config/config_loader.h"
#include "gateway/enforcement/pinned_keys_file.h"
#include "gateway/enforcement/policy_file.h"
#include "gateway/proxy/outbound_services.h"
#include "gateway/proxy/runtime.h"
#include "gateway/proxy/server.h"

namespace bordergate::cli {

namespace {

// Validates a configuration file the way serve and SIGHUP would: 0 when it loads, 1 with
// file:line:col errors when not.
int check_config(const std::string& file) {
  ConfigLoadResult loaded = load_config_file(file);
  if (!loaded.errors.empty()) {
    for (const ConfigError& e : loaded.errors)
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return loaded.unreadable ? 2 : 1;  // nothing to check is an input error, not a finding
  }
  if (!loaded.config->policy.empty()) {
    enforcement::PolicyFile policy_file = enforcement::load_policy_file(loaded.config->policy);
    auto policy = enforcement::load_policy_for(policy_file, loaded.config->server_name);
    if (!policy) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), policy.error().message.c_str());
      return 1;
    }
  }
  // Pinned keys are read by the key store at start; check them here too.
  if (auto pins = enforcement::load_pinned_keys(loaded.config->keys); !pins) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), pins.error().message.c_str());
    return 1;
  }
  auto rt = build_runtime(loaded.config);
  if (!rt) {
    // Errors from certificates and keys name their entry as file:line:col.
    const std::string& m = rt.error().message;
    if (m.rfind(file + ":", 0) == 0)
      std::fprintf(stderr, "%s\n", m.c_str());
    else
      std::fprintf(stderr, "%s: %s\n", file.c_str(), m.c_str());
    return 1;
  }
  if (loaded.config->inbound_enforcement == Config::InboundEnforcement::pass_through) {
    std::fprintf(stderr,
                 "%s: warning: inbound_enforcement: pass_through: federation requests will be "
                 "forwarded unchecked\n",
                 file.c_str());
  }
  if (loaded.config->outbound != nullptr) {
    // The interception CA and the proxy credentials, loaded exactly as serve loads them.
    auto outbound = build_outbound_services(*loaded.config);
    if (!outbound) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), outbound.error().message.c_str());
      return 1;
    }
  }
  std::printf("%s: OK\n", file.c_str());
  return 0;
}

void add_check_config(CLI::App& parent, const char* name, const char* description) {
  auto file = std::make_shared<std::string>();
  CLI::App* check = parent.add_subcommand(name, description);
  check->add_option("file,--config,-c", *file, "Configuration file (YAML)")->required();
  check->callback([file] { exit_status() = check_config(*file); });
}

}  // namespace

void register_serve_commands(CLI::App& app) {
  auto config = std::make_shared<std::string>();
  CLI::App* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("--config,-c", *config, "Configuration file (YAML)")->required();
  serve->callback([config] {
    Server server(*config);
    exit_status() = server.run();
  });

  // `config check` beside `policy check`; `check-config` stays as the older name.
  add_check_config(app, "check-config", "Validate a configuration file (also: config check)");
  CLI::App* config_group = app.add_subcommand("config", "Configuration files");
  config_group->require_subcommand(1);
  add_check_config(*config_group, "check", "Validate a configuration file");
}

}  // namespace bordergate::cli
