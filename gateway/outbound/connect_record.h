// The audit record of one proxy decision: a CONNECT admitted or refused, a tunnel closed by the
// ClientHello/SNI gate, an inner request refused by the tunnel binding. One record per decision,
// into the server's AuditLog; metadata only (never Proxy-Authorization or Authorization values).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/audit/audit_record.h"
#include "gateway/outbound/connect_admission.h"

namespace bordergate::outbound {

struct ProxyDecisionFacts {
  std::string_view client_ip;  // the TCP peer of the proxy connection
  std::string_view method;     // "CONNECT", or the inner request's method
  std::string_view target;     // the CONNECT request-target as received (bounded by caller)
  const ConnectTarget* parsed = nullptr;  // when the target parsed
  std::string_view endpoint;  // "connect", "tunnel" (ClientHello/SNI gate) or a catalogue
                              // name for inner requests
  bool allowed = false;
  std::string_view rule_id;  // policy rule, "egress:<pattern>", "proxy_auth", "ssrf",
                             // "tunnel_binding", "default"
  std::string_view reason;   // snake_case
  int status = 0;            // what the Core was answered (0: connection closed)
  // Set: the Core's server name, on a record about a request of the Core (a delegated binding).
  std::string_view origin{};
  // Set: the federation member the tunnel was bound to (a delegated destination), instead of
  // the parsed target's server name.
  std::string_view destination{};
  std::string_view note{};
  // The policy the decision was made under (Policy::sha256); empty: the tunnel's admitted one.
  std::string_view policy_sha256{};
  std::optional<std::chrono::nanoseconds> latency;
};

audit::AuditRecord proxy_audit_record(const ProxyDecisionFacts& facts);

}  // namespace bordergate::outbound
