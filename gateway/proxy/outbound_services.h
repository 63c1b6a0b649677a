// Process-wide state of the Core's outbound proxy (docs/outbound.md): the `outbound:`
// configuration, the interception CA's leaf minter, the proxy credentials, the compiled egress
// allow list and the SSRF guard. Built once at start and kept for the process (like
// InboundServices); the policy comes from the shared PolicyStore, so a reload applies to it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/discovery/address_guard.h"
#include "gateway/net/tls_context.h"
#include "gateway/outbound/cert_minter.h"
#include "gateway/outbound/delegation_binding.h"
#include "gateway/outbound/egress_allow_list.h"
#include "gateway/outbound/outbound_config.h"
#include "gateway/outbound/proxy_credentials.h"
#include "gateway/proxy/proxy_metrics.h"

namespace bordergate {

struct OutboundServices {
  std::shared_ptr<const outbound::OutboundConfig> config;
  std::string core_server_name;
  std::unique_ptr<outbound::CertMinter> minter;
  std::optional<outbound::ProxyCredentials> credentials;
  outbound::EgressAllowList egress;
  outbound::DelegationHosts delegation;  // outbound.delegation_hosts
  discovery::AddressGuard guard;         // the discovery section's allowed ranges
  // The TLS proxy listener's own certificate (outbound.listen_tls); null without that listener.
  std::shared_ptr<const ServerTls> proxy_tls;
  ProxyMetrics metrics;  // every proxy listener, all workers

  // Only addresses inside outbound.clients may use the proxy.
  bool client_allowed(const std::string& ip) const;
};

// Loads the interception CA, the credentials file and the TLS proxy listener's certificate named
// by config.outbound (which must be set). Errors: the minter's, the credentials' and ServerTls's
// codes, "invalid_cidr".
Result<std::unique_ptr<OutboundServices>> build_outbound_services(const Config& config);

}  // namespace bordergate
