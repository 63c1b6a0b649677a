// Command families of the `bordergate` binary. Each family registers its
// subcommands on the shared CLI11 app; main.cc only wires them together.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace bordergate::cli {

// serve, check-config (the proxy).
void register_serve_commands(CLI::App& app);
// json, event, xmatrix, keys verify (the Matrix signing toolbox).
void register_matrix_commands(CLI::App& app);
// event check (PDU hashes, ids and signatures); called by register_matrix_commands.
void register_event_commands(CLI::App& app);
// policy check|explain|test|diff|report|replay (the auditor's toolkit).
void register_policy_commands(CLI::App& app);
// policy replay (an audit log against a proposed policy); called by register_policy_commands
// with the `policy` group.
void register_policy_replay(CLI::App& policy);

// audit verify (the audit log's hash chain).
void register_audit_commands(CLI::App& app);
// quarantine list|show|release|drop (the security team's review).
void register_quarantine_commands(CLI::App& app);
// discover, keys fetch (server discovery and key fetching); after register_matrix_commands.
void register_keys_commands(CLI::App& app);

// completion bash, man (generated from the whole command tree: register last).
void register_doc_commands(CLI::App& app, const std::string& version);

// Exit status a subcommand callback leaves for main() to return.
int& exit_status();

}  // namespace bordergate::cli
