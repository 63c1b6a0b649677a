// ProxyTunnel's direct-mode admission (docs/outbound.md, "Direct mode"): no CONNECT head; the
// first bytes must be a ClientHello whose SNI names the destination, admitted exactly as a
// CONNECT to that name on port 8448 (federation members only). Every decision is audited.
#include <span>

#include "gateway/common/log.h"
#include "gateway/inbound/inbound_services.h"
#include "gateway/outbound/client_hello.h"
#include "gateway/outbound/connect_admission.h"
#include "gateway/outbound/connect_target.h"
#include "gateway/proxy/proxy_tunnel.h"
#include "gateway/proxy/worker.h"

namespace bordergate {

void ProxyTunnel::start_direct() {
  direct_ = true;
  stage_ = Stage::gate;
}

void ProxyTunnel::refuse_direct(std::string_view rule_id, std::string_view reason) {
  stage_ = Stage::closed;
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = "TLS";
  f.target = head_target_;
  f.parsed = target_ ? &*target_ : nullptr;
  f.endpoint = "direct";
  f.rule_id = rule_id;
  f.reason = reason;
  audit(f);
  log_event(LogLevel::info, "outbound_direct_refused",
            {{"client", client_ip_}, {"sni", head_target_}, {"reason", reason}});
  owner_.tunnel_close(false);  // nothing to answer: the Core sees its handshake fail
}

bool ProxyTunnel::admit_direct() {
  auto bytes = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(buffered_.data()), buffered_.size());
  // The SNI is the only statement of where the Core wants to go: the gate of a delegated tunnel
  // asks exactly what direct mode needs (a ClientHello whose SNI is a DNS name without port; an
  // IP literal is never an SNI, RFC 6066), and plain HTTP is turned away after its first byte.
  outbound::TunnelGateVerdict v = outbound::gate_delegated_tunnel(bytes);
  if (v.server_name) head_target_ = v.server_name->substr(0, 255);
  if (v.action == outbound::TunnelGateVerdict::Action::kNeedMore) {
    if (buffered_.size() > kMaxGateBytes) refuse_direct("tunnel_gate", "client_hello_too_large");
    return false;
  }
  if (v.action == outbound::TunnelGateVerdict::Action::kClose) {
    refuse_direct("tunnel_gate", v.reason);
    return false;
  }
  const std::string& sni = *v.server_name;
  // The Core dialled port 8448 of the name it resolved to this listener (no SRV, no
  // delegation: docs/deployment.md), so the destination is the server name the SNI carries.
  auto target = outbound::parse_connect_target(sni + ":8448");
  if (!target || target->name.is_ip_literal()) {
    refuse_direct("tunnel_gate", "sni_invalid");
    return false;
  }
  const auto& rt = worker_.runtime();
  policy_ = rt->inbound != nullptr ? rt->inbound->policy->snapshot() : nullptr;
  if (policy_ == nullptr) {
    refuse_direct("default", "no_policy");
    return false;
  }
  decision_ = outbound::admit_connect(*policy_, settings_->egress, settings_->guard, *target);
  target_ = std::move(*target);
  if (decision_.kind != outbound::TunnelKind::kFederation) {
    // Egress (push gateways, previews) goes through the CONNECT listener, whose entries name
    // their ports; direct mode only ever reaches federation members.
    refuse_direct(decision_.rule_id,
                  decision_.allowed() ? "direct_not_federation" : decision_.reason);
    return false;
  }
  outbound::ProxyDecisionFacts f;
  f.client_ip = client_ip_;
  f.method = "TLS";
  f.target = head_target_;
  f.parsed = &*target_;
  f.endpoint = "direct";
  f.allowed = true;
  f.rule_id = decision_.rule_id;
  f.reason = decision_.reason;
  audit(f);
  return true;
}

}  // namespace bordergate
