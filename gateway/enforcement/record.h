// The record phase of enforcement, both directions: one audit record per decision (gateway/audit)
// and the per-peer decision counters. Metadata only: never signatures, tokens or bodies.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "gateway/audit/audit_record.h"
#include "gateway/enforcement/judged_request.h"

namespace bordergate::enforcement {

struct RequestOutcome {
  std::string_view method;
  std::string_view client_ip;  // the TCP peer; X-Forwarded-For from outside is never read
  int status = 0;              // what the client was answered (499: it left first)
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::chrono::nanoseconds latency{0};
};

// forward | report | deny | quarantine: what the gateway did with the request.
std::string_view decision_action(const JudgedRequest& r);
// The metric label of the peer: a peer the policy names, "other", or "unknown" (no origin).
std::string_view peer_label(const JudgedRequest& r);

// The one audit record of a request, both directions: from the policy's decision when the phases
// judged it, else from its admission's verdict (r.admission).
audit::AuditRecord audit_record(const JudgedRequest& r, const RequestOutcome& o);

// Submits the audit record of a judged request and counts the decision. Thread-safe.
void record_judged(const JudgedRequest& r, const RequestOutcome& o);

}  // namespace bordergate::enforcement
