#include "gateway/proxy/runtime.h"

namespace bordergate {

Result<std::shared_ptr<const Runtime>> build_runtime(
    std::shared_ptr<const Config> config, enforcement::EnforcementServices* enforcement) {
  auto rt = std::make_shared<Runtime>();
  rt->enforcement = enforcement;
  for (const ListenerConfig& l : config->federation) {
    auto tls = ServerTls::build(l.tls);
    if (!tls) {
      return tls.error();  // names the certificate entry (file:line:col)
    }
    rt->listener_tls.push_back(std::move(tls.value()));
  }
  const UpstreamConfig& u = config->upstream;
  if (u.tls.enabled) {
    auto tls = ClientTls::build(u.tls, u.host);
    if (!tls) return tls.error();
    rt->upstream_tls = std::move(tls.value());
  }
  auto addr = resolve_socket_address(u.host, u.port);
  if (!addr) {
    std::string where = u.location.empty() ? "upstream: " : u.location + ": upstream: ";
    return make_error(addr.error().code, where + addr.error().message);
  }
  rt->upstream_address = addr.value();
  rt->upstream_authority = u.host.find(':') != std::string::npos
                               ? "[" + u.host + "]:" + std::to_string(u.port)
                               : u.host + ":" + std::to_string(u.port);
  rt->limits = RequestLimits{config->limits.max_header_bytes, config->limits.max_headers,
                             config->limits.max_body_bytes};
  rt->config = std::move(config);
  return std::shared_ptr<const Runtime>(std::move(rt));
}

}  // namespace bordergate
