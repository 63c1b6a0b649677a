#include "gateway/proxy/runtime.h"

#include "gateway/common/ascii.h"
#include "gateway/enforcement/services.h"
#include "gateway/matrix/xmatrix.h"
#include "policy/evaluate.h"

namespace bordergate {
namespace {

// At the headers of a request with a large body: a Content-Length larger than what the claimed
// X-Matrix origin may ever send (the policy's max_body_bytes for it, inbound) is refused 413
// before a byte of the body is read. The claim is not verified yet, and need not be: whoever
// claims an origin gets no more room than that origin has. Requests that claim the Core (its own
// outbound requests in the proxy's tunnels) and requests without X-Matrix keep the listener's
// limits.max_body_bytes.
std::function<std::optional<GatewayError>(const HttpRequest&)> origin_body_limit(
    enforcement::EnforcementServices* enforcement) {
  return [enforcement](const HttpRequest& r) -> std::optional<GatewayError> {
    if (!r.content_length || *r.content_length <= BodyBudget::kSmallBody) return std::nullopt;
    const std::optional<std::string_view> auth = r.headers.find("authorization");
    if (!auth) return std::nullopt;
    Result<matrix::XMatrixAuth> claimed = matrix::parse_xmatrix(*auth);
    if (!claimed || ascii_iequals(claimed->origin, enforcement->server_name)) return std::nullopt;
    const std::shared_ptr<const policy::Policy> p = enforcement->policy->snapshot();
    const policy::Settings s =
        policy::resolve_settings(*p, claimed->origin, policy::Direction::inbound);
    if (*r.content_length <= s.max_body_bytes) return std::nullopt;
    return GatewayError{413, "M_TOO_LARGE",
                        "Request body larger than the policy allows for this origin",
                        ErrorSource::policy};
  };
}

}  // namespace

Result<std::shared_ptr<const Runtime>> build_runtime(std::shared_ptr<const Config> config,
                                                     enforcement::EnforcementServices* enforcement,
                                                     BodyBudget* budget) {
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
  rt->limits.max_header_bytes = config->limits.max_header_bytes;
  rt->limits.max_headers = config->limits.max_headers;
  rt->limits.max_body_bytes = config->limits.max_body_bytes;
  rt->limits.budget = budget;
  if (enforcement != nullptr) rt->limits.head_check = origin_body_limit(enforcement);
  rt->config = std::move(config);
  return std::shared_ptr<const Runtime>(std::move(rt));
}

}  // namespace bordergate
