#include "gateway/proxy/tunnel_destination.h"

#include "gateway/enforcement/services.h"

namespace bordergate {

TunnelDestination::TunnelDestination(std::shared_ptr<const OutboundSettings> settings,
                                     std::string client_ip, outbound::ProxyListener listener,
                                     Resolver resolver, enforcement::EnforcementServices* services)
    : settings_(std::move(settings)),
      client_ip_(std::move(client_ip)),
      listener_(listener),
      resolver_(std::move(resolver)),
      services_(services) {}

std::shared_ptr<const policy::Policy> TunnelDestination::policy_now() const {
  return services_ != nullptr ? services_->policy->snapshot() : nullptr;
}

void TunnelDestination::admit(std::shared_ptr<const policy::Policy> policy,
                              outbound::ConnectTarget target, outbound::ConnectDecision decision) {
  policy_ = std::move(policy);
  target_ = std::move(target);
  decision_ = std::move(decision);
}

std::string TunnelDestination::matrix_destination() const {
  return claimed_destination.empty() ? target_->matrix_server_name() : claimed_destination;
}

void TunnelDestination::audit(const outbound::ProxyDecisionFacts& facts) const {
  if (services_ == nullptr || !services_->audit) return;
  audit::AuditRecord record = outbound::proxy_audit_record(facts);
  if (record.policy_sha256.empty() && policy_ != nullptr) record.policy_sha256 = policy_->sha256;
  // The plain listener's records stay as they were; the others say where the connection came in.
  const std::string_view name = audited_listener();
  if (!name.empty()) audit::append_note(record.note, "listener=" + std::string(name));
  services_->audit->submit(record);
}

void TunnelDestination::resolve(Resolved done) {
  if (resolved_) return done(*resolved_);
  if (!resolver_) return done(make_error("no_resolver", "outbound discovery is unavailable"));
  // Federation tunnels resolve the Matrix server name (well-known, SRV, static routes); egress
  // names carry their port, which makes discovery a plain address lookup. The SSRF guard judges
  // every answer either way. A pending-delegation tunnel goes to the member its requests name,
  // never to the CONNECT host.
  std::string name = decision_.kind == outbound::TunnelKind::kFederation
                         ? target_->matrix_server_name()
                         : target_->name.authority();
  if (decision_.kind == outbound::TunnelKind::kPendingDelegation) name = claimed_destination;
  std::weak_ptr<int> alive = alive_;
  resolver_(name, [this, alive, done = std::move(done)](discovery::Discovery d) {
    if (alive.expired()) return;
    if (d.result) resolved_ = *d.result;
    done(d.result);
  });
}

}  // namespace bordergate
