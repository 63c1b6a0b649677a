#include "gateway/outbound/connect_record.h"

namespace bordergate::outbound {

audit::AuditRecord proxy_audit_record(const ProxyDecisionFacts& f) {
  audit::AuditRecord r;
  r.direction = "outbound";
  // The Core is the requesting side; there is no authenticated X-Matrix origin at CONNECT time.
  r.remote_addr = std::string(f.client_ip);
  r.method = std::string(f.method);
  r.endpoint = std::string(f.endpoint);
  if (f.parsed != nullptr) {
    r.destination = f.parsed->matrix_server_name();
    r.server_name = f.parsed->name.authority();
  } else {
    // An unparsable target is evidence too, but bounded: a Core bug must not bloat the log.
    r.server_name = std::string(f.target.substr(0, 255));
  }
  r.origin = std::string(f.origin);
  if (!f.destination.empty()) r.destination = std::string(f.destination);
  r.note = std::string(f.note);
  r.action = f.allowed ? "forward" : "deny";
  r.rule_id = std::string(f.rule_id);
  r.reason = std::string(f.reason);
  r.policy_sha256 = std::string(f.policy_sha256);
  if (f.status != 0) r.status = f.status;
  if (f.latency) {
    r.latency_us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(*f.latency).count());
  }
  return r;
}

}  // namespace bordergate::outbound
