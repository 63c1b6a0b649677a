#include "gateway/outbound/proxy_listener.h"

namespace bordergate::outbound {

std::vector<ProxyListenAddress> proxy_listen_addresses(const OutboundConfig& c) {
  std::vector<ProxyListenAddress> out;
  if (c.plain) out.push_back({ProxyListener::connect, c.listen_address, c.listen_port});
  if (c.tls) out.push_back({ProxyListener::connect_tls, c.tls_address, c.tls_port});
  if (c.direct) out.push_back({ProxyListener::direct, c.direct_address, c.direct_port});
  return out;
}

}  // namespace bordergate::outbound
