// Process-wide state of inbound enforcement, shared by every worker and kept across config
// reloads: the policy in force (PolicyStore, swapped on SIGHUP), the per-origin rate limiter,
// the room versions learnt from traffic and the evidence. Server keys are not here: the phases
// use the process-wide, fetching key store of gateway/proxy/federation.h (through PhaseEnv).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/audit/audit_log.h"
#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/enforcement/metrics.h"
#include "gateway/enforcement/room_members.h"
#include "gateway/enforcement/room_versions.h"
#include "gateway/matrix/room_version.h"
#include "gateway/quarantine/quarantine_store.h"
#include "policy/rate_limiter.h"
#include "policy/store.h"

namespace bordergate::enforcement {

struct EnforcementServices {
  std::string server_name;
  std::string policy_path;
  std::unique_ptr<policy::PolicyStore> policy;
  policy::RateLimiter rate_limiter;
  std::unique_ptr<RoomVersions> room_versions;  // <state_dir>/room_versions.db
  std::unique_ptr<RoomMembers> room_members;    // <state_dir>/room_members.db
  // Evidence: one audit record per decision; transactions held back by policy.
  std::unique_ptr<audit::AuditLog> audit;
  // While the audit log cannot take records: refuse new work (503) or forward it anyway (every
  // lost record then accounted for by a gap line). config audit.on_failure.
  bool audit_fail_closed = true;
  std::unique_ptr<quarantine::QuarantineStore> quarantine;
  EnforcementMetrics metrics;
};

// Loads the policy named by config.policy, opens the audit log (config.audit) and the quarantine
// store (config.quarantine). The policy's server_name must equal the config's.
Result<std::unique_ptr<EnforcementServices>> build_enforcement_services(const Config& config);

// Prometheus text of the decision counters, the audit writer and the quarantine store (its
// stats are one SQL query: call from the admin thread, not a worker loop).
std::string evidence_metrics(EnforcementServices& services);

}  // namespace bordergate::enforcement
