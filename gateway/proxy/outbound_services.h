// Process-wide state of the Core's outbound proxy (docs/outbound.md): the settings built from the
// `outbound:` configuration (the interception CA's leaf minter, the proxy credentials, the
// compiled egress allow list, the SSRF guard, the TLS listener's certificate), immutable and
// swapped whole by a reload, and the proxy metrics, which live as long as the process. A
// connection takes the settings in force when it is accepted and keeps them to its end; the
// policy comes from the shared PolicyStore.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/config/outbound_config.h"
#include "gateway/discovery/address_guard.h"
#include "gateway/net/tls_context.h"
#include "gateway/outbound/cert_minter.h"
#include "gateway/outbound/delegation_binding.h"
#include "gateway/outbound/egress_allow_list.h"
#include "gateway/outbound/proxy_credentials.h"
#include "gateway/outbound/proxy_listener.h"
#include "gateway/proxy/proxy_metrics.h"

namespace bordergate {

struct OutboundSettings {
  std::shared_ptr<const outbound::OutboundConfig> config;
  std::string core_server_name;
  std::unique_ptr<outbound::CertMinter> minter;
  std::optional<outbound::ProxyCredentials> credentials;
  outbound::EgressAllowList egress;
  outbound::DelegationHosts delegation;  // outbound.delegation_hosts
  discovery::AddressGuard guard;         // the discovery section's allowed ranges
  // The TLS proxy listener's own certificate (outbound.listen_tls); null without that listener.
  std::shared_ptr<const ServerTls> proxy_tls;

  // Only addresses inside outbound.clients may use the proxy.
  bool client_allowed(const std::string& ip) const;
};

class OutboundServices {
 public:
  explicit OutboundServices(std::shared_ptr<const OutboundSettings> settings)
      : settings_(std::move(settings)) {}

  // The settings in force now (any thread).
  std::shared_ptr<const OutboundSettings> settings() const { return settings_.load(); }
  // A reload: connections accepted from now on use `next`; open ones keep theirs.
  void replace(std::shared_ptr<const OutboundSettings> next) { settings_.store(std::move(next)); }

  ProxyMetrics metrics;  // every proxy listener, all workers, across reloads

 private:
  std::atomic<std::shared_ptr<const OutboundSettings>> settings_;
};

// Loads the interception CA, the credentials file and the TLS proxy listener's certificate named
// by config.outbound (which must be set). Errors: the minter's, the credentials' and ServerTls's
// codes, "invalid_cidr".
Result<std::shared_ptr<const OutboundSettings>> build_outbound_settings(const Config& config);
Result<std::unique_ptr<OutboundServices>> build_outbound_services(const Config& config);

}  // namespace bordergate
