// From the `discovery:` configuration to the library's options, and the well-known fetch that
// runs on the outbound HTTPS client. Shared by the gateway runtime and the CLI commands.
#pragma once

#include "gateway/common/result.h"
#include "gateway/config/discovery_config.h"
#include "gateway/discovery/ares_resolver.h"
#include "gateway/discovery/https_client.h"
#include "gateway/discovery/resolution.h"
#include "gateway/discovery/server_resolver.h"

namespace bordergate::discovery {

// Errors: "invalid_cidr", "invalid_static_route" (message names the entry).
Result<ResolutionOptions> resolution_options_from(const DiscoveryConfig& config);
ResolverOptions resolver_options_from(const DiscoveryConfig& config);

// GETs the well-known through `client` exactly as the state machine describes it: its targets,
// tls_name/tls_ip, Host, no redirect following, body bounded. `client` must outlive the fetch.
WellKnownFetch well_known_fetch_over(HttpsClient& client, const DiscoveryConfig& config);

// The request for `path` on a resolved server (Host, TLS name and targets from discovery).
OutboundRequest request_to(const ResolvedServer& server, std::string method, std::string path,
                           const DiscoveryConfig& config);

}  // namespace bordergate::discovery
