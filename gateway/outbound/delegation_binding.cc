#include "gateway/outbound/delegation_binding.h"

#include "gateway/common/ascii.h"
#include "gateway/config/outbound_config.h"
#include "gateway/matrix/xmatrix.h"

namespace bordergate::outbound {
namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

BindingFailure fail(int status, const char* code, std::string message) {
  const std::string_view errcode = status == 400   ? "M_UNKNOWN"
                                   : status == 401 ? "M_UNAUTHORIZED"
                                                   : "M_FORBIDDEN";
  return BindingFailure{status, errcode, make_error(code, std::move(message))};
}

}  // namespace

Result<DelegationHosts> DelegationHosts::compile(const std::vector<std::string>& patterns) {
  DelegationHosts out;
  for (const std::string& p : patterns) {
    if (auto st = check_delegation_host(p); !st) return st.error();
    Entry e;
    e.pattern = p;
    std::string_view host = p;
    if (host.starts_with("*.")) {
      e.wildcard = true;
      host.remove_prefix(2);
    }
    e.host = (e.wildcard ? "." : "") + lowered(host);
    out.entries_.push_back(std::move(e));
  }
  return out;
}

std::optional<std::string> DelegationHosts::match(std::string_view host) const {
  const std::string h = lowered(host);
  for (const Entry& e : entries_) {
    const bool hit = e.wildcard ? (h.size() > e.host.size() && h.ends_with(e.host)) : h == e.host;
    if (hit) return e.pattern;
  }
  return std::nullopt;
}

DestinationClaim claimed_destination(std::span<const std::string_view> authorization_values,
                                     std::string_view core_server_name) {
  DestinationClaim claim;
  auto auths = matrix::parse_xmatrix_headers(authorization_values);
  if (!auths) {
    const bool missing = auths.error().code == "missing_xmatrix";
    claim.failure = fail(missing ? 401 : 400, missing ? "xmatrix_missing" : "xmatrix_invalid",
                         auths.error().message);
    return claim;
  }
  for (const auto& auth : *auths) {
    if (!ascii_iequals(auth.origin, core_server_name)) {
      claim.failure =
          fail(403, "xmatrix_origin_not_core", "X-Matrix origin is not the Core's server name");
      return claim;
    }
    if (!auth.destination) {
      claim.failure = fail(401, "xmatrix_destination_missing",
                           "X-Matrix destination is required on outbound requests");
      return claim;
    }
    if (!claim.destination.empty() && !ascii_iequals(claim.destination, *auth.destination)) {
      claim.failure = fail(403, "xmatrix_destinations_differ",
                           "the X-Matrix values name different destinations");
      claim.destination.clear();
      return claim;
    }
    claim.destination = *auth.destination;
  }
  // Only a name without port that is not an IP literal goes through well-known and SRV; any
  // other destination is dialled as written, so a delegated tunnel cannot be its way out.
  auto name = discovery::parse_server_name(claim.destination);
  if (!name || name->is_ip_literal() || name->port) {
    claim.failure = fail(403, "destination_not_delegable",
                         "X-Matrix destination is not a server name that can delegate");
    claim.destination.clear();
  }
  return claim;
}

std::optional<BindingFailure> check_delegated_tunnel(const ConnectTarget& connect,
                                                     std::string_view sni,
                                                     std::span<const std::string_view> host_values,
                                                     const discovery::ResolvedServer& resolved) {
  if (host_values.size() != 1) {
    return fail(400, "host_missing", "exactly one Host header is required");
  }
  if (auto host = discovery::parse_server_name(host_values.front()); !host) {
    return fail(400, "host_invalid", "Host: " + host.error().message);
  }
  if (resolved.tls_ip || resolved.tls_name.empty()) {
    // A delegation to an IP literal is reached without SNI; a pending tunnel always has one.
    return fail(403, "delegation_to_ip_literal",
                "the destination's discovery leads to an IP literal, not to this tunnel");
  }
  if (!ascii_iequals(sni, resolved.tls_name)) {
    return fail(403, "sni_not_delegated",
                "the tunnel's SNI is not the name the destination's discovery yields");
  }
  if (!ascii_iequals(host_values.front(), resolved.host_header)) {
    return fail(403, "host_not_delegated",
                "Host is not the one the destination's discovery yields");
  }
  if (connect.name.is_ip_literal()) {
    return fail(403, "connect_not_delegated", "the CONNECT target is an IP literal");
  }
  for (const discovery::NamedTarget& t : resolved.target_names) {
    if (t.port == connect.port() && ascii_iequals(t.host, connect.name.host)) return std::nullopt;
  }
  return fail(403, "connect_not_delegated",
              "the CONNECT target is not among the destination's discovered targets");
}

}  // namespace bordergate::outbound
