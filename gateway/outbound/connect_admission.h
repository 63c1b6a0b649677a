// The decision taken on CONNECT, before a single byte leaves the gateway: may the Core open a
// tunnel to this destination at all, and if so, as federation traffic (intercepted, full outbound
// pipeline per inner request) or as non-federation egress (tunnelled or intercepted)?
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/discovery/address_guard.h"
#include "gateway/outbound/connect_target.h"
#include "gateway/outbound/egress_allow_list.h"
#include "policy/policy.h"

namespace bordergate::outbound {

enum class TunnelKind {
  kFederation,       // intercepted; each inner request authorized with Direction::outbound
  kEgressTunnel,     // raw splice after the ClientHello/SNI check
  kEgressIntercept,  // intercepted and logged; no Matrix checks
  // A name outside every federation on `outbound.delegation_hosts`: intercepted, and nothing is
  // forwarded before the first inner request binds it to a federation member whose discovery
  // (done by the gateway) leads exactly here (delegation_binding.h).
  kPendingDelegation,
  kRefused,
};

struct ConnectDecision {
  TunnelKind kind = TunnelKind::kRefused;
  std::string rule_id;                   // policy rule id, "egress:<pattern>", "ssrf" or "default"
  std::string_view reason;               // stable snake_case (static storage)
  std::vector<std::string> federations;  // names of the federations the destination is in
  bool allowed() const { return kind != TunnelKind::kRefused; }
};

// Rule: a destination is a federation destination when it belongs to at least one federation
// of the policy AND some rule that is not `deny` covers outbound traffic to it (by federation,
// by server pattern, or `peer: any/anyone`). Federation membership is required even when an
// `anyone` rule exists: the Core must never reach a server outside its federations. Endpoints,
// rooms, users and event types are judged later, per inner request, by policy::evaluate.
// Otherwise the egress allow list decides; otherwise refusal. An IP-literal target is also put
// to the SSRF guard here (names are put to it after resolution, by the forwarder), and a CONNECT
// to the Core's own server name is refused (it would loop back through the border).
ConnectDecision admit_connect(const policy::Policy& policy, const EgressAllowList& egress,
                              const discovery::AddressGuard& guard, const ConnectTarget& target);

std::string_view tunnel_kind_name(TunnelKind kind);  // "federation", "egress_tunnel", ...

}  // namespace bordergate::outbound
