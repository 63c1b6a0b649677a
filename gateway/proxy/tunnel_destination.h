// What an outbound tunnel's front admitted, shared by everything that serves the tunnel afterwards
// (the splice, the admission of inner requests, the remote upstream): the destination as the Core
// named it, how it is served (federation, egress, pending delegation), the listener it came in
// on, the policy snapshot taken at admission, and the destination's discovery, run once per
// tunnel by the gateway itself (well-known, SRV, static routes, the SSRF guard).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/common/result.h"
#include "gateway/discovery/resolution.h"
#include "gateway/discovery/server_resolver.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/connect_record.h"
#include "gateway/outbound/connect_target.h"
#include "gateway/outbound/proxy_listener.h"
#include "gateway/proxy/outbound_services.h"
#include "policy/policy.h"

namespace bordergate {

namespace enforcement {
struct EnforcementServices;
}

class TunnelDestination {
 public:
  // The worker's discovery of a server name (ServerResolver::resolve); empty: no discovery on
  // this worker (its federation state failed to start).
  using Resolver =
      std::function<void(std::string_view name, std::function<void(discovery::Discovery)> done)>;

  // `services`: the process's enforcement services (policy, audit log); null without a policy.
  TunnelDestination(std::shared_ptr<const OutboundSettings> settings, std::string client_ip,
                    outbound::ProxyListener listener, Resolver resolver,
                    enforcement::EnforcementServices* services);
  TunnelDestination(const TunnelDestination&) = delete;
  TunnelDestination& operator=(const TunnelDestination&) = delete;

  const OutboundSettings& settings() const { return *settings_; }
  // The policy in force now (null without one); the tunnel keeps the one it was admitted under.
  std::shared_ptr<const policy::Policy> policy_now() const;
  const std::string& client_ip() const { return client_ip_; }
  outbound::ProxyListener listener() const { return listener_; }
  const policy::Policy* policy() const { return policy_.get(); }
  // Set once by the front, at admission.
  void admit(std::shared_ptr<const policy::Policy> policy, outbound::ConnectTarget target,
             outbound::ConnectDecision decision);
  bool admitted() const { return target_.has_value(); }
  const outbound::ConnectTarget& target() const { return *target_; }
  const outbound::ConnectDecision& decision() const { return decision_; }
  outbound::TunnelKind kind() const { return decision_.kind; }

  // Pending delegation: the SNI the Core sent, and the federation member its first request
  // claimed (the tunnel serves no other).
  std::string sni;
  std::string claimed_destination;
  // The server the tunnel's requests go to: the claimed member (pending delegation) or the
  // admitted target's Matrix server name.
  std::string matrix_destination() const;

  // The destination's discovery, once per tunnel (later calls answer from the first result);
  // `done` runs on the loop and never after this object is gone.
  using Resolved = std::function<void(Result<discovery::ResolvedServer>)>;
  void resolve(Resolved done);
  const std::optional<discovery::ResolvedServer>& resolved() const { return resolved_; }

  // One record of a decision about this tunnel (its admission, the gate, the binding of a
  // delegated destination) into the audit log; records of a connection on the TLS listener or
  // in direct mode say so in their note (outbound::audited_listener).
  void audit(const outbound::ProxyDecisionFacts& facts) const;
  // The same listener note on an inner request's record.
  std::string_view audited_listener() const { return outbound::audited_listener(listener_); }

  // Callbacks that must not outlive this tunnel hold a weak_ptr to this token.
  std::weak_ptr<int> token() const { return alive_; }

 private:
  std::shared_ptr<const OutboundSettings> settings_;  // the connection's, fixed at accept
  std::string client_ip_;
  outbound::ProxyListener listener_;
  Resolver resolver_;
  enforcement::EnforcementServices* services_;
  std::shared_ptr<const policy::Policy> policy_;  // snapshot taken at admission
  std::optional<outbound::ConnectTarget> target_;
  outbound::ConnectDecision decision_;
  std::optional<discovery::ResolvedServer> resolved_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace bordergate
