// Tunnels that Synapse opens after its own delegation (well-known, SRV): CONNECT to the SRV
// target or the delegated host, SNI and Host the delegated host, X-Matrix destination the
// original server name. Such a tunnel is bound only when the gateway's own discovery of that
// destination yields exactly this CONNECT target, SNI and Host (docs/outbound.md).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/discovery/resolution.h"
#include "gateway/outbound/connect_target.h"
#include "gateway/outbound/tunnel_binding.h"

namespace bordergate::outbound {

// The operator's list of names the federation members delegate to (`outbound.delegation_hosts`):
// a CONNECT to a name outside every federation opens a pending tunnel only when the name (and
// later the SNI) is on it. Entries: "matrix.example.org" or "*.example.org" (strictly below).
class DelegationHosts {
 public:
  // Error code: "delegation_bad_pattern" (IP literals, a bare "*", "*" elsewhere than in front).
  static Result<DelegationHosts> compile(const std::vector<std::string>& patterns);
  // The pattern that covers `host` (a DNS name, ASCII case-insensitive), if any.
  std::optional<std::string> match(std::string_view host) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string pattern;
    bool wildcard = false;
    std::string host;  // lower-case; for a wildcard the suffix with its leading '.'
  };
  std::vector<Entry> entries_;
};

// The destination a request in a pending tunnel claims: every X-Matrix value must name the Core
// as origin and the same destination, a server name without port that is not an IP literal
// (only those are delegated). Failure codes: "xmatrix_missing" (401), "xmatrix_invalid" (400),
// "xmatrix_origin_not_core" (403), "xmatrix_destination_missing" (401),
// "xmatrix_destinations_differ" (403), "destination_not_delegable" (403).
struct DestinationClaim {
  std::optional<BindingFailure> failure;
  std::string destination;  // set when failure is empty
};
DestinationClaim claimed_destination(std::span<const std::string_view> authorization_values,
                                     std::string_view core_server_name);

// Does the gateway's own discovery of the claimed destination (`resolved`) account for this
// tunnel? The SNI must be its tls_name, the single Host its host_header, and the CONNECT
// host:port one of the names it dialled. Failure codes (403 unless noted): "host_missing",
// "host_invalid" (400), "delegation_to_ip_literal", "sni_not_delegated", "host_not_delegated",
// "connect_not_delegated".
std::optional<BindingFailure> check_delegated_tunnel(const ConnectTarget& connect,
                                                     std::string_view sni,
                                                     std::span<const std::string_view> host_values,
                                                     const discovery::ResolvedServer& resolved);

}  // namespace bordergate::outbound
