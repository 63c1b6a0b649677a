// Reload: everything expensive (I/O, YAML, compiling patterns, lint) happens before the
// single atomic store, so readers never wait on it.
#include "policy/store.h"

namespace bordergate::policy {

PolicyStore::PolicyStore(std::shared_ptr<const Policy> initial) : current_(std::move(initial)) {}

void PolicyStore::replace(std::shared_ptr<const Policy> next) {
  current_.store(std::move(next), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

Result<PolicyStore::ReloadOutcome> PolicyStore::reload(const std::string& path) {
  std::lock_guard<std::mutex> lock(reload_mutex_);
  LoadOutput out = load_policy_file(path);
  if (!out.ok()) {
    std::string first;
    for (const Diagnostic& d : out.diagnostics) {
      if (d.severity == Diagnostic::Severity::error) {
        first = d.to_string();
        break;
      }
    }
    return make_error("policy_reload_rejected",
                      "the new policy has " + std::to_string(out.error_count()) +
                          " error(s); the previous policy stays in force: " + first);
  }
  replace(std::move(out.policy));
  return ReloadOutcome{true, std::move(out.diagnostics)};
}

}  // namespace bordergate::policy
