#include "gateway/enforcement/policy_file.h"

#include <pwd.h>

#include <fstream>
#include <vector>

#include "gateway/audit/audit_chain.h"

namespace bordergate::enforcement {
namespace {

void read_failure(PolicyFile& f, std::string code, std::string message) {
  f.output.diagnostics.push_back(
      {policy::Diagnostic::Severity::error, std::move(code), std::move(message), {f.path, 0, 0}});
}

}  // namespace

PolicyFile load_policy_file(const std::string& path) {
  PolicyFile f;
  f.path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    read_failure(f, "cannot_read", "cannot open the policy file");
    return f;
  }
  std::string text;
  std::vector<char> chunk(64 * 1024);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxPolicyFileBytes) {
      read_failure(
          f, "too_large",
          "the policy file is larger than " + std::to_string(kMaxPolicyFileBytes >> 20) + " MiB");
      return f;
    }
  }
  if (in.bad()) {
    read_failure(f, "cannot_read", "reading the policy file failed");
    return f;
  }
  f.sha256 = audit::sha256_hex(text);
  f.output = policy::load_policy_text(text, path, f.sha256);
  return f;
}

Result<std::shared_ptr<const policy::Policy>> load_policy_for(const PolicyFile& file,
                                                              const std::string& server_name) {
  if (!file.output.ok())
    return make_error("policy_invalid", "policy: " + policy::error_summary(file.output));
  if (file.output.policy->server_name != server_name) {
    return make_error("policy_server_name", "policy " + file.path + " is written for '" +
                                                file.output.policy->server_name +
                                                "', the gateway serves '" + server_name + "'");
  }
  return file.output.policy;
}

audit::AuditRecord policy_load_record(const PolicyLoadEvent& e) {
  audit::AuditRecord r;
  r.type = "policy_load";
  r.trigger = e.trigger;
  r.actor = e.actor;
  r.policy_file = e.file;
  r.policy_sha256 = e.sha256;
  r.policy_revision = e.revision;
  r.action = e.loaded ? "loaded" : "refused";
  r.reason = e.reason;
  r.note = e.error;
  return r;
}

std::string describe_uid(unsigned uid) {
  std::string out = "uid " + std::to_string(uid);
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(static_cast<uid_t>(uid), &pw, buf, sizeof buf, &found) == 0 && found != nullptr)
    out += " (" + std::string(found->pw_name) + ")";
  return out;
}

std::string describe_pid(int pid) {
  std::string out = "pid " + std::to_string(pid);
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (pid > 0 && std::getline(comm, name) && !name.empty()) out += " (" + name + ")";
  return out;
}

}  // namespace bordergate::enforcement
