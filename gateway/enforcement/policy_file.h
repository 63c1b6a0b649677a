// Reading a policy file the way the gateway does it everywhere (start, reload, check-config and
// the auditor's commands): read once and bounded, digested (SHA-256 of exactly the bytes
// compiled) and compiled from those same bytes. The digest therefore names the policy that
// decides, whatever happens to the file afterwards; it is what `sha256sum FILE` prints for the
// file as it was read, and what the audit chain records (policy_load records, and every decision).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "gateway/audit/audit_record.h"
#include "gateway/common/result.h"
#include "policy/loader.h"

namespace bordergate::enforcement {

inline constexpr std::size_t kMaxPolicyFileBytes = std::size_t{16} << 20;

struct PolicyFile {
  std::string path;
  std::string sha256;         // empty when the file could not be read
  policy::LoadOutput output;  // the policy (null on errors) and every diagnostic; an unreadable
                              // or oversized file is one error diagnostic (cannot_read, too_large)
};
PolicyFile load_policy_file(const std::string& path);

// The policy of `path`, which must be written for `server_name`. Errors, with messages ready for
// an operator: policy_invalid ("policy: " and the diagnostics summed up in one line),
// policy_server_name ("policy FILE is written for ...").
Result<std::shared_ptr<const policy::Policy>> load_policy_for(const PolicyFile& file,
                                                              const std::string& server_name);

// One attempt to put a policy in force, for the audit chain (type policy_load).
struct PolicyLoadEvent {
  std::string trigger;  // "start", "SIGHUP"
  std::string actor;    // who caused it: "pid 4242 (systemctl), uid 0 (root)"
  std::string file;
  std::string sha256;    // of the bytes read; empty when the file could not be read
  std::string revision;  // the policy's own `revision:`, when it loaded
  bool loaded = false;
  std::string reason;  // snake_case, when refused: policy_invalid, policy_server_name, ...
  std::string error;   // one line, when refused
};
audit::AuditRecord policy_load_record(const PolicyLoadEvent& event);

// "uid 998 (bordergate)": a user id with its name when the system knows one.
std::string describe_uid(unsigned uid);
// "pid 4242 (systemctl)": a process with its command name while it still runs.
std::string describe_pid(int pid);

}  // namespace bordergate::enforcement
