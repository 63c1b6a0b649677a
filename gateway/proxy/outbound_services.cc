#include "gateway/proxy/outbound_services.h"

#include "gateway/discovery/discovery_setup.h"

namespace bordergate {

bool OutboundSettings::client_allowed(const std::string& ip) const {
  auto address = discovery::IpAddress::parse(ip);
  if (!address) return false;
  const discovery::IpAddress a = address->unmapped();
  for (const auto& cidr : config->clients) {
    if (cidr.contains(a)) return true;
  }
  return false;
}

Result<std::shared_ptr<const OutboundSettings>> build_outbound_settings(const Config& config) {
  auto s = std::make_shared<OutboundSettings>();
  s->config = config.outbound;
  s->core_server_name = config.server_name;
  const outbound::OutboundConfig& oc = *config.outbound;
  auto minter = outbound::CertMinter::load(oc.ca_certificate_file, oc.ca_key_file, oc.leaf);
  if (!minter) {
    return make_error(minter.error().code, "outbound.interception_ca: " + minter.error().message);
  }
  s->minter = std::move(*minter);
  auto credentials = outbound::ProxyCredentials::load(oc.credentials_file);
  if (!credentials) {
    return make_error(credentials.error().code,
                      "outbound.credentials_file: " + credentials.error().message);
  }
  s->credentials = std::move(*credentials);
  auto egress = outbound::EgressAllowList::compile(oc.egress);
  if (!egress) return egress.error();
  s->egress = std::move(*egress);
  auto delegation = outbound::DelegationHosts::compile(oc.delegation_hosts);
  if (!delegation) return delegation.error();
  s->delegation = std::move(*delegation);
  if (oc.tls) {
    auto tls = ServerTls::build(oc.tls_listen);
    if (!tls) {
      // ServerTls names the entry as file:line:col when the loader set its location.
      return make_error(tls.error().code, "outbound.listen_tls: " + tls.error().message);
    }
    s->proxy_tls = std::move(*tls);
  }
  auto options = discovery::resolution_options_from(config.discovery);
  if (!options) return options.error();
  s->guard = options->guard;
  return std::shared_ptr<const OutboundSettings>(std::move(s));
}

Result<std::unique_ptr<OutboundServices>> build_outbound_services(const Config& config) {
  auto settings = build_outbound_settings(config);
  if (!settings) return settings.error();
  return std::make_unique<OutboundServices>(std::move(*settings));
}

}  // namespace bordergate
