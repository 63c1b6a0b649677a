#include "gateway/discovery/discovery_setup.h"

namespace bordergate::discovery {

Result<ResolutionOptions> resolution_options_from(const DiscoveryConfig& config) {
  ResolutionOptions options;
  auto guard = AddressGuard::from_strings(config.allowed_ranges);
  if (!guard) return guard.error();
  options.guard = std::move(*guard);
  for (const auto& route : config.static_routes) {
    auto target = parse_server_name(route.target);
    if (!target) {
      return make_error("invalid_static_route", "static route for '" + route.server_name +
                                                    "': target '" + route.target +
                                                    "': " + target.error().message);
    }
    StaticOverride o{std::move(*target), std::nullopt};
    if (!route.tls_name.empty()) o.tls_name = route.tls_name;
    options.overrides.emplace(route.server_name, std::move(o));
  }
  WellKnownPolicy& wk = options.well_known;
  wk.max_body_bytes = config.well_known_max_body_bytes;
  wk.max_redirects = config.well_known_max_redirects;
  wk.default_ttl_ms = config.well_known_default_ttl.count();
  wk.min_ttl_ms = config.well_known_min_ttl.count();
  wk.max_ttl_ms = config.well_known_max_ttl.count();
  wk.error_initial_ttl_ms = config.well_known_error_ttl.count();
  wk.error_max_ttl_ms = config.well_known_error_max_ttl.count();
  wk.stale_grace_ms = config.well_known_stale_grace.count();
  return options;
}

ResolverOptions resolver_options_from(const DiscoveryConfig& config) {
  ResolverOptions options;
  options.servers = config.resolvers;
  options.query_timeout_ms = static_cast<int>(config.dns_timeout.count());
  options.attempt_timeout_ms = std::max(100, options.query_timeout_ms / 2);
  return options;
}

WellKnownFetch well_known_fetch_over(HttpsClient& client, const DiscoveryConfig& config) {
  return [&client, connect = config.connect_timeout, total = config.request_timeout](
             const HttpsRequest& request, std::function<void(HttpsReply)> done) {
    OutboundRequest out;
    out.targets = request.targets;
    out.tls_name = request.tls_name;
    out.tls_ip = request.tls_ip;
    out.host_header = request.host_header;
    out.target = request.path;
    // One byte over the limit lets the state machine tell "too large" from "exactly at it".
    out.max_body_bytes = request.max_body_bytes + 1;
    out.connect_timeout = connect;
    out.total_timeout = total;
    client.send(std::move(out), [done = std::move(done)](Result<OutboundResponse> response) {
      HttpsReply reply;
      if (response) {
        reply.status = response->status;
        reply.headers = std::move(response->headers);
        reply.body = std::move(response->body);
      } else {
        reply.transport_error = response.error();
      }
      done(std::move(reply));
    });
  };
}

OutboundRequest request_to(const ResolvedServer& server, std::string method, std::string path,
                           const DiscoveryConfig& config) {
  OutboundRequest out;
  out.targets = server.targets;
  out.tls_name = server.tls_name;
  out.tls_ip = server.tls_ip;
  out.host_header = server.host_header;
  out.method = std::move(method);
  out.target = std::move(path);
  out.connect_timeout = config.connect_timeout;
  out.total_timeout = config.request_timeout;
  return out;
}

}  // namespace bordergate::discovery
