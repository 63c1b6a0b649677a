#include "gateway/outbound/connect_admission.h"

#include <algorithm>

#include "policy/glob.h"
#include "policy/server_name.h"

namespace bordergate::outbound {
namespace {

constexpr auto kOutbound = static_cast<policy::DirectionMask>(policy::Direction::outbound);

bool opens_outbound(const policy::Rule& rule) {
  return (rule.directions & kOutbound) != 0 && rule.action != policy::Action::deny;
}

}  // namespace

std::string_view tunnel_kind_name(TunnelKind kind) {
  switch (kind) {
    case TunnelKind::kFederation:
      return "federation";
    case TunnelKind::kEgressTunnel:
      return "egress_tunnel";
    case TunnelKind::kEgressIntercept:
      return "egress_intercept";
    case TunnelKind::kPendingDelegation:
      return "pending_delegation";
    case TunnelKind::kRefused:
      return "refused";
  }
  return "refused";
}

ConnectDecision admit_connect(const policy::Policy& policy, const EgressAllowList& egress,
                              const discovery::AddressGuard& guard, const ConnectTarget& target) {
  ConnectDecision d;
  if (target.name.is_ip_literal() && !guard.check(*target.name.ip).allowed) {
    d.rule_id = "ssrf";
    d.reason = "ssrf_blocked_address";
    return d;
  }
  // Policy patterns are written without ports and with IPv6 in brackets.
  const std::string host = policy::ascii_lower(target.name.host_for_authority());
  if (!policy.server_name.empty() &&
      host == policy::ascii_lower(policy::strip_port(policy.server_name))) {
    d.rule_id = "default";
    d.reason = "destination_is_core";
    return d;
  }

  std::vector<std::uint32_t> federations;
  std::vector<std::uint32_t> server_rules;
  policy.servers.for_each_match(
      host, policy::is_ip_literal(host), [&](const policy::ServerIndex::Entry& e) {
        if (e.tag & policy::Policy::kSettingsTag) return;
        if (e.tag & policy::Policy::kRuleTag) {
          server_rules.push_back(e.tag & ~policy::Policy::kRuleTag);
        } else if (std::find(federations.begin(), federations.end(), e.tag) == federations.end()) {
          federations.push_back(e.tag);
        }
      });
  std::sort(federations.begin(), federations.end());
  for (auto f : federations) d.federations.push_back(policy.federations[f].name);

  if (!federations.empty()) {
    // The first opening rule in file order names the decision, as a reviewer would read it.
    std::optional<std::uint32_t> opening;
    auto consider = [&](std::uint32_t r) {
      if (opens_outbound(policy.rules[r]) && (!opening || r < *opening)) opening = r;
    };
    for (auto f : federations) {
      for (auto r : policy.rules_by_federation[f]) consider(r);
    }
    for (auto r : server_rules) consider(r);
    // IP literals are never covered by `any` rules (same as policy::evaluate).
    if (!target.name.is_ip_literal()) {
      for (auto r : policy.rules_any) consider(r);
    }
    for (auto r : policy.rules_anyone) consider(r);
    if (opening) {
      d.kind = TunnelKind::kFederation;
      d.rule_id = policy.rules[*opening].id;
      d.reason = "federation_destination";
      return d;
    }
  }

  if (auto rule = egress.match(target)) {
    d.kind = rule->mode == EgressMode::kTunnel ? TunnelKind::kEgressTunnel
                                               : TunnelKind::kEgressIntercept;
    d.rule_id = "egress:" + rule->pattern;
    d.reason = rule->mode == EgressMode::kTunnel ? "egress_tunnel" : "egress_intercept";
    return d;
  }
  d.rule_id = "default";
  d.reason = federations.empty() ? "destination_in_no_federation" : "no_outbound_rule";
  return d;
}

}  // namespace bordergate::outbound
