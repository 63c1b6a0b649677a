// What the proxy listener answers to the head of the Core's request: the whole CONNECT phase as
// one pure function (method → credentials → target → admission), so the listener only moves
// bytes and every refusal has a status, a rule id and a reason for the audit record.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/discovery/address_guard.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/connect_head.h"
#include "gateway/outbound/delegation_binding.h"
#include "gateway/outbound/egress_allow_list.h"
#include "gateway/outbound/proxy_credentials.h"
#include "policy/policy.h"

namespace bordergate::outbound {

struct ProxyRules {
  const ProxyCredentials* credentials = nullptr;   // required
  const policy::Policy* policy = nullptr;          // required
  const EgressAllowList* egress = nullptr;         // required
  const discovery::AddressGuard* guard = nullptr;  // required
  const DelegationHosts* delegation = nullptr;     // optional: no pending delegations
};

struct ConnectAnswer {
  int status = 0;       // 200 opens the tunnel; anything else closes after the response
  std::string rule_id;  // for the audit record
  std::string_view reason;
  std::optional<ConnectTarget> target;
  ConnectDecision decision;  // set when admission ran
  // The complete response head (status line + headers + blank line), ready to write.
  std::string response;
};

// Order: a non-CONNECT method is refused first (absolute-form proxy requests: 403
// `plain_http_proxy_refused`; anything else 405), then credentials (407 with
// Proxy-Authenticate; a second Proxy-Authorization header counts as wrong), then the target
// (400), then admission (403). Credentials come before the target so an unauthenticated client
// learns nothing about which destinations exist. A DNS name outside every federation and off the
// egress list that `delegation` covers opens a pending-delegation tunnel (reason
// `pending_delegation`, rule id `delegation:<pattern>`).
ConnectAnswer answer_connect(const ConnectHead& head, const ProxyRules& rules);

}  // namespace bordergate::outbound
