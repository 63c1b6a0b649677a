#include "gateway/outbound/tunnel_binding.h"

#include "gateway/common/ascii.h"
#include "gateway/matrix/xmatrix.h"

namespace bordergate::outbound {
namespace {

BindingFailure fail(int status, std::string_view errcode, const char* code, std::string message) {
  return BindingFailure{status, errcode, make_error(code, std::move(message))};
}

// Does `authority` (host[:port], server-name grammar) name the CONNECT target?
bool names_target(const ConnectTarget& target, const discovery::ServerName& name) {
  if (name.is_ip_literal() != target.name.is_ip_literal()) return false;
  const bool same_host = name.is_ip_literal() ? *name.ip == *target.name.ip
                                              : ascii_iequals(name.host, target.name.host);
  return same_host && (!name.port || *name.port == target.port());
}

}  // namespace

std::optional<BindingFailure> check_tunnel_request(
    const ConnectTarget& target, bool federation_tunnel, std::string_view core_server_name,
    std::span<const std::string_view> host_values,
    std::span<const std::string_view> authorization_values) {
  if (host_values.size() != 1) {
    return fail(400, "M_UNKNOWN", "host_missing", "exactly one Host header is required");
  }
  auto host = discovery::parse_server_name(host_values.front());
  if (!host) return fail(400, "M_UNKNOWN", "host_invalid", "Host: " + host.error().message);
  if (!names_target(target, *host)) {
    return fail(403, "M_FORBIDDEN", "host_mismatch", "Host does not name the CONNECT target");
  }
  if (!federation_tunnel) return std::nullopt;

  auto auths = matrix::parse_xmatrix_headers(authorization_values);
  if (!auths) {
    const bool missing = auths.error().code == "missing_xmatrix";
    return fail(missing ? 401 : 400, "M_UNAUTHORIZED",
                missing ? "xmatrix_missing" : "xmatrix_invalid", auths.error().message);
  }
  for (const auto& auth : *auths) {
    if (!ascii_iequals(auth.origin, core_server_name)) {
      return fail(403, "M_FORBIDDEN", "xmatrix_origin_not_core",
                  "X-Matrix origin is not the Core's server name");
    }
    if (!auth.destination) {
      // Outbound requests from the Core always carry destination (Synapse has sent it since
      // v1.x); without it the tunnel binding cannot be checked, so the request is refused.
      return fail(401, "M_UNAUTHORIZED", "xmatrix_destination_missing",
                  "X-Matrix destination is required on outbound requests");
    }
    auto destination = discovery::parse_server_name(*auth.destination);
    if (!destination || !names_target(target, *destination)) {
      return fail(403, "M_FORBIDDEN", "xmatrix_destination_mismatch",
                  "X-Matrix destination does not name the CONNECT target");
    }
  }
  return std::nullopt;
}

}  // namespace bordergate::outbound
